"""A manifest's event pattern (EventBridge JSON) as CDK's EventPattern, keeping it byte for byte."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events

# EventBridge's top-level event fields and the EventPattern keyword each maps to.
EVENT_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def to_event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    unknown = sorted(set(pattern) - set(EVENT_FIELDS))
    if unknown:
        raise ValueError(f"unknown top-level event field(s) {', '.join(unknown)}; use one of {', '.join(EVENT_FIELDS)}")
    return events.EventPattern(**{EVENT_FIELDS[key]: value for key, value in pattern.items()})
