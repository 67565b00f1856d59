"""Put a triaged ticket on its team's queue: the advisor's category, or the reviewer's answer.

Routing is idempotent per event: a marker in the idempotency table says the ticket was sent, so a
retried task (or a redriven event) does not put it on a queue twice. The prologue already stops a
duplicate delivery; the marker covers a retry after the message went out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal, Protocol

from functions.shared.domain import confidential
from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Advice, Decision, Recorder, decision_in
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import ConfigDict, Field, Model, ValidationInfo, field_validator
from functions.shared.runtime.errors import InvalidInputError
from functions.shared.runtime.parsing import parse, shown

MARKER_DAYS = 90


class Customer(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    tier: str


class Ticket(Model):
    """The fields of the "Ticket Created" detail a team's queue message carries (triage validated the rest).

    Its own model, not triage_ticket's contract: a module's package holds only itself and functions/shared.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: str
    subject: str
    customer: Customer
    channel: str


class TriageOutcome(Model):
    """What triage_ticket returned (the fields routing needs)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: str
    action: Literal["route", "review"]
    category: str
    priority: str
    rule: str
    reason: str
    advice: Advice
    versions: dict[str, str]
    routing: dict[str, str]
    fallback_queue: str
    input_digest: str

    @field_validator("routing")
    @classmethod
    def _routes_its_category(cls, routing: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # triage_ticket's policy routes every category it routes (its loader refuses one that does not),
        # so a route outcome without its queue was altered on the way: input, not route_ticket's configuration.
        category = info.data.get("category")
        if info.data.get("action") == "route" and category is not None and category not in routing:
            raise ValueError(
                f"no queue for category {shown(category)}, which the outcome routes (routes: {', '.join(sorted(routing))})"
            )
        return routing


class Review(Model):
    """The reviewer's answer (request_approval's task output), or {"timed_out": true}."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    approved: bool = False
    approval_id: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    # Answers given with `keel ops approve ID --set category=billing`.
    values: dict[str, str] = Field(default_factory=dict)
    timed_out: bool = False


class RouteInput(TaskInput):
    step: str = Field(min_length=1)
    # The event's detail: in a confidential automation its subject is a reference to the confidential
    # store, read back in `route` for the team's queue message (and never returned).
    ticket: dict[str, Any]
    triage: TriageOutcome
    review: Review | None = None


class Sender(Protocol):
    def send(self, queue: str, body: dict[str, Any], attributes: dict[str, str]) -> str: ...


class Markers(Protocol):
    def get(self, key: dict[str, Any]) -> dict[str, Any] | None: ...

    def put(self, values: dict[str, Any]) -> None: ...


class MetricSink(Protocol):
    def add(self, name: str, value: float, unit: str) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    # The team queues of the task's automation (KEEL_QUEUES).
    queues: Sender
    # "Sent" markers in the idempotency table: a retried task does not send twice.
    markers: Markers
    # The confidential store: the text behind a sealed ticket's references.
    texts: confidential.Texts
    log: Recorder
    metrics: MetricSink
    clock: Clock
    # Which code decided: the deployment package's digest.
    code_version: str


@dataclass(frozen=True)
class Plan:
    category: str
    queue: str
    decided_by: str
    source: Literal["advisor", "reviewer", "escalation"]
    outcome: Literal["taken", "escalated", "planned"]
    rule: str
    reason: str


def plan(triage: TriageOutcome, review: Review | None) -> Plan:
    """Where the ticket goes, and on whose word."""
    if review is None:
        if triage.action != "route":
            raise InvalidInputError(
                f"triage.action: ticket {triage.ticket_id} needs a review before it can be routed ({triage.rule})"
            )
        queue = triage.routing[triage.category]
        return Plan(triage.category, queue, "advisor", "advisor", "taken", triage.rule, triage.reason)
    if review.timed_out:
        reason = f"nobody reviewed {triage.ticket_id} in time: the {triage.fallback_queue} queue gets it for a person to pick up"
        return Plan(triage.category, triage.fallback_queue, "escalation", "escalation", "escalated", "review-timeout", reason)
    if not review.approved:
        raise InvalidInputError(f"review.approved: a rejected review of {triage.ticket_id} is not routed")
    category = review.values.get("category", triage.category)
    if category not in triage.routing:
        categories = ", ".join(sorted(triage.routing))
        raise InvalidInputError(
            f"review.values.category: the reviewer chose {shown(category)}, which is not a category ({categories})"
        )
    verb = "kept" if category == triage.category else f"changed {triage.category} to"
    reason = f"reviewer {review.decided_by} {verb} {category}: {review.reason}"
    rule = "reviewer-override" if category != triage.category else "reviewer-confirmed"
    return Plan(category, triage.routing[category], review.decided_by or "reviewer", "reviewer", "taken", rule, reason)


