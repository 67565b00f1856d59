"""Lambda entry point for write_reviews: list the teams to review, or write one team's monthly review."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.kpi_sources import KpiSources, Owned, collect
from functions.shared.adapters.notify import Notifier
from functions.shared.domain.approvals import ApprovalStore
from functions.shared.domain.decisions import DecisionLog
from functions.shared.domain.kpis import AutomationKpis, Period
from functions.shared.domain.overrides import OverrideStore
from functions.shared.domain.prices import load_prices
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader
from functions.write_reviews import logic

# The published prices the KPIs' cost per run is estimated with (a link to bench/prices.json, packaged with the module).
PRICES = Path(__file__).with_name("prices.json")


class Settings(DecisionSettings):
    keel_decisions_table: str
    keel_approvals_table: str
    keel_overrides_table: str
    keel_oncall_topics: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    read = settings()
    sources = KpiSources(
        DecisionLog(Table(read.keel_decisions_table)),
        ApprovalStore(Table(read.keel_approvals_table)),
        OverrideStore(Table(read.keel_overrides_table)),
    )
    prices = load_prices(PRICES)

    def kpis(owned: Sequence[Owned], period: Period) -> list[AutomationKpis]:
        return collect(sources, owned, period, prices)

    return logic.Dependencies(
        reads=sources,
        kpis=kpis,
        log=DecisionWriter(read.keel_decision_writer),
        notifier=Notifier(read.keel_oncall_topics),
        clock=utc_now,
        environment=read.keel_environment,
        code_version=read.keel_code_version,
    )


@task_handler(logic.ReviewInput)
def lambda_handler(task: logic.ReviewInput, _context: Any) -> dict[str, Any]:
    return logic.run(task, dependencies())
