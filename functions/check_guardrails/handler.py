"""Lambda entry point for check_guardrails."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.check_guardrails import logic
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.limits import LimitStore
from functions.shared.domain.overrides import OverrideStore
from functions.shared.remediation.plan import PlanInput
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader


class GuardrailSettings(DecisionSettings):
    # Cooldown leases and action slots: the limits table (conditional writes, never read-then-write).
    keel_limits_table: str
    # Operators' `keel ops disable|enable`: read here, written only by operators.
    keel_overrides_table: str


settings = settings_reader(GuardrailSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        log=DecisionWriter(settings().keel_decision_writer),
        overrides=OverrideStore(Table(settings().keel_overrides_table)),
        limits=LimitStore(Table(settings().keel_limits_table)),
        clock=utc_now,
        code_version=settings().keel_code_version,
    )


@task_handler(PlanInput)
def lambda_handler(task: PlanInput, _context: Any) -> dict[str, Any]:
    return logic.check_and_record(task, dependencies()).as_output()
