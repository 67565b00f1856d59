"""Tickets about something the shipped advisor never saw (a drift in the ticket mix), with the category
a reviewer gives each, and the reviewed decisions they leave: what retraining learns from."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from functions.shared.domain.decisions import Advice, Decision, DecisionLog, digest
from functions.shared.ticket_model.evidence import EvidenceStore

# Tickets about a new product line whose words the shipped models never saw, each with the category a
# reviewer gives it: the demo and the end-to-end test replay the same file.
REVIEWED_TICKETS = Path(__file__).resolve().parents[2] / "events" / "advisor_retraining" / "reviewed_tickets.jsonl"


def drifted_tickets(count: int) -> list[dict[str, str]]:
    """The first `count` tickets of the file, as dicts of ticket_id, subject, body, label."""
    rows = [json.loads(line) for line in REVIEWED_TICKETS.read_text().splitlines() if line.strip()]
    if count > len(rows):
        raise ValueError(f"{REVIEWED_TICKETS} holds {len(rows)} tickets, not {count}")
    return [
        {"ticket_id": row["ticket_id"], "subject": row["subject"], "body": row["body"], "label": row["category"]}
        for row in rows[:count]
    ]


def reviewed(log: DecisionLog, evidence: EvidenceStore, tickets: list[dict[str, str]], now: datetime) -> None:
    """Record each ticket as triage_ticket keeps its evidence and route_ticket records a reviewer's answer."""
    for number, ticket in enumerate(tickets):
        event_id = f"event-{number}"
        kept = {
            "ticket_id": ticket["ticket_id"],
            "subject": ticket["subject"],
            "body": ticket["body"],
            "customer_tier": "standard",
            "channel": "web",
            "created_at": now.isoformat(),
            "language": "en",
        }
        evidence.keep("ticket_triage", event_id, kept, now + timedelta(days=30))
        advised = "sales"
        log.record(
            Decision(
                automation="ticket_triage",
                automation_version="1.1.0",
                environment="dev",
                event_id=event_id,
                execution_arn=f"arn:aws:states:eu-west-1:111111111111:execution:keel-dev-ticket_triage:run-{number}",
                step="RouteReviewed",
                action="route_ticket to support",
                outcome="taken",
                reason=f"reviewer alice changed {advised} to {ticket['label']}: new product",
                rule="reviewer-override",
                resource=f"ticket/{ticket['ticket_id']}",
                input_digest=digest(kept),
                advice=Advice(label=advised, confidence=0.3, model_version="ticket-nb-1.0.0"),
                approved_by="alice",
                details={"category": ticket["label"], "decided_by": "reviewer", "advisor_category": advised},
            )
        )


def drift_detail(**changes: Any) -> dict[str, Any]:
    detail = {
        "automation": "ticket_triage",
        "model_version": "ticket-nb-1.0.0",
        "signal": "agreement",
        "detector": "ADWIN",
        "detected_at": "2026-11-22T03:00:00Z",
        "observations": 120,
        "mean_before": 0.9,
        "mean_after": 0.55,
        "drift_id": "drift-0001",
    }
    return detail | changes
