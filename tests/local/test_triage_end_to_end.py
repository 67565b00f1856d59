"""ticket_triage end to end in the local cloud, from its sample events.

Confident tickets are routed by the advisor's word; uncertain and legal ones wait for a reviewer
(who may change the category with `keel ops approve --set category=...`); duplicates route once;
a malformed ticket fails with the fields it breaks; explain and replay read the decision record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.triage_ticket.policy import POLICY_FILE, Policy
from keel.local.cloud import LocalCloud
from keel.local.report import ExecutionReport, execution_report
from keel.local.template import EnvironmentTemplate
from keel.ops import approvals, explain, replay
from keel.ops.session import OpsSession
from tests.local.conftest import started

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "ticket_triage"


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


@pytest.fixture
def cloud(dev_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        yield running


@pytest.fixture
def ops(cloud: LocalCloud) -> OpsSession:
    return OpsSession(environment="dev", region=cloud.template.region)


def deliver(cloud: LocalCloud, name: str, *, copies: int = 1) -> list[str]:
    """The ticket_triage executions of `copies` deliveries of the sample."""
    return [started(cloud, sample(name), "ticket_triage") for _ in range(copies)]


def report(cloud: LocalCloud, arn: str) -> ExecutionReport:
    return execution_report(cloud, arn)


def path(execution: ExecutionReport) -> list[str]:
    return [state.name for state in execution.states]


def messages(cloud: LocalCloud, queue: str) -> list[dict[str, Any]]:
    sqs = cloud.client("sqs")
    url = sqs.get_queue_url(QueueName=f"keel-dev-ticket_triage-{queue}")["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [json.loads(message["Body"]) for message in received.get("Messages", [])]


def all_queued(cloud: LocalCloud) -> dict[str, int]:
    return {queue: len(messages(cloud, queue)) for queue in ("billing", "identity", "product", "sales", "support", "triage")}


def test_a_confident_ticket_is_routed_to_its_team_and_explained(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a clear billing ticket / When it is created
    [arn] = deliver(cloud, "01-confident-billing")
    cloud.drive()

    # Then it is routed to billing by the advisor, without asking anyone
    execution = report(cloud, arn)
    assert execution.status == "SUCCEEDED"
    assert path(execution) == ["KeelClaimEvent", "KeelSealConfidential", "Triage", "ConfidentEnough", "Route"]
    assert execution.output["routed_to"] == "billing"
    assert execution.output["decided_by"] == "advisor"
    [message] = messages(cloud, "billing")
    assert (message["ticket_id"], message["category"], message["priority"]) == ("TCK-104211", "billing", "normal")
    assert approvals.pending(ops) == []

    # And explain reconstructs it with the advisor, policy, model and shadow model versions
    story = explain.explain(explain.find_records(ops, sample("01-confident-billing")["id"]))
    assert "planned route_ticket on ticket/TCK-104211" in story
    assert "advised    billing at confidence 0.99 by model ticket-nb-1.0.0" in story
    assert "policy ticket-triage-policy-1.0.0" in story
    assert "shadow_model ticket-nb-1.1.0" in story
    assert "rule       confident:billing" in story
    assert "taken route_ticket to billing on ticket/TCK-104211" in story


def test_an_uncertain_ticket_waits_for_a_reviewer_who_can_change_the_category(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a vague ticket the advisor is unsure about
    [arn] = deliver(cloud, "02-uncertain-vague")
    cloud.drive(expire_waits=False)

    # Then it waits for a person, who sees the suggestion and the categories to choose from
    assert report(cloud, arn).status == "RUNNING"
    [waiting] = approvals.pending(ops)
    request, _token = ops.approvals.get(waiting["approval_id"])
    assert request.resource == "TCK-104212"
    assert "abstain band" in request.why
    assert request.details["choices"]["category"] == ["account", "billing", "feedback", "sales", "technical"]

    # When the reviewer approves with another category
    approvals.answer(ops, waiting["approval_id"], approved=True, reason="customer cannot log in", values={"category": "account"})
    cloud.drive()

    # Then the ticket lands on the identity team's queue on the reviewer's word
    execution = report(cloud, arn)
    assert execution.status == "SUCCEEDED"
    assert path(execution)[-2:] == ["AskReviewer", "RouteReviewed"]
    assert (execution.output["routed_to"], execution.output["overridden"]) == ("identity", True)
    assert [message["ticket_id"] for message in messages(cloud, "identity")] == ["TCK-104212"]
    outcomes = [(record.decision.step, record.decision.outcome) for record in ops.decisions.for_execution(arn)]
    assert outcomes == [("Triage", "escalated"), ("AskReviewer:answer", "approved"), ("RouteReviewed", "taken")]
    assert ops.decisions.for_execution(arn)[-1].decision.rule == "reviewer-override"


def test_a_reviewer_cannot_choose_a_category_the_policy_does_not_know(cloud: LocalCloud, ops: OpsSession) -> None:
    from keel.ops.session import OpsError

    deliver(cloud, "02-uncertain-vague")
    cloud.drive(expire_waits=False)
    [waiting] = approvals.pending(ops)

    with pytest.raises(OpsError, match="'legal' is not a choice for category"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="x", values={"category": "legal"})
    with pytest.raises(OpsError, match="asks for no 'team'"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="x", values={"team": "billing"})
    assert approvals.pending(ops)[0]["state"] == "waiting"


def test_a_legal_keyword_goes_to_a_person_even_when_the_advisor_is_sure(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a billing ticket mentioning a lawyer / When created and approved as suggested
    [arn] = deliver(cloud, "03-legal-keyword")
    cloud.drive(decision="approve")

    # Then it went through a reviewer although the advisor was above the billing threshold
    execution = report(cloud, arn)
    assert "AskReviewer" in path(execution)
    triage = ops.decisions.for_execution(arn)[0].decision
    assert triage.rule == "legal-keyword"
    assert triage.advice is not None
    assert triage.advice.confidence >= json.loads(POLICY_FILE.read_text())["thresholds"]["billing"]
    assert execution.output["routed_to"] == "billing"
    assert execution.output["decided_by"] != "advisor"


def test_a_rejected_ticket_is_not_routed(cloud: LocalCloud, ops: OpsSession) -> None:
    [arn] = deliver(cloud, "03-legal-keyword")
    cloud.drive(decision="reject")

    execution = report(cloud, arn)
    assert (execution.status, path(execution)[-1]) == ("SUCCEEDED", "NotRouted")
    assert sum(all_queued(cloud).values()) == 0
    assert ops.decisions.for_execution(arn)[-1].decision.outcome == "refused"


def test_an_unanswered_review_goes_to_the_triage_queue_when_it_expires(cloud: LocalCloud) -> None:
    [arn] = deliver(cloud, "02-uncertain-vague")
    cloud.drive()  # nobody answers: the approval timeout passes on the virtual clock

    execution = report(cloud, arn)
    assert path(execution)[-1] == "RouteUnreviewed"
    assert execution.output["routed_to"] == "triage"


def test_a_duplicate_delivery_routes_once(cloud: LocalCloud) -> None:
    # Given the same event delivered twice (EventBridge is at-least-once)
    arns = deliver(cloud, "01-confident-billing", copies=2)
    cloud.drive()

    # Then one execution routes, the other ends as a duplicate, and billing got one message
    executions = [report(cloud, arn) for arn in arns]
    assert sorted(execution.duplicate for execution in executions) == [False, True]
    assert all_queued(cloud) == {"billing": 1, "identity": 0, "product": 0, "sales": 0, "support": 0, "triage": 0}


def test_a_malformed_ticket_fails_with_the_fields_it_breaks(cloud: LocalCloud, ops: OpsSession) -> None:
    [arn] = deliver(cloud, "05-malformed")
    cloud.drive()

    execution = report(cloud, arn)
    assert (execution.status, execution.error) == ("FAILED", "InvalidInputError")
    for field in ("ticket.ticket_id", "ticket.subject: Field required", "ticket.customer: Field required", "ticket.channel"):
        assert field in (execution.cause or "")
    assert sum(all_queued(cloud).values()) == 0
    # Keel's failure path recorded why and told the owner's on-call
    [failure] = ops.decisions.for_execution(arn)
    assert (failure.decision.step, failure.decision.outcome) == ("KeelRecordFailure", "failed")
    assert failure.decision.reason.startswith("InvalidInputError: TriageInput: ticket.ticket_id: String should match")
    [page] = [page for page in cloud.pages() if page.subject == "Keel: ticket_triage failed (dev)"]
    assert page.route == "keel-dev-oncall-support-oncall"


def test_replay_reports_what_a_stricter_policy_would_change(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a routed ticket and a reviewed one on record
    deliver(cloud, "01-confident-billing")
    deliver(cloud, "04-vip-outage")
    cloud.drive()

    # When replayed under the same policy / Then nothing changes
    same = replay.replay(ops, "ticket_triage", None)
    assert (same["replayed"], same["changed"]) == (2, 0)

    # When replayed under a policy that wants near-certainty for billing
    strict = Policy.model_validate(
        {
            **json.loads(POLICY_FILE.read_text()),
            "thresholds": {**json.loads(POLICY_FILE.read_text())["thresholds"], "billing": 0.999},
        }
    )
    result = replay.replay(ops, "ticket_triage", None, policy=strict)

    # Then the billing ticket would now go to a reviewer, the technical one is unchanged
    rows = {row["ticket_id"]: row for row in result["rows"]}
    assert rows["TCK-104211"]["status"] == "changed"
    assert rows["TCK-104211"]["then"] == "route billing (confident:billing)"
    assert rows["TCK-104211"]["now"] == "review billing (below-threshold:billing)"
    assert rows["TCK-104211"]["final"] == "billing by advisor"
    assert rows["TCK-104214"]["status"] == "same"
