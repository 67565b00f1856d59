"""Lambda entry point for check_guardrails."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from functions.check_guardrails import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.decisions import DecisionLog
from functions.shared.handler import task_handler
from functions.shared.overrides import OverrideStore
from functions.shared.remediation import PlanInput
from functions.shared.settings import DecisionSettings, settings_reader

settings = settings_reader(DecisionSettings)


@cache
def table() -> Table:
    return Table(settings().keel_decisions_table)


@task_handler(PlanInput)
def lambda_handler(task: PlanInput, _context: Any) -> dict[str, Any]:
    result = logic.check_and_record(
        keel=task.keel,
        event_id=task.event_id,
        execution=task.execution,
        step=task.step,
        plan=task.plan,
        log=DecisionLog(table()),
        overrides=OverrideStore(table()),
        now=datetime.now(UTC),
        code_version=settings().keel_code_version,
    )
    return result.as_output()
