"""retrain_advisor's logic with in-memory tables: labels from reviewed decisions, the comparison with the
live model, the stored version, the shadow pointer, and a decision record for each step."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.retrain_advisor import logic
from functions.retrain_advisor.config import load_config
from functions.retrain_advisor.handler import packaged_model
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.model_store import ModelStore
from functions.shared.runtime.errors import InvalidInputError
from functions.shared.ticket_model.evidence import EvidenceStore
from functions.triage_ticket.advisors import StoredShadow
from tests.support.drifted_tickets import drift_detail, drifted_tickets, reviewed
from tests.support.fake_dependencies import CODE_VERSION, NOW, clock, decisions
from tests.support.fake_dynamodb import FakeDynamoDB
from tests.support.keel_context import keel_fields

KEEL = keel_fields(automation="advisor_retraining", owner="support-team", data_classification="confidential")
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-advisor_retraining:run-1"


def world(count: int) -> tuple[logic.Dependencies, ModelStore]:
    dynamodb = FakeDynamoDB()
    log = decisions(dynamodb)
    evidence = EvidenceStore(Table("keel-dev-confidential", dynamodb))
    reviewed(log, evidence, drifted_tickets(count), NOW)
    store = ModelStore(Table("keel-dev-models", dynamodb), "keel-dev-models")
    deps = logic.Dependencies(
        config=load_config(),
        chain=lambda automation: log.chain_items(automation, newest_first=True),
        evidence=evidence,
        models=store,
        packaged=packaged_model,
        log=log,
        clock=clock,
        code_version=CODE_VERSION,
    )
    return deps, store


def task(execution: str = EXECUTION, **detail: Any) -> logic.RetrainInput:
    return logic.RetrainInput.model_validate(
        {"event_id": "drift-event-1", "execution": execution, "keel": KEEL, "step": "Retrain", "drift": drift_detail(**detail)}
    )


def retraining_records(deps: logic.Dependencies) -> list[Any]:
    return [json.loads(item["body"]) for item in deps.chain("advisor_retraining")]


def test_a_candidate_better_than_the_live_model_is_stored_with_its_evaluation_and_put_in_shadow() -> None:
    # Given 24 reviewed tickets about a product the live model never saw
    deps, store = world(24)

    # When retraining runs for the drift
    result = logic.retrain(task(), deps)

    # Then the candidate beats the live model on the held-out tickets, is stored, and the shadow points to it
    assert result["result"] == "in_shadow"
    figures = result["evaluation"]
    assert figures["candidate"]["accuracy"] > figures["live"]["accuracy"]
    assert figures["candidate"]["test_size"] == figures["live"]["test_size"] == 6
    candidate = result["candidate"]
    assert candidate.startswith("ticket-nb-retrained-20261122.")
    assert store.pointer("ticket_triage", "shadow")["model_version"] == candidate
    stored = store.model("ticket_triage", candidate)
    assert stored is not None
    assert stored["data"]["kind"] == "reviewed"
    assert store.record("ticket_triage", candidate)["evaluation"]["candidate_better"] is True
    # And each step is a decision: trained (on what, figures, where stored), then put in shadow
    trained, shadowed = reversed(retraining_records(deps))
    assert (trained["action"], trained["outcome"]) == ("train_candidate", "taken")
    assert trained["details"]["labels"]["labels_used"] == 24
    assert trained["details"]["stored_at"] == f"dynamodb://keel-dev-models/model#ticket_triage#{candidate}"
    assert trained["versions"] == {"candidate": candidate, "live": "ticket-nb-1.0.0"}
    assert (shadowed["action"], shadowed["outcome"], shadowed["rule"]) == ("shadow_candidate", "taken", "candidate-better")
    assert shadowed["details"]["promote"] == (
        f"keel ops promote-model ticket_triage {candidate} --env dev --region eu-west-1 "
        '--reason "better on the held-out reviewed tickets"'
    )


def test_the_shadow_advisor_then_advises_from_the_candidate() -> None:
    # Given a candidate put in shadow
    deps, store = world(24)
    candidate = logic.retrain(task(), deps)["candidate"]

    # When triage's shadow advisor advises on a ticket of the new product
    from functions.shared.contracts.ticket_created import TicketCreated

    ticket = TicketCreated.model_validate(
        {
            "ticket_id": "TCK-10001",
            "subject": "hoverpod wobbles",
            "body": "the gyrolock thrusters need to recalibrate",
            "customer": {"id": "c", "tier": "standard"},
            "channel": "web",
            "created_at": "2026-11-22T08:00:00Z",
        }
    )
    advice = StoredShadow(store, "ticket_triage", clock, fallback=None).advise(ticket)

    # Then the advice is the candidate's, and right
    assert advice is not None
    assert (advice.model_version, advice.label) == (candidate, "technical")


def test_too_few_reviewed_labels_are_recorded_and_nothing_is_trained_or_shadowed() -> None:
    # Given fewer reviewed tickets than the configuration needs
    deps, store = world(load_config().min_reviewed_labels - 1)

    # When retraining runs
    result = logic.retrain(task(), deps)

    # Then it says so, stores nothing, leaves the shadow alone, and records why
    assert result["result"] == "too_few_labels"
    assert store.pointer("ticket_triage", "shadow") is None
    [record] = retraining_records(deps)
    assert (record["outcome"], record["rule"]) == ("skipped", "too-few-labels")
    assert "too few reviewed labels" in record["reason"]


def test_a_candidate_no_better_than_live_is_stored_but_not_put_in_shadow() -> None:
    # Given a live model that is the candidate itself (trained the same way on the same labels)
    deps, store = world(24)
    first = logic.retrain(task(), deps)
    store.point("ticket_triage", "shadow", "someone-else", {})
    again = replace(deps, clock=lambda: NOW)

    # When the same labels retrain against it as the live model
    result = logic.retrain(task(f"{EXECUTION}-2", model_version=first["candidate"], drift_id="drift-0002"), again)

    # Then the candidate is not better: recorded as refused, the shadow pointer stays where it was
    assert result["result"] == "not_better"
    assert store.pointer("ticket_triage", "shadow")["model_version"] == "someone-else"
    shadowed = retraining_records(deps)[0]
    assert (shadowed["outcome"], shadowed["rule"]) == ("refused", "candidate-not-better")


def test_expired_ticket_text_is_left_out_and_counted() -> None:
    # Given 24 reviewed tickets whose text was kept 30 days, and a label window of 90 days
    deps, store = world(24)
    later = replace(deps, clock=lambda: NOW + timedelta(days=31), config=deps.config.model_copy(update={"label_window_days": 90}))

    # When retraining runs 31 days later
    result = logic.retrain(task(), later)

    # Then every label is left out (its text is past retention), counted, and nothing is trained
    assert result["result"] == "too_few_labels"
    assert result["labels"]["reviewed_decisions"] == 24
    assert result["labels"]["left_out_text_expired"] == 24
    assert store.pointer("ticket_triage", "shadow") is None


def test_a_drift_of_another_automation_is_refused_naming_the_field() -> None:
    deps, _ = world(0)
    with pytest.raises(InvalidInputError, match=r"drift\.automation: 'alarm_remediation'"):
        logic.retrain(task(automation="alarm_remediation"), deps)


def test_a_live_model_that_is_neither_stored_nor_shipped_is_refused() -> None:
    deps, _ = world(24)
    with pytest.raises(InvalidInputError, match=r"drift\.model_version: 'ticket-nb-0\.0\.1'"):
        logic.retrain(task(model_version="ticket-nb-0.0.1"), deps)


def test_the_live_models_link_reaches_the_shipped_models() -> None:
    # Given the module's link to triage_ticket's models / Then the policy's live model is found through it
    shipped = Path(__file__).resolve().parents[2] / "functions" / "triage_ticket" / "models" / "ticket-nb-1.0.0.json"
    assert packaged_model("ticket-nb-1.0.0") == json.loads(shipped.read_text())
