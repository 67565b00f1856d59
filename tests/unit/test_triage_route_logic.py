"""route_ticket's logic with in-memory fakes: whose category wins, and routing once per event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from functions.route_ticket.logic import Dependencies, Review, RouteInput, TriageOutcome, plan, route
from functions.shared.adapters.confidential_store import ConfidentialStore
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.context import KeelContext
from functions.shared.domain.decisions import Advice, Decision, DecisionRecord
from functions.shared.runtime.errors import InvalidInputError
from tests.support.fake_dynamodb import FakeDynamoDB
from tests.support.keel_context import keel_fields

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
KEEL = KeelContext.model_validate(
    keel_fields(
        automation="ticket_triage",
        owner="support-team",
        data_classification="confidential",
        definition_hash="sha256:abc",
        limits={"max_concurrency": 1, "max_actions_per_window": 10, "window_minutes": 60},
    )
)
ROUTING = {"account": "identity", "billing": "billing", "feedback": "product", "sales": "sales", "technical": "support"}
TICKET = {"ticket_id": "TCK-5001", "subject": "Invoice", "customer": {"id": "cus_1", "tier": "vip"}, "channel": "email"}


def triage(action: str = "route", category: str = "billing", confidence: float = 0.9) -> TriageOutcome:
    return TriageOutcome(
        ticket_id="TCK-5001",
        action=action,  # type: ignore[arg-type]
        category=category,
        priority="high",
        rule=f"confident:{category}" if action == "route" else "abstain-band",
        reason="test",
        advice=Advice(label=category, confidence=confidence, model_version="ticket-nb-1.0.0"),
        versions={"policy": "ticket-triage-policy-1.0.0", "model": "ticket-nb-1.0.0"},
        routing=ROUTING,
        fallback_queue="triage",
        input_digest="sha256:evidence",
    )


class Queues:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def send(self, queue: str, body: dict[str, Any], attributes: dict[str, str]) -> str:
        self.sent.append((queue, body, attributes))
        return f"msg-{len(self.sent)}"


class Markers:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(key["id"])

    def put(self, values: dict[str, Any]) -> None:
        self.items[values["id"]] = values


class Log:
    def __init__(self) -> None:
        self.decisions: list[Decision] = []

    def record(self, decision: Decision) -> DecisionRecord:
        self.decisions.append(decision)
        return DecisionRecord(seq=len(self.decisions), recorded_at="t", prev_hash="0", hash="h", decision=decision)


class Metrics:
    def __init__(self) -> None:
        self.values: list[tuple[str, float]] = []

    def add(self, name: str, value: float, unit: str) -> None:
        self.values.append((name, value))


def run(outcome: TriageOutcome, review: Review | None, queues: Queues, markers: Markers, **extra: Any) -> dict[str, Any]:
    task = RouteInput(
        event_id="evt-1",
        execution="arn:exec",
        keel=extra.get("keel", KEEL),
        step="Route",
        ticket=TICKET,
        triage=outcome,
        review=review,
    )
    deps = Dependencies(
        queues=queues,
        markers=markers,
        # A plain ticket: nothing to read back (tests/unit/test_confidential_text.py reads sealed ones).
        texts=ConfidentialStore(Table("keel-dev-confidential", FakeDynamoDB())),
        log=extra.get("log", Log()),
        metrics=extra.get("metrics", Metrics()),
        clock=lambda: NOW,
        code_version="sha256:code",
    )
    return route(task, deps)


def test_a_confident_ticket_goes_to_its_category_queue_on_the_advisors_word() -> None:
    # Given a confident triage / When routed
    queues, log = Queues(), Log()
    result = run(triage(), None, queues, Markers(), log=log)

    # Then one message lands on billing with the ticket's priority, and the decision says so
    assert [(queue, body["category"], attrs["priority"]) for queue, body, attrs in queues.sent] == [
        ("billing", "billing", "high")
    ]
    assert (result["routed_to"], result["decided_by"], result["overridden"]) == ("billing", "advisor", False)
    decision = log.decisions[0]
    assert (decision.outcome, decision.rule, decision.input_digest) == ("taken", "confident:billing", "sha256:evidence")
    assert decision.versions["model"] == "ticket-nb-1.0.0"


def test_routing_twice_for_one_event_sends_once() -> None:
    # Given the ticket was routed already (a retried task or a redriven event)
    queues, markers = Queues(), Markers()
    run(triage(), None, queues, markers)

    # When routing runs again for the same event
    again = run(triage(), None, queues, markers)

    # Then nothing more is sent, and the result says it was already routed, with the first message id
    assert len(queues.sent) == 1
    assert again["already_routed"] is True
    assert markers.items["route#ticket_triage#evt-1"]["message_id"] == "msg-1"


def test_a_reviewer_override_routes_to_their_category_and_counts_as_disagreement() -> None:
    # Given the advisor said sales and the reviewer set category=account
    queues, metrics, log = Queues(), Metrics(), Log()
    review = Review(
        approved=True, approval_id="ap-1", decided_by="arn:user/alice", reason="password", values={"category": "account"}
    )

    # When routed
    result = run(triage("review", "sales", 0.4), review, queues, Markers(), metrics=metrics, log=log)

    # Then the ticket goes to identity on the reviewer's word, and agreement records 0
    assert queues.sent[0][0] == "identity"
    assert (result["decided_by"], result["overridden"]) == ("arn:user/alice", True)
    assert ("AdvisorHumanAgreement", 0) in metrics.values
    assert (log.decisions[0].approved_by, log.decisions[0].rule) == ("arn:user/alice", "reviewer-override")


def test_a_reviewer_who_keeps_the_suggestion_agrees_with_the_advisor() -> None:
    metrics = Metrics()
    review = Review(approved=True, approval_id="ap-1", decided_by="bob", reason="fine")

    run(triage("review", "billing", 0.6), review, Queues(), Markers(), metrics=metrics)

    assert ("AdvisorHumanAgreement", 1) in metrics.values


def test_a_review_that_timed_out_goes_to_the_fallback_queue() -> None:
    queues, log = Queues(), Log()

    result = run(triage("review"), Review(timed_out=True), queues, Markers(), log=log)

    assert (result["routed_to"], result["decided_by"]) == ("triage", "escalation")
    assert log.decisions[0].outcome == "escalated"


@pytest.mark.parametrize(
    ("outcome", "review", "message"),
    [
        (triage("review"), None, "needs a review"),
        (triage("review"), Review(approved=False), "rejected review"),
        (triage("review"), Review(approved=True, values={"category": "legal"}), "not a category"),
    ],
)
def test_routing_refuses_what_the_workflow_should_never_send(outcome: TriageOutcome, review: Review | None, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        plan(outcome, review)


def test_dry_run_records_the_plan_without_sending() -> None:
    queues, log = Queues(), Log()

    result = run(triage(), None, queues, Markers(), keel=KEEL.model_copy(update={"dry_run": True}), log=log)

    assert queues.sent == []
    assert (log.decisions[0].outcome, log.decisions[0].dry_run, result["routed_to"]) == ("planned", True, "billing")
