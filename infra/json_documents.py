"""Reading the JSON documents synth depends on (ASL files, the contracts lock), with the one-line
errors every config file gets: the file, the field, and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.errors import KeelConfigError


def read_json_document(path: Path, what: str, *, shown_as: Path | str | None = None, read_field: str = "(document)") -> Any:
    """The parsed document at path. `what` names it in the error when it cannot be read ("the ASL
    file"); `shown_as` is the path the error shows (a repository-relative one), `read_field` the field
    the error names when the file cannot be read (the manifest field that points at it, say)."""
    shown = path if shown_as is None else shown_as
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise KeelConfigError(shown, read_field, f"cannot read {what}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise KeelConfigError(shown, "(document)", f"not valid JSON: {error.msg} at line {error.lineno}") from error
