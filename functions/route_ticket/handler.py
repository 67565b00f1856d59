"""Lambda entry point for route_ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from functions.route_ticket import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.sqs import QueueSender, queue_urls
from functions.shared.contract import Field
from functions.shared.decisions import DecisionLog
from functions.shared.handler import task_handler
from functions.shared.metric_sink import PowertoolsMetrics
from functions.shared.models import TaskInput
from functions.shared.settings import DecisionSettings, settings_reader


class Settings(DecisionSettings):
    keel_idempotency_table: str
    keel_queues: str


class RouteInput(TaskInput):
    step: str = Field(min_length=1)
    ticket: logic.Ticket
    triage: logic.TriageOutcome
    review: logic.Review | None = None


settings = settings_reader(Settings)


@cache
def sender(automation: str) -> QueueSender:
    return QueueSender(queue_urls(settings().keel_queues, automation))


@task_handler(RouteInput)
def lambda_handler(task: RouteInput, _context: Any) -> dict[str, Any]:
    return logic.route(
        keel=task.keel,
        event_id=task.event_id,
        execution=task.execution,
        step=task.step,
        ticket=task.ticket,
        triage=task.triage,
        review=task.review,
        code_version=settings().keel_code_version,
        now=datetime.now(UTC),
        queues=sender(task.keel.automation),
        markers=Table(settings().keel_idempotency_table),
        log=DecisionLog(Table(settings().keel_decisions_table)),
        metrics=PowertoolsMetrics(),
    )
