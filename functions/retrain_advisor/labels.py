"""The labels people gave: reviewed decisions of the retrained automation, and the ticket text each was on.

A reviewer's answer (`keel ops approve ID --set category=...`, or approving the suggestion as it is)
reaches route_ticket, which records the routing decision with `details.decided_by: "reviewer"` and the
category chosen (rule `reviewer-confirmed` or `reviewer-override`). The text is not in the decision
record (only its digest is); triage_ticket keeps it as evidence in the confidential store, under the
event's id, for the policy's retention. A label whose evidence has expired (or whose digest does not
match the decision's) is counted and left out: nothing is trained on text past its retention.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from functions.shared.domain.decisions import digest
from functions.shared.ticket_model.training import Ticket

REVIEWER_RULES = ("reviewer-confirmed", "reviewer-override")


class ChainItems(Protocol):
    """An automation's decision records as stored, newest first (DecisionLog.chain_items)."""

    def __call__(self, automation: str) -> Iterator[dict[str, Any]]: ...


class Evidence(Protocol):
    def get(self, automation: str, event_id: str, now: datetime) -> dict[str, Any] | None: ...


@dataclass
class Labels:
    tickets: list[Ticket] = field(default_factory=list)
    # Reviewed decisions found in the window, and those left out (text expired, or not matching the record).
    reviewed: int = 0
    text_expired: int = 0
    text_mismatch: int = 0
    overridden: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "reviewed_decisions": self.reviewed,
            "labels_used": len(self.tickets),
            "reviewer_overrides": self.overridden,
            "left_out_text_expired": self.text_expired,
            "left_out_text_mismatch": self.text_mismatch,
        }


def reviewed_labels(automation: str, since: datetime, now: datetime, chain: ChainItems, evidence: Evidence) -> Labels:
    """Each event's reviewed category (the newest answer, if it was routed twice), with its ticket's text."""
    labels = Labels()
    seen: set[str] = set()
    cutoff = since.isoformat(timespec="milliseconds")
    for item in chain(automation):
        if item["recorded_at"] < cutoff:
            break
        body = json.loads(item["body"])
        if not _reviewed(body) or body["event_id"] in seen:
            continue
        seen.add(body["event_id"])
        labels.reviewed += 1
        kept = evidence.get(automation, body["event_id"], now)
        if kept is None:
            labels.text_expired += 1
            continue
        if digest(kept) != body.get("input_digest"):
            labels.text_mismatch += 1
            continue
        details = body["details"]
        labels.overridden += details["category"] != details.get("advisor_category")
        labels.tickets.append(Ticket(id=kept["ticket_id"], subject=kept["subject"], body=kept["body"], label=details["category"]))
    return labels


def _reviewed(body: dict[str, Any]) -> bool:
    details = body.get("details") or {}
    return (
        body.get("rule") in REVIEWER_RULES
        and details.get("decided_by") == "reviewer"
        and isinstance(details.get("category"), str)
        and not body.get("dry_run")
        and not body.get("shadow")
    )