def route(task: RouteInput, deps: Dependencies) -> dict[str, Any]:
    keel, triage = task.keel, task.triage
    chosen = plan(triage, task.review)
    ticket = _ticket(task, deps)
    marker_key = {"id": f"route#{keel.automation}#{task.event_id}"}
    marker = deps.markers.get(marker_key)
    already = marker is not None and marker.get("status") == "sent"
    if keel.dry_run:
        # Dry run: decide and record what would be sent, send nothing.
        chosen = replace(chosen, outcome="planned")
        message_id = "dry-run"
    elif already and marker is not None:
        message_id = str(marker["message_id"])
    else:
        expiration = int((deps.clock() + timedelta(days=MARKER_DAYS)).timestamp())
        deps.markers.put({**marker_key, "status": "sending", "queue": chosen.queue, "expiration": expiration})
        message_id = deps.queues.send(
            chosen.queue, _message(task.event_id, ticket, chosen, triage), _attributes(task.event_id, chosen, triage)
        )
        deps.markers.put(
            {**marker_key, "status": "sent", "queue": chosen.queue, "message_id": message_id, "expiration": expiration}
        )
        _emit(deps.metrics, chosen, triage)
    deps.log.record(_decision(task, chosen, deps.code_version, message_id=message_id, already=already))
    return {
        "ticket_id": ticket.ticket_id,
        "routed_to": chosen.queue,
        "category": chosen.category,
        "priority": triage.priority,
        "decided_by": chosen.decided_by,
        "advised": f"{triage.advice.label} at {triage.advice.confidence:.2f} by {triage.advice.model_version}",
        "overridden": chosen.source == "reviewer" and chosen.category != triage.advice.label,
        "already_routed": already,
        "explain": keel.ops_command("explain", task.event_id),
    }


def _ticket(task: RouteInput, deps: Dependencies) -> Ticket:
    """The ticket, its sealed text read back from the confidential store (checked against its digest)."""
    ticket = deps.texts.revealed(task.ticket, task.keel.automation, deps.clock(), at="ticket")
    return parse(Ticket, ticket, at=("ticket",), title=type(task).__name__)


def _message(event_id: str, ticket: Ticket, chosen: Plan, triage: TriageOutcome) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id,
        "subject": ticket.subject,
        "customer": ticket.customer.model_dump(),
        "channel": ticket.channel,
        "category": chosen.category,
        "priority": triage.priority,
        "decided_by": chosen.decided_by,
        "why": chosen.reason,
        "event_id": event_id,
    }


def _attributes(event_id: str, chosen: Plan, triage: TriageOutcome) -> dict[str, str]:
    return {"event_id": event_id, "category": chosen.category, "priority": triage.priority}


def _emit(metrics: MetricSink, chosen: Plan, triage: TriageOutcome) -> None:
    metrics.add("TicketsRouted", 1, "Count")
    if chosen.source == "reviewer":
        # 1 when the person kept the advisor's category: the Average over a window is the agreement rate.
        metrics.add("AdvisorHumanAgreement", 1 if chosen.category == triage.advice.label else 0, "Count")
    if chosen.source == "escalation":
        metrics.add("ReviewTimedOut", 1, "Count")


def _decision(task: RouteInput, chosen: Plan, code_version: str, *, message_id: str, already: bool) -> Decision:
    """The routing decision; `already` when an earlier try of this task sent the message."""
    triage, review = task.triage, task.review
    return decision_in(
        task,
        step=task.step,
        action=f"route_ticket to {chosen.queue}",
        outcome=chosen.outcome,
        reason=chosen.reason,
        rule=chosen.rule,
        resource=f"ticket/{triage.ticket_id}",
        input_digest=triage.input_digest,
        code_version=code_version,
        versions=triage.versions,
        advice=triage.advice,
        approved_by=review.decided_by if review is not None and not review.timed_out else None,
        approval_id=review.approval_id if review is not None else None,
        details={
            "category": chosen.category,
            "queue": chosen.queue,
            "priority": triage.priority,
            "decided_by": chosen.source,
            "advisor_category": triage.advice.label,
            "message_id": message_id,
            "already_routed": already,
        },
    )
