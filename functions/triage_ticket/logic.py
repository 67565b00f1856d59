"""Triage one ticket: the live advisor suggests, the shadow advisor is recorded, the policy decides.

Returns what the workflow needs next: route now (with the team queue and priority), or ask a person
(with what the reviewer needs to decide). Every triage is recorded on the decision chain with the
policy, model and shadow model versions, and the evidence is kept for replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from functions.shared.contracts.ticket_created import TicketCreated
from functions.shared.domain import confidential
from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Advice, DecisionRecord, Recorder, decision_in, digest
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import Field
from functions.shared.runtime.parsing import parse
from functions.triage_ticket.advisors import Advisor
from functions.triage_ticket.evidence import evidence_of
from functions.triage_ticket.policy import Policy, Verdict


class TriageInput(TaskInput):
    step: str = Field(min_length=1)
    # The event's detail. In a confidential automation its subject and body are references to the
    # confidential store (functions/shared/domain/confidential.py), read back in `triage`; then the
    # ticket is parsed, and a malformed one fails naming each field that breaks the contract.
    ticket: dict[str, Any]


class Evidence(Protocol):
    def keep(self, automation: str, event_id: str, evidence: dict[str, Any], expires_at: datetime) -> None: ...


class ShadowAdvisor(Protocol):
    """Advises beside the live advisor, or not at all (None): its advice is recorded, never acted on."""

    def advise(self, ticket: TicketCreated) -> Advice | None: ...


class MetricSink(Protocol):
    def add(self, name: str, value: float, unit: str) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    policy: Policy
    live: Advisor
    # Advises on every ticket too; recorded, never acted on.
    shadow: ShadowAdvisor | None
    log: Recorder
    evidence: Evidence
    # The confidential store: the text behind a sealed ticket's references.
    texts: confidential.Texts
    metrics: MetricSink
    clock: Clock
    # Which code decided: the deployment package's digest.
    code_version: str


def triage(task: TriageInput, deps: Dependencies) -> dict[str, Any]:
    policy = deps.policy
    sealed = confidential.references_in(task.ticket, at="ticket")
    revealed = deps.texts.revealed(task.ticket, task.keel.automation, deps.clock(), at="ticket")
    ticket = parse(TicketCreated, revealed, at=("ticket",), title=type(task).__name__)
    advice = deps.live.advise(ticket)
    shadow_advice = deps.shadow.advise(ticket) if deps.shadow is not None else None
    verdict = policy.decide(ticket, advice)
    snapshot = evidence_of(ticket)
    expires_at = deps.clock() + timedelta(days=policy.evidence_retention_days)
    deps.evidence.keep(task.keel.automation, task.event_id, snapshot, expires_at)
    versions = {"policy": f"{policy.name}-{policy.version}", "model": advice.model_version}
    details: dict[str, Any] = {
        "category": verdict.category,
        "priority": verdict.priority,
        "evidence_kept_days": policy.evidence_retention_days,
    }
    if verdict.action == "route":
        details["queue"] = policy.routing[verdict.category]
    if shadow_advice is not None:
        versions["shadow_model"] = shadow_advice.model_version
        details["shadow"] = _shadow_details(shadow_advice, advice)
    record = deps.log.record(
        decision_in(
            task,
            step=task.step,
            action="route_ticket" if verdict.action == "route" else "ask_reviewer",
            outcome="planned" if verdict.action == "route" else "escalated",
            reason=verdict.reason,
            rule=verdict.rule,
            resource=f"ticket/{ticket.ticket_id}",
            trigger=f"Ticket Created {ticket.ticket_id} via {ticket.channel}",
            input_digest=digest(snapshot),
            code_version=deps.code_version,
            versions=versions,
            advice=advice,
            details=details,
        )
    )
    _emit(deps.metrics, advice, shadow_advice, verdict)
    result = _result(ticket=ticket, policy=policy, advice=advice, verdict=verdict, versions=versions, record=record)
    if "review" in result and "subject" in sealed:
        # What leaves this module is what the execution history keeps: the reviewer reads the ticket in
        # the helpdesk by its id, and sees here that it is the one sealed (length and digest).
        result["review"]["subject"] = sealed["subject"].label()
    return result


def _shadow_details(shadow: Advice, live: Advice) -> dict[str, Any]:
    return {"label": shadow.label, "confidence": shadow.confidence, "agrees": shadow.label == live.label}


def _emit(metrics: MetricSink, advice: Advice, shadow: Advice | None, verdict: Verdict) -> None:
    metrics.add("TicketsTriaged", 1, "Count")
    # As a percentage, so CloudWatch percentiles (p10, p50, p90) show the confidence distribution.
    metrics.add("AdvisorConfidence", round(advice.confidence * 100, 2), "Percent")
    # 0 or 1 per ticket: the metric's Average over a period is the share sent to people.
    metrics.add("SentToHuman", 1 if verdict.action == "review" else 0, "Count")
    if shadow is not None:
        metrics.add("ShadowAgreement", 1 if shadow.label == advice.label else 0, "Count")


def _result(
    *, ticket: TicketCreated, policy: Policy, advice: Advice, verdict: Verdict, versions: dict[str, str], record: DecisionRecord
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ticket_id": ticket.ticket_id,
        "action": verdict.action,
        "category": verdict.category,
        "priority": verdict.priority,
        "rule": verdict.rule,
        "reason": verdict.reason,
        "risk": verdict.risk,
        "advice": advice.model_dump(),
        "versions": versions,
        "routing": dict(policy.routing),
        "fallback_queue": policy.fallback_queue,
        "input_digest": record.decision.input_digest,
        "decision_seq": record.seq,
    }
    if verdict.action == "review":
        # What the reviewer sees in the approval request, and the answers `keel ops approve --set` accepts.
        result["review"] = {
            "ticket_id": ticket.ticket_id,
            "subject": ticket.subject,
            "customer_tier": ticket.customer.tier,
            "suggested_category": verdict.category,
            "confidence": advice.confidence,
            "advisor": advice.model_version,
            "rule": verdict.rule,
            "choices": {"category": policy.categories},
        }
    return result
