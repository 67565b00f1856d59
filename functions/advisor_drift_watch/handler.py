"""Lambda entry point for advisor_drift_watch."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.advisor_drift_watch import logic
from functions.advisor_drift_watch.config import load_config
from functions.advisor_drift_watch.feed import DecisionFeed
from functions.advisor_drift_watch.state import StateStore
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.dynamodb import Table
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.metric_sink import PowertoolsMetrics
from functions.shared.runtime.settings import DecisionSettings, settings_reader


class Settings(DecisionSettings):
    keel_decisions_table: str
    keel_limits_table: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        config=load_config(),
        feed=DecisionFeed(Table(settings().keel_decisions_table)),
        store=StateStore(Table(settings().keel_limits_table)),
        log=DecisionWriter(settings().keel_decision_writer),
        metrics=PowertoolsMetrics(),
        clock=utc_now,
        code_version=settings().keel_code_version,
    )


@task_handler(logic.WatchInput)
def lambda_handler(task: logic.WatchInput, _context: Any) -> dict[str, Any]:
    return logic.watch(task, dependencies())
