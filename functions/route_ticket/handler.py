"""Lambda entry point for route_ticket."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.route_ticket import logic
from functions.shared.adapters.confidential_store import ConfidentialStore
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.sqs import QueueSender, queue_urls
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.metric_sink import PowertoolsMetrics
from functions.shared.runtime.settings import DecisionSettings, settings_reader


class Settings(DecisionSettings):
    keel_idempotency_table: str
    keel_confidential_table: str
    keel_queues: str


settings = settings_reader(Settings)


@cache
def dependencies(automation: str) -> logic.Dependencies:
    """Per automation: a function used by several automations sends to each one's own queues."""
    return logic.Dependencies(
        queues=QueueSender(queue_urls(settings().keel_queues, automation)),
        markers=Table(settings().keel_idempotency_table),
        log=DecisionWriter(settings().keel_decision_writer),
        texts=ConfidentialStore(Table(settings().keel_confidential_table)),
        metrics=PowertoolsMetrics(),
        clock=utc_now,
        code_version=settings().keel_code_version,
    )


@task_handler(logic.RouteInput)
def lambda_handler(task: logic.RouteInput, _context: Any) -> dict[str, Any]:
    return logic.route(task, dependencies(task.keel.automation))
