"""What an operator may see of a confidential automation's execution: never the customer text.

A confidential automation's workflow carries references after `KeelSealConfidential`
(infra/confidential_states.py); before it, the execution's input, the claim and the seal itself
hold the event as EventBridge delivered it. `redacted` shows every value at the sealed fields of an
event's `detail`, wherever it sits in a state's input or output, as
`[confidential: 812 chars, sha256 ab12...]`: the text's length and digest, the same the references
carry, so a person can match them without reading the text.
"""

from __future__ import annotations

from typing import Any

from functions.shared.domain import confidential

SEAL_STATE = "KeelSealConfidential"


def sealed_fields(definition: dict[str, Any]) -> list[str]:
    """The fields a deployed definition seals: its seal state's `fields`, none without one."""
    state = definition.get("States", {}).get(SEAL_STATE, {})
    fields = state.get("Parameters", {}).get("Payload", {}).get("fields", [])
    return [str(field) for field in fields] if isinstance(fields, list) else []


def redacted(value: Any, fields: list[str]) -> Any:
    """The value with the sealed fields of every event detail in it shown as labels."""
    if not fields:
        return value
    if isinstance(value, list):
        return [redacted(item, fields) for item in value]
    if not isinstance(value, dict):
        return value
    shown = {key: redacted(item, fields) for key, item in value.items()}
    detail = shown.get("detail")
    if isinstance(detail, dict):
        for path in fields:
            found, text = confidential.read_field(detail, path)
            if found:
                detail = confidential.write_field(detail, path, _label(text))
        shown["detail"] = detail
    return shown


def _label(value: Any) -> str:
    if isinstance(value, str):
        return confidential.label(value)
    if confidential.is_reference(value):
        length, sha256 = value.get("length"), value.get("sha256")
        if isinstance(length, int) and isinstance(sha256, str):
            return confidential.label_of(length, sha256)
    return f"[confidential: {type(value).__name__}]"
