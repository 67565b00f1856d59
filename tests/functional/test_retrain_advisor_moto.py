"""retrain_advisor's handler with its adapters against moto: the template's own tables, reviewed decisions
and evidence as triage and routing leave them, the candidate and its pointer in the model store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters import aws
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import DecisionLog
from functions.shared.runtime.errors import ConfigurationError, InvalidInputError
from functions.shared.ticket_model.evidence import EvidenceStore
from tests.support.drifted_tickets import drift_detail, drifted_tickets, reviewed
from tests.support.keel_context import keel_fields
from tests.support.platform_tables import create_tables_from_template

KEEL = keel_fields(automation="advisor_retraining", owner="support-team", data_classification="confidential")
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-advisor_retraining:run-1"


@dataclass
class Context:
    function_name: str = "keel-dev-advisor_retraining-retrain_advisor"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:111111111111:function:keel-dev-advisor_retraining-retrain_advisor"
    aws_request_id: str = "req-1"


@pytest.fixture
def platform(synthesized: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        aws.client.cache_clear()
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_tables_from_template(dynamodb, synthesized.template("dev"))
        for name, value in {
            "KEEL_ENVIRONMENT": "dev",
            "KEEL_DECISIONS_TABLE": "keel-dev-decisions",
            "KEEL_CONFIDENTIAL_TABLE": "keel-dev-confidential",
            "KEEL_MODELS_TABLE": "keel-dev-models",
            "KEEL_RETRAINS": "ticket_triage",
            "KEEL_DECISION_WRITER": "keel-dev-advisor_retraining-record_decision",
            "KEEL_CODE_VERSION": "sha256:code",
            "POWERTOOLS_SERVICE_NAME": "retrain_advisor",
            "POWERTOOLS_METRICS_NAMESPACE": "Keel",
        }.items():
            monkeypatch.setenv(name, value)
        from functions.retrain_advisor import handler

        # A test swaps the dependencies for ones with a direct decision writer: the cached factory is cleared here.
        settings, dependencies = handler.settings, handler.dependencies
        settings.cache_clear()
        dependencies.cache_clear()
        yield handler
        settings.cache_clear()
        dependencies.cache_clear()
        aws.client.cache_clear()


def with_direct_writer(handler: Any, monkeypatch: pytest.MonkeyPatch) -> DecisionLog:
    """The handler's own dependencies, its decisions appended straight to the table (moto runs no Lambda)."""
    log = DecisionLog(Table("keel-dev-decisions"))
    deps = replace(handler.dependencies(), log=log)
    monkeypatch.setattr(handler, "dependencies", lambda: deps)
    return log


def event(**detail: Any) -> dict[str, Any]:
    return {"event_id": "drift-1", "execution": EXECUTION, "keel": KEEL, "step": "Retrain", "drift": drift_detail(**detail)}


def test_the_handler_trains_from_reviewed_decisions_and_stores_the_candidate_in_shadow(platform, monkeypatch) -> None:
    # Given reviewed ticket_triage decisions and their evidence in the platform's tables
    log = with_direct_writer(platform, monkeypatch)
    now = datetime.now(UTC)
    reviewed(log, EvidenceStore(Table("keel-dev-confidential")), drifted_tickets(24), now)

    # When the handler runs for a drift of ticket_triage
    result = platform.lambda_handler(event(), Context())

    # Then the candidate is in the model store with its evaluation, and the shadow pointer names it
    assert result["result"] == "in_shadow"
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    key = f"model#ticket_triage#{result['candidate']}"
    item = dynamodb.get_item(TableName="keel-dev-models", Key={"id": {"S": key}})["Item"]
    assert json.loads(item["model"]["S"])["name"] == "ticket-nb-retrained"
    assert item["evaluation"]["M"]["candidate_better"]["BOOL"] is True
    pointer = dynamodb.get_item(TableName="keel-dev-models", Key={"id": {"S": "pointer#ticket_triage#shadow"}})["Item"]
    assert pointer["model_version"]["S"] == result["candidate"]
    assert result["stored_at"] == f"dynamodb://keel-dev-models/{key}"
    # And the two steps are in advisor_retraining's chain
    actions = [record.decision.action for record in log.chain("advisor_retraining")]
    assert actions == ["train_candidate", "shadow_candidate"]


def test_a_retried_run_writes_the_same_version_again_without_conflict(platform, monkeypatch) -> None:
    # Given a run that stored its candidate
    log = with_direct_writer(platform, monkeypatch)
    reviewed(log, EvidenceStore(Table("keel-dev-confidential")), drifted_tickets(24), datetime.now(UTC))
    first = platform.lambda_handler(event(), Context())

    # When the same task runs again (a timed-out invocation retried)
    again = platform.lambda_handler(event(), Context())

    # Then the same version is stored once, and the decisions are not recorded twice
    assert again["candidate"] == first["candidate"]
    assert len(list(log.chain("advisor_retraining"))) == 2


def test_a_drift_event_with_an_unknown_signal_is_refused_naming_the_field(platform, monkeypatch) -> None:
    with_direct_writer(platform, monkeypatch)
    with pytest.raises(InvalidInputError, match=r"drift\.signal"):
        platform.lambda_handler(event(signal="latency"), Context())


def test_a_module_not_allowed_to_retrain_the_automation_fails_at_cold_start(platform, monkeypatch) -> None:
    # Given a role that may retrain another automation only
    monkeypatch.setenv("KEEL_RETRAINS", "alarm_remediation")

    # When the handler starts / Then it says which variable does not allow it
    with pytest.raises(ConfigurationError, match="KEEL_RETRAINS"):
        platform.lambda_handler(event(), Context())
