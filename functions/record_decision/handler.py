"""Lambda entry point for record_decision: a workflow's task, or decisions handed over by another module."""

from __future__ import annotations

import dataclasses
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


def for_invocation(context: Any) -> logic.Dependencies:
    """The writer's dependencies with an append that keeps trying for as long as this invocation has
    time left (a busy chain is not a stuck one), rather than for a fixed number of attempts."""
    deps = dependencies()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not isinstance(deps.log, DecisionLog) or remaining is None:
        return deps
    return dataclasses.replace(deps, log=deps.log.within(lambda: remaining() / 1000))


@task_handler(logic.RecordInput)
def record_step(task: logic.RecordInput, context: Any) -> dict[str, Any]:
    record = logic.record_decision(task, for_invocation(context))
    return {"seq": record.seq, "hash": record.hash, "outcome": record.decision.outcome, "reason": record.decision.reason}


@task_handler(logic.HandedDecision)
def record_handed(task: logic.HandedDecision, context: Any) -> dict[str, Any]:
    return {"records": [record.model_dump(mode="json") for record in logic.record_handed(task, for_invocation(context))]}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Handed decisions arrive as {"handed": [{...}, ...]}; anything else is a workflow's task."""
    handle = record_handed if isinstance(event, dict) and HANDED in event else record_step
    return handle(event, context)


# What introspection of the entry point finds: the workflows' input model (RecordInput).
lambda_handler.__wrapped__ = record_step  # type: ignore[attr-defined]
