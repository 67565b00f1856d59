"""Lambda entry point for triage_ticket."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.shared.adapters.confidential_store import ConfidentialStore
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.model_store import ModelStore
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.metric_sink import PowertoolsMetrics
from functions.shared.runtime.settings import DecisionSettings, settings_reader
from functions.triage_ticket import logic
from functions.triage_ticket.advisors import StoredLive, StoredShadow, build_advisor
from functions.triage_ticket.evidence import EvidenceStore
from functions.triage_ticket.policy import load_policy


class Settings(DecisionSettings):
    keel_confidential_table: str
    keel_models_table: str
    # The automation this instance of the module advises for: its pointers in the model store.
    keel_automation: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    policy = load_policy()
    shadow = policy.advisors.shadow
    # A model a person promoted, or a retrained candidate, named in the model store; else the policy's.
    models = ModelStore(Table(settings().keel_models_table), settings().keel_models_table)
    automation = settings().keel_automation
    return logic.Dependencies(
        policy=policy,
        live=StoredLive(models, automation, utc_now, build_advisor(policy.advisors.live, policy)),
        shadow=StoredShadow(models, automation, utc_now, build_advisor(shadow, policy) if shadow else None),
        log=DecisionWriter(settings().keel_decision_writer),
        evidence=EvidenceStore(Table(settings().keel_confidential_table)),
        texts=ConfidentialStore(Table(settings().keel_confidential_table)),
        metrics=PowertoolsMetrics(),
        clock=utc_now,
        code_version=settings().keel_code_version,
    )


@task_handler(logic.TriageInput)
def lambda_handler(task: logic.TriageInput, _context: Any) -> dict[str, Any]:
    return logic.triage(task, dependencies())
