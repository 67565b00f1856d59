"""What a triage decision was made on, kept for a limited time so `keel ops replay` can re-evaluate it.

The decision record keeps only a digest of the input (it is retained for years and hash-chained, so
nothing in it can be erased). The ticket text itself is confidential customer data: it is kept in the
platform's KMS-encrypted confidential store (only the roles that ask for it reach it), with its TTL set to the policy's
`evidence_retention_days`, and without the customer's identity (only the tier the policy uses).
Replay checks the stored evidence against the recorded digest, so it cannot be swapped unnoticed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.contracts.ticket_created import TicketCreated
from functions.shared.domain.decisions import canonical


def evidence_of(ticket: TicketCreated) -> dict[str, Any]:
    """The fields the advisor and the policy read, and nothing that identifies the customer."""
    return {
        "ticket_id": ticket.ticket_id,
        "subject": ticket.subject,
        "body": ticket.body,
        "customer_tier": ticket.customer.tier,
        "channel": ticket.channel,
        "created_at": ticket.created_at.isoformat(),
        "language": ticket.language,
    }


def ticket_from_evidence(evidence: dict[str, Any]) -> TicketCreated:
    return TicketCreated.model_validate(
        {
            "ticket_id": evidence["ticket_id"],
            "subject": evidence["subject"],
            "body": evidence["body"],
            "customer": {"id": "redacted", "tier": evidence["customer_tier"]},
            "channel": evidence["channel"],
            "created_at": evidence["created_at"],
            "language": evidence["language"],
        }
    )


def _key(automation: str, event_id: str) -> str:
    return f"evidence#{automation}#{event_id}"


class EvidenceStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def keep(self, automation: str, event_id: str, evidence: dict[str, Any], expires_at: datetime) -> None:
        self.table.put(
            {"id": _key(automation, event_id), "evidence": canonical(evidence), "expiration": int(expires_at.timestamp())}
        )

    def get(self, automation: str, event_id: str, now: datetime) -> dict[str, Any] | None:
        """The evidence, or None when it was never kept or its retention has passed (TTL deletes lazily)."""
        item = self.table.get({"id": _key(automation, event_id)})
        if item is None or int(item["expiration"]) <= now.timestamp():
            return None
        evidence: dict[str, Any] = json.loads(item["evidence"])
        return evidence
