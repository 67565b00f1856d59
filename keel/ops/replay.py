"""`keel ops replay ticket_triage --since 7d`: recorded triage decisions re-evaluated under the
current policy and model, and what would change.

For each Triage record since the cutoff: the ticket evidence kept by triage_ticket (confidential
table, TTL = the policy's evidence_retention_days) is read and checked against the record's input
digest, then the live advisor and the policy of this checkout decide again. Nothing is re-run in
the workflow and nothing is routed: it is a what-if over the record. The final outcome (the route
step: the advisor's or the reviewer's category) is shown beside it, so a candidate model or policy
can be judged against what people decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import DecisionRecord, digest
from functions.triage_ticket.advisors import Advisor, build_advisor
from functions.triage_ticket.evidence import EvidenceStore, ticket_from_evidence
from functions.triage_ticket.policy import Policy, load_policy
from infra import names
from keel.ops.session import OpsError, OpsSession, aws_call

REPLAYABLE = {"ticket_triage": "Triage"}
ROUTE_STEPS = ("Route", "RouteReviewed", "RouteUnreviewed", "NotRouted")


@dataclass(frozen=True)
class Replayed:
    event_id: str
    ticket_id: str
    recorded_at: str
    then: str
    now: str
    final: str
    status: str

    def as_json(self) -> dict[str, str]:
        return {
            "event_id": self.event_id,
            "ticket_id": self.ticket_id,
            "recorded_at": self.recorded_at,
            "then": self.then,
            "now": self.now,
            "final": self.final,
            "status": self.status,
        }


def replay(
    session: OpsSession,
    automation: str,
    since: datetime | None,
    *,
    policy: Policy | None = None,
    live: Advisor | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Re-decide every recorded triage since `since` (all when None) with `policy` and `live` (default: this checkout's)."""
    if automation not in REPLAYABLE:
        raise OpsError(f"no replay for '{automation}' (replayable: {', '.join(sorted(REPLAYABLE))})")
    policy = policy or load_policy()
    live = live or build_advisor(policy.advisors.live, policy)
    now = now or datetime.now(UTC)
    evidence = EvidenceStore(Table(names.table(session.environment, "confidential"), session.client("dynamodb")))
    with aws_call(f"read the decision chain of {automation}"):
        records = _since(list(session.decisions.chain(automation)), since)
    finals = {record.decision.execution_arn: record for record in records if record.decision.step in ROUTE_STEPS}
    rows = []
    for record in records:
        if record.decision.step != REPLAYABLE[automation]:
            continue
        with aws_call(f"read the evidence of {record.decision.event_id}"):
            kept = evidence.get(automation, record.decision.event_id, now)
        rows.append(_replay_one(record, kept, finals.get(record.decision.execution_arn), policy, live))
    changed = [row for row in rows if row.status == "changed"]
    return {
        "automation": automation,
        "policy": f"{policy.name}-{policy.version}",
        "model": live.version,
        "replayed": sum(row.status in ("changed", "same") for row in rows),
        "changed": len(changed),
        "unavailable": sum(row.status.startswith("evidence") for row in rows),
        "rows": [row.as_json() for row in rows],
    }


def _since(records: list[DecisionRecord], since: datetime | None) -> list[DecisionRecord]:
    if since is None:
        return records
    cutoff = since.isoformat(timespec="milliseconds")
    return [record for record in records if record.recorded_at >= cutoff]


def _replay_one(
    record: DecisionRecord, kept: dict[str, Any] | None, final: DecisionRecord | None, policy: Policy, live: Advisor
) -> Replayed:
    decision = record.decision
    then = _describe(decision.action, str(decision.details.get("category", "?")), decision.rule)
    ticket_id = (decision.resource or "ticket/?").removeprefix("ticket/")
    final_text = _final(final)
    if kept is None:
        return Replayed(decision.event_id, ticket_id, record.recorded_at, then, "-", final_text, "evidence expired")
    if digest(kept) != decision.input_digest:
        return Replayed(decision.event_id, ticket_id, record.recorded_at, then, "-", final_text, "evidence does not match")
    verdict = policy.decide(ticket_from_evidence(kept), live.advise(ticket_from_evidence(kept)))
    action = "route_ticket" if verdict.action == "route" else "ask_reviewer"
    now_text = _describe(action, verdict.category, verdict.rule)
    status = (
        "same"
        if (action, verdict.category, verdict.rule) == (decision.action, decision.details.get("category"), decision.rule)
        else "changed"
    )
    return Replayed(decision.event_id, ticket_id, record.recorded_at, then, now_text, final_text, status)


def _describe(action: str, category: str, rule: str | None) -> str:
    verb = "route" if action == "route_ticket" else "review"
    return f"{verb} {category} ({rule or '-'})"


def _final(record: DecisionRecord | None) -> str:
    if record is None:
        return "-"
    decision = record.decision
    if decision.step == "NotRouted":
        return "rejected by reviewer"
    who = decision.details.get("decided_by", "?")
    return f"{decision.details.get('category', '?')} by {who}"
