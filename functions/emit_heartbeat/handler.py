"""Lambda entry point for emit_heartbeat: parse, call logic.beat, return its output."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from functions.emit_heartbeat import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.approvals import ApprovalStore
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.metric_sink import PowertoolsMetrics
from functions.shared.runtime.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_idempotency_table: str
    keel_approvals_table: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    approvals = ApprovalStore(Table(settings().keel_approvals_table))

    def pending_expiries() -> list[datetime]:
        return [request.expires_at for request in approvals.pending()]

    return logic.Dependencies(
        store=Table(settings().keel_idempotency_table),
        pending=pending_expiries,
        metrics=PowertoolsMetrics(),
        clock=utc_now,
        environment=settings().keel_environment,
    )


@task_handler(logic.HeartbeatInput)
def lambda_handler(task: logic.HeartbeatInput, _context: Any) -> dict[str, Any]:
    return logic.beat(task, dependencies()).as_output()
