"""Lambda entry point for emit_heartbeat: parse, call logic.beat, return its output."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from functions.emit_heartbeat import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.approvals import ApprovalStore
from functions.shared.handler import task_handler
from functions.shared.models import TaskInput
from functions.shared.observability import metrics
from functions.shared.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_idempotency_table: str
    keel_approvals_table: str


class HeartbeatInput(TaskInput):
    # The scheduled event's time: when EventBridge meant the heartbeat to fire.
    time: datetime


settings = settings_reader(Settings)


@cache
def probe_table() -> Table:
    return Table(settings().keel_idempotency_table)


@cache
def approvals() -> ApprovalStore:
    return ApprovalStore(Table(settings().keel_approvals_table))


def pending_expiries() -> list[datetime]:
    return [request.expires_at for request in approvals().pending()]


def emit_metric(name: str, unit: str, value: float) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


@task_handler(HeartbeatInput)
def lambda_handler(task: HeartbeatInput, _context: Any) -> dict[str, Any]:
    heartbeat = logic.beat(
        environment=settings().keel_environment,
        scheduled_at=task.time,
        now=datetime.now(UTC),
        execution=task.execution,
        store=probe_table(),
        pending=pending_expiries,
        emit=emit_metric,
    )
    return heartbeat.as_output()
