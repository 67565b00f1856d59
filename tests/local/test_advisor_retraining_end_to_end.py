"""advisor_retraining end to end in the local cloud: reviewers answer ticket_triage's requests about a new
product, drift is reported on the keel bus, a candidate is trained, stored with its evaluation, put in
shadow, and the next ticket's triage decision carries it as its shadow model; a person promotes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.triage_ticket.advisors import POINTER_TTL
from keel.local.cloud import LocalCloud
from keel.local.report import execution_report
from keel.local.template import EnvironmentTemplate
from keel.ops import approvals, models
from keel.ops.session import OpsSession
from tests.local.conftest import started
from tests.support.drifted_tickets import drifted_tickets

ROOT = Path(__file__).resolve().parents[2]
DRIFT = ROOT / "events" / "advisor_retraining" / "01-drift-detected.json"
TICKET = ROOT / "events" / "ticket_triage" / "02-uncertain-vague.json"


@pytest.fixture
def cloud(dev_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        yield running


@pytest.fixture
def ops(cloud: LocalCloud) -> OpsSession:
    return OpsSession(environment="dev", region=cloud.template.region)


def ticket_event(number: int, ticket: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(TICKET.read_text())
    event["id"] = f"7c1f0a52-3b1e-4c55-9a0e-{number:012d}"
    event["detail"].update(ticket_id=ticket["ticket_id"], subject=ticket["subject"], body=ticket["body"])
    return event


def review_all(cloud: LocalCloud, ops: OpsSession, tickets: list[dict[str, str]]) -> None:
    """Each ticket created and triaged; each request answered with the category the reviewer gives it."""
    category_of = {ticket["ticket_id"]: ticket["label"] for ticket in tickets}
    for number, ticket in enumerate(tickets):
        started(cloud, ticket_event(number, ticket), "ticket_triage")
    cloud.drive(expire_waits=False)
    waiting = approvals.pending(ops)
    assert len(waiting) == len(tickets), "every ticket of the new product goes to a reviewer"
    for request in waiting:
        stored, _token = ops.approvals.get(request["approval_id"])
        answer = category_of[stored.resource]
        approvals.answer(ops, request["approval_id"], approved=True, reason="new product line", values={"category": answer})
    cloud.drive()


def test_drift_retrains_a_candidate_that_advises_the_next_ticket_in_shadow(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given 24 tickets about a new product, each reviewed with the category a person gave it
    review_all(cloud, ops, drifted_tickets(24))

    # When the drift detector reports drift on the keel bus
    arn = started(cloud, json.loads(DRIFT.read_text()), "advisor_retraining")
    cloud.drive()

    # Then a candidate is trained, judged better than the live model on held-out tickets, stored, and put in shadow
    execution = execution_report(cloud, arn)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    retrained = execution.output
    assert retrained["result"] == "in_shadow"
    assert retrained["labels"]["labels_used"] == 24
    candidate = retrained["candidate"]
    figures = retrained["evaluation"]
    assert figures["candidate"]["accuracy"] > figures["live"]["accuracy"]
    listed = models.stored(ops, "ticket_triage")
    assert listed["shadow"] == candidate
    assert listed["live"] is None
    [stored] = listed["models"]
    assert stored["model_version"] == candidate
    assert stored["evaluation"]["candidate"]["brier_score"] == figures["candidate"]["brier_score"]
    # And what it did is in advisor_retraining's decision record
    steps = [(record.decision.action, record.decision.outcome) for record in ops.decisions.for_execution(arn)]
    assert steps == [("train_candidate", "taken"), ("shadow_candidate", "taken")]

    # When the next ticket arrives, once triage's cached pointer has aged out
    cloud.clock.advance(POINTER_TTL.total_seconds())
    next_ticket = ticket_event(99, {"ticket_id": "TCK-999999", "subject": "hoverpod wobbles", "body": "gyrolock thrusters"})
    started(cloud, next_ticket, "ticket_triage")
    cloud.drive(expire_waits=False)

    # Then its triage decision carries the candidate as its shadow model, and the live model is unchanged
    [triaged] = [record.decision for record in ops.decisions.for_event(next_ticket["id"]) if record.decision.step == "Triage"]
    assert triaged.versions["shadow_model"] == candidate
    assert triaged.versions["model"] == "ticket-nb-1.0.0"
    assert triaged.details["shadow"]["label"] == "technical"

    # When a person promotes the candidate
    promoted = models.promote(ops, "ticket_triage", candidate, "beats 1.0.0 on the new product's tickets")

    # Then the live advisor is the candidate from the next ticket on, and the promotion is recorded with who and why
    assert promoted["live"] == candidate
    [record] = [r for r in ops.decisions.chain("ticket_triage", newest_first=True) if r.decision.action == "promote_model"]
    assert record.decision.approved_by == promoted["by"]
    assert record.decision.reason == "beats 1.0.0 on the new product's tickets"
    cloud.clock.advance(POINTER_TTL.total_seconds())
    after = ticket_event(100, {"ticket_id": "TCK-999998", "subject": "podcredits renewal-z", "body": "creditpack topup-fee"})
    started(cloud, after, "ticket_triage")
    cloud.drive(expire_waits=False)
    [triaged] = [record.decision for record in ops.decisions.for_event(after["id"]) if record.decision.step == "Triage"]
    assert triaged.versions["model"] == candidate
    assert triaged.advice is not None
    assert triaged.advice.label == "billing"


def test_drift_without_reviewed_labels_trains_nothing_and_says_so(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given no reviewed tickets / When drift is reported
    arn = started(cloud, json.loads(DRIFT.read_text()), "advisor_retraining")
    cloud.drive()

    # Then the retraining ends, recording that there were too few labels, and nothing is in shadow
    execution = execution_report(cloud, arn)
    assert execution.status == "SUCCEEDED"
    assert execution.output["result"] == "too_few_labels"
    assert models.stored(ops, "ticket_triage") == {"automation": "ticket_triage", "shadow": None, "live": None, "models": []}
    [record] = ops.decisions.for_execution(arn)
    assert (record.decision.outcome, record.decision.rule) == ("skipped", "too-few-labels")
