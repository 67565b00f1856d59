"""Lambda entry point for record_decision: a workflow's task, or a decision handed over by another module."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.record_decision import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.executions import ExecutionVersions
from functions.shared.domain.decisions import HANDED, DecisionLog
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import WriterSettings, settings_reader

settings = settings_reader(WriterSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        log=DecisionLog(Table(settings().keel_decisions_table)),
        code_version=settings().keel_code_version,
        automation=settings().keel_automation,
        versions=ExecutionVersions(),
    )


@task_handler(logic.RecordInput)
def record_step(task: logic.RecordInput, _context: Any) -> dict[str, Any]:
    record = logic.record_decision(task, dependencies())
    return {"seq": record.seq, "hash": record.hash, "outcome": record.decision.outcome, "reason": record.decision.reason}


@task_handler(logic.HandedDecision)
def record_handed(task: logic.HandedDecision, _context: Any) -> dict[str, Any]:
    return {"record": logic.record_handed(task, dependencies()).model_dump(mode="json")}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """A handed decision arrives as {"handed": {...}}; anything else is a workflow's task."""
    handle = record_handed if isinstance(event, dict) and HANDED in event else record_step
    return handle(event, context)


# What introspection of the entry point finds: the workflows' input model (RecordInput).
lambda_handler.__wrapped__ = record_step  # type: ignore[attr-defined]
