"""Lambda entry point for check_guardrails."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.check_guardrails import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import DecisionLog
from functions.shared.domain.limits import LimitStore
from functions.shared.domain.overrides import OverrideStore
from functions.shared.remediation.plan import PlanInput
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader


class GuardrailSettings(DecisionSettings):
    # Cooldown leases and action slots: the limits table (conditional writes, never read-then-write).
    keel_limits_table: str


settings = settings_reader(GuardrailSettings)


@cache
def dependencies() -> logic.Dependencies:
    # Overrides live in the decisions table, beside the records they govern.
    table = Table(settings().keel_decisions_table)
    return logic.Dependencies(
        log=DecisionLog(table),
        overrides=OverrideStore(table),
        limits=LimitStore(Table(settings().keel_limits_table)),
        clock=utc_now,
        code_version=settings().keel_code_version,
    )


@task_handler(PlanInput)
def lambda_handler(task: PlanInput, _context: Any) -> dict[str, Any]:
    return logic.check_and_record(task, dependencies()).as_output()
