"""Claiming an event id: the first execution to claim it acts, every later delivery is a duplicate.

The state machine prologue (infra/asl.py) makes this same conditional write directly from Step
Functions; this helper is for code that handles events outside a workflow (redrive, replays) and
must agree with the prologue on the key, which is why both build it from CLAIM_PREFIX.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.shared.adapters.dynamodb import Table

CLAIM_PREFIX = "claim#"


def claim_key(automation: str, event_id: str) -> str:
    if not automation or not event_id:
        raise ValueError("a claim needs both the automation and the event id")
    return f"{CLAIM_PREFIX}{automation}#{event_id}"


@dataclass(frozen=True)
class Claim:
    claimed: bool
    # The execution that holds the claim: this one when claimed, the earlier one otherwise.
    holder: str | None


def claim_event(table: Table, automation: str, event_id: str, execution: str, claimed_at: str) -> Claim:
    key = claim_key(automation, event_id)
    if table.put_if_absent({"id": key, "execution": execution, "claimed_at": claimed_at}, key_attribute="id"):
        return Claim(claimed=True, holder=execution)
    existing = table.get({"id": key})
    return Claim(claimed=False, holder=existing.get("execution") if existing else None)
