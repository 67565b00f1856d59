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


def from_validation_error(path: Path | str, error: ValidationError) -> KeelConfigError:
    """The first problem pydantic found, as a KeelConfigError naming its field."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(document)"
    message = first["msg"]
    if first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    return KeelConfigError(path, field, message)
