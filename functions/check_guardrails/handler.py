"""Lambda entry point for check_guardrails."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.check_guardrails import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import DecisionLog
from functions.shared.domain.overrides import OverrideStore
from functions.shared.remediation.plan import PlanInput
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader

settings = settings_reader(DecisionSettings)


@cache
def dependencies() -> logic.Dependencies:
    # Overrides live in the decisions table, beside the records they govern.
    table = Table(settings().keel_decisions_table)
    return logic.Dependencies(
        log=DecisionLog(table), overrides=OverrideStore(table), clock=utc_now, code_version=settings().keel_code_version
    )


@task_handler(PlanInput)
def lambda_handler(task: PlanInput, _context: Any) -> dict[str, Any]:
    return logic.check_and_record(task, dependencies()).as_output()
