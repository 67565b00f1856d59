"""Lambda entry point for record_decision."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.record_decision import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import DecisionLog
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader

settings = settings_reader(DecisionSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(log=DecisionLog(Table(settings().keel_decisions_table)), code_version=settings().keel_code_version)


@task_handler(logic.RecordInput)
def lambda_handler(task: logic.RecordInput, _context: Any) -> dict[str, Any]:
    record = logic.record_decision(task, dependencies())
    return {"seq": record.seq, "hash": record.hash, "outcome": record.decision.outcome, "reason": record.decision.reason}
