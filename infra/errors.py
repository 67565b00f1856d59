"""Errors raised while loading the environment table and the automation catalog.

Each names the file and the field so `make synth` can fail with one actionable line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class KeelConfigError(Exception):
    """A configuration file (manifest, environment table, function spec, ASL) is invalid."""

    def __init__(self, path: Path | str, field: str, message: str) -> None:
        self.path = str(path)
        self.field = field
        self.message = message
        super().__init__(f"{self.path}: {field}: {message}")


class NestedFieldError(ValueError):
    """Raised by a validator for a problem below the field it validates (a value deep inside an event
    pattern, say): `field` is the path under that field, so the line names the exact place."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


def from_validation_error(path: Path | str, error: ValidationError) -> KeelConfigError:
    """The first problem pydantic found, as a KeelConfigError naming its field."""
    first = error.errors()[0]
    parts = [str(part) for part in first["loc"]]
    nested = first.get("ctx", {}).get("error")
    if isinstance(nested, NestedFieldError):
        return KeelConfigError(path, ".".join([*parts, nested.field] if nested.field else parts), nested.message)
    field = ".".join(parts) or "(document)"
    message = first["msg"]
    if first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    elif first["type"] == "value_error" and nested is not None:
        # A validator's own words, without pydantic's "Value error, " in front.
        message = str(nested)
    return KeelConfigError(path, field, message)
