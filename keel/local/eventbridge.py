"""EventBridge as the local cloud delivers it: event files, rule matching, target input, retries, DLQ.

Which rules an event reaches:
- an event-pattern rule: when its pattern matches (moto's matcher, which follows AWS's semantics);
- a schedule rule: when the event is a "Scheduled Event" from aws.events whose `resources` names the
  rule's ARN, exactly what EventBridge sends when the schedule fires (events/<automation>/*.json hold
  such events, so a schedule is replayed like any other event).

Which bus: an event whose source starts with "aws." (AWS services and schedules) is on the default
bus; any other source is one of ours, on the environment's custom bus (keel-<env>).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keel.local.errors import InvalidEventError, LocalCloudError

ENVELOPE = {
    "version": str,
    "id": str,
    "detail-type": str,
    "source": str,
    "account": str,
    "time": str,
    "region": str,
    "resources": list,
    "detail": dict,
}
DEFAULT_BUS = "default"
# StartExecution errors EventBridge does not retry: the event goes to the DLQ at once.
NOT_RETRIED = frozenset(
    {
        "StateMachineDoesNotExist",
        "InvalidExecutionInput",
        "InvalidName",
        "InvalidArn",
        "AccessDeniedException",
        "ValidationException",
    }
)
_PATH_PART = re.compile(r"\.([A-Za-z0-9_\-$@]+)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]")


@dataclass(frozen=True)
class EventFile:
    path: Path
    event: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.event['detail-type']} from {self.event['source']} (id {self.event['id']})"


def load_event_file(path: Path) -> EventFile:
    """A file holding one EventBridge event with the full AWS envelope; InvalidEventError otherwise."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidEventError(f"{path}: cannot read the file: {error.strerror}") from error
    try:
        event = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidEventError(f"{path}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from error
    if not isinstance(event, dict):
        raise InvalidEventError(f"{path}: an EventBridge event is a JSON object, this file holds a {type(event).__name__}")
    problems = [f"'{key}' is missing" for key in ENVELOPE if key not in event]
    problems += [
        f"'{key}' must be a {_kind(kind)}" for key, kind in ENVELOPE.items() if key in event and not isinstance(event[key], kind)
    ]
    if not problems and parse_time(event["time"]) is None:
        problems.append(f"'time' must be an ISO 8601 timestamp like 2026-11-22T09:00:00Z, not {event['time']!r}")
    if problems:
        raise InvalidEventError(f"{path}: not an EventBridge event: {'; '.join(problems)}")
    return EventFile(path, event)


def _kind(kind: type) -> str:
    names: dict[type, str] = {str: "string", list: "list", dict: "JSON object"}
    return names[kind]


def parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def bus_for(event: dict[str, Any], custom_bus: str | None) -> str:
    if str(event.get("source", "")).startswith("aws.") or custom_bus is None:
        return DEFAULT_BUS
    return custom_bus


def normalized(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: ISO time, account present, moto's bookkeeping removed."""
    delivered = {key: value for key, value in event.items() if key != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = datetime.fromtimestamp(delivered["time"], tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def rule_receives(rule: dict[str, Any], event: dict[str, Any], pattern_matches: bool) -> bool:
    if not rule["enabled"]:
        return False
    if rule["schedule"] and not rule["has_pattern"]:
        return (
            event.get("source") == "aws.events"
            and event.get("detail-type") == "Scheduled Event"
            and rule["arn"] in event.get("resources", [])
        )
    return rule["has_pattern"] and pattern_matches


def json_path(document: Any, path: str) -> Any:
    """The value at a simple JSONPath ($, $.a.b, $.a[0], $['a b']); None when absent."""
    if not path.startswith("$"):
        raise LocalCloudError(f"unsupported JSONPath {path!r}: it must start with $")
    rest = path[1:]
    value = document
    while rest:
        match = _PATH_PART.match(rest)
        if match is None:
            raise LocalCloudError(f"unsupported JSONPath {path!r} (the local cloud handles $.a.b, [0] and ['a'])")
        rest = rest[match.end() :]
        name, index, quoted, double = match.groups()
        key: str | int = int(index) if index is not None else (name or quoted or double)
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and key < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def target_input(target: dict[str, Any], event: dict[str, Any], rule: dict[str, Any]) -> str:
    """The execution input EventBridge sends: Input, InputPath or InputTransformer, else the event."""
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return json.dumps(json_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        return _transform(transformer, event, rule)
    return json.dumps(event)


def _transform(transformer: dict[str, Any], event: dict[str, Any], rule: dict[str, Any]) -> str:
    values = {name: json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    values |= {
        "aws.events.rule-arn": rule["arn"],
        "aws.events.rule-name": rule["name"],
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event.get("time"),
    }
    text = str(transformer["InputTemplate"])
    for name, value in values.items():
        quoted = f'"<{name}>"'
        if isinstance(value, str):
            escaped = json.dumps(value)[1:-1]
            text = text.replace(quoted, f'"{escaped}"').replace(f"<{name}>", escaped)
        else:
            rendered = "null" if value is None else json.dumps(value)
            text = text.replace(quoted, rendered).replace(f"<{name}>", rendered)
    return text


def execution_name(event_id: str, sequence: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", event_id)[:70]
    return f"{safe}-{sequence}"
