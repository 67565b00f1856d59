"""Lambda entry point for triage_ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.contract import Field
from functions.shared.decisions import DecisionLog
from functions.shared.handler import task_handler
from functions.shared.metric_sink import PowertoolsMetrics
from functions.shared.models import TaskInput
from functions.shared.settings import DecisionSettings, settings_reader
from functions.triage_ticket import logic
from functions.triage_ticket.advisors import Advisor, build_advisor
from functions.triage_ticket.contract import TicketCreated
from functions.triage_ticket.evidence import EvidenceStore
from functions.triage_ticket.policy import Policy, load_policy


class Settings(DecisionSettings):
    keel_idempotency_table: str


class TriageInput(TaskInput):
    step: str = Field(min_length=1)
    # The event's detail: a malformed ticket fails here, naming each field that breaks the contract.
    ticket: TicketCreated


settings = settings_reader(Settings)


@cache
def policy() -> Policy:
    return load_policy()


@cache
def advisors() -> tuple[Advisor, Advisor | None]:
    current = policy()
    shadow = current.advisors.shadow
    return build_advisor(current.advisors.live, current), build_advisor(shadow, current) if shadow else None


@task_handler(TriageInput)
def lambda_handler(task: TriageInput, _context: Any) -> dict[str, Any]:
    live, shadow = advisors()
    return logic.triage(
        keel=task.keel,
        event_id=task.event_id,
        execution=task.execution,
        step=task.step,
        ticket=task.ticket,
        policy=policy(),
        live=live,
        shadow=shadow,
        code_version=settings().keel_code_version,
        now=datetime.now(UTC),
        log=DecisionLog(Table(settings().keel_decisions_table)),
        evidence=EvidenceStore(Table(settings().keel_idempotency_table)),
        metrics=PowertoolsMetrics(),
    )
