"""Lambda entry point for retrain_advisor."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from functions.retrain_advisor import logic
from functions.retrain_advisor.config import load_config
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.model_store import ModelStore
from functions.shared.domain.decisions import DecisionLog
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.errors import ConfigurationError
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader
from functions.shared.ticket_model.evidence import EvidenceStore

# The models shipped with triage_ticket (a link to its models/ folder: the package copies the files), so
# the live model can be judged on the same held-out tickets as the candidate.
PACKAGED = Path(__file__).resolve().parent / "live_models"


class Settings(DecisionSettings):
    keel_decisions_table: str
    keel_confidential_table: str
    keel_models_table: str
    # The automations this module may retrain (function.yaml `retrains`): its role reaches no other's.
    keel_retrains: str


settings = settings_reader(Settings)


def packaged_model(model_version: str) -> dict[str, Any] | None:
    path = PACKAGED / f"{model_version}.json"
    if not path.is_file():
        return None
    model: dict[str, Any] = json.loads(path.read_text())
    return model


@cache
def dependencies() -> logic.Dependencies:
    config = load_config()
    if config.automation not in settings().keel_retrains.split(","):
        raise ConfigurationError(f"retraining.json retrains {config.automation}, which KEEL_RETRAINS does not allow")
    decisions = DecisionLog(Table(settings().keel_decisions_table))
    return logic.Dependencies(
        config=config,
        chain=lambda automation: decisions.chain_items(automation, newest_first=True, page_size=100),
        evidence=EvidenceStore(Table(settings().keel_confidential_table)),
        models=ModelStore(Table(settings().keel_models_table), settings().keel_models_table),
        packaged=packaged_model,
        log=DecisionWriter(settings().keel_decision_writer),
        clock=utc_now,
        code_version=settings().keel_code_version,
    )


@task_handler(logic.RetrainInput)
def lambda_handler(task: logic.RetrainInput, _context: Any) -> dict[str, Any]:
    return logic.retrain(task, dependencies())
