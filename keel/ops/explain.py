"""`keel ops explain`: the decision records of an execution or event, told in words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from functions.shared.domain.decisions import DecisionRecord
from keel.ops.session import OpsError, OpsSession, aws_call


def find_records(session: OpsSession, subject: str) -> list[DecisionRecord]:
    """An execution ARN or an event id."""
    with aws_call(f"read the decisions of {subject}"):
        records = session.decisions.for_execution(subject) if subject.startswith("arn:") else session.decisions.for_event(subject)
    if not records:
        kind = "execution" if subject.startswith("arn:") else "event"
        raise OpsError(f"no decisions recorded for {kind} {subject} in environment '{session.environment}'")
    return records


def explain(records: list[DecisionRecord]) -> str:
    first = records[0].decision
    lines = [
        f"{first.automation} {first.automation_version} in {first.environment}",
        f"  event      {first.event_id}",
        f"  execution  {first.execution_arn}",
    ]
    if first.trigger:
        lines.append(f"  trigger    {first.trigger}")
    for record in records:
        lines += ["", *_explain_one(record)]
    return "\n".join(lines)


def _explain_one(record: DecisionRecord) -> list[str]:
    decision = record.decision
    mode = " (dry run: nothing was changed)" if decision.dry_run else ""
    target = f" on {decision.resource}" if decision.resource else ""
    lines = [f"#{record.seq} at {record.recorded_at}, step {decision.step}: {decision.outcome} {decision.action}{target}{mode}"]
    lines.append(f"  why        {decision.reason}")
    if decision.advice:
        advice = decision.advice
        rationale = f": {advice.rationale}" if advice.rationale else ""
        lines.append(
            f"  advised    {advice.label} at confidence {advice.confidence:.2f} by model {advice.model_version}{rationale}"
        )
    if decision.rule:
        lines.append(f"  rule       {decision.rule}")
    if decision.approved_by or decision.approval_id:
        lines.append(f"  approval   {decision.approval_id or '-'} answered by {decision.approved_by or '-'}")
    versions = dict(decision.versions)
    if decision.code_version:
        versions["code"] = decision.code_version[:19]
    if decision.definition_hash:
        versions["workflow"] = decision.definition_hash[:19]
    if versions:
        lines.append("  versions   " + ", ".join(f"{name} {value}" for name, value in sorted(versions.items())))
    lines += _details(decision.details)
    lines.append(f"  input      {decision.input_digest}")
    lines.append(f"  record     hash {record.hash[:16]}… (previous {record.prev_hash[:16]}…)")
    return lines


def _details(details: dict[str, Any]) -> list[str]:
    """A record's details one per line, nested ones as dotted keys, values as JSON spells them (no Python reprs)."""
    if not details:
        return []
    flat = dict(_flattened(details))
    width = max((len(key) for key in flat), default=0)
    return [
        f"  {'details' if index == 0 else '':<10} {key.ljust(width)}  {value}" for index, (key, value) in enumerate(flat.items())
    ]


def _flattened(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flattened(value[key], f"{prefix}.{key}" if prefix else str(key))
        if not value:
            yield prefix, "(none)"
    elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        for index, item in enumerate(value):
            yield from _flattened(item, f"{prefix}.{index}")
    elif isinstance(value, list):
        yield prefix, ", ".join(_scalar(item) for item in value) or "(none)"
    else:
        yield prefix, _scalar(value)


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def as_json(records: list[DecisionRecord]) -> list[dict[str, Any]]:
    return [record.model_dump(mode="json") for record in records]
