"""Claiming an event id: the first execution to claim it acts, every later delivery is a duplicate,
unless the holder failed.

The state machine prologue (infra/asl.py) makes the claim with a conditional write straight from Step
Functions, and Keel's failure path marks it failed (infra/workflow_defaults.py); these helpers are for
code that handles events outside a workflow (`keel ops redrive --failed`), and they agree with both on
the key, the states and the expiry because both build them from here.

A claim item: id `claim#<automation>#<event id>`, the holding `execution`, `claimed_at`, `status`
(`running`, which it stays once its execution succeeds, or `failed`) and `expiration`, the
idempotency table's TTL attribute (epoch seconds): 1 January, CLAIM_LIFETIME_YEARS after the claim's
year. A claim whose holder timed out or was aborted stays `running`: its execution may have acted
part way, so only an operator runs it again (`keel ops redrive --failed`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.dynamodb import Expression, Table

CLAIM_PREFIX = "claim#"
# The idempotency table's TTL attribute (infra/constructs/platform.py), the name Powertools' layer uses.
TTL_ATTRIBUTE = "expiration"
RUNNING, FAILED = "running", "failed"
CLAIM_LIFETIME_YEARS = 2


def claim_key(automation: str, event_id: str) -> str:
    if not automation or not event_id:
        raise ValueError("a claim needs both the automation and the event id")
    return f"{CLAIM_PREFIX}{automation}#{event_id}"


def claim_expiry(year: int) -> int:
    """When a claim made in `year` expires: 1 January, CLAIM_LIFETIME_YEARS later (epoch seconds).
    At least a year: far beyond any re-delivery of its event (EventBridge retries for at most 24
    hours, a dead-letter queue keeps an event 14 days, Step Functions redrives 14 days back)."""
    return calendar.timegm((year + CLAIM_LIFETIME_YEARS, 1, 1, 0, 0, 0))


@dataclass(frozen=True)
class Claim:
    claimed: bool
    # The execution that holds the claim: this one when claimed, the earlier one otherwise.
    holder: str | None


def claim_event(table: Table, automation: str, event_id: str, execution: str, claimed_at: str) -> Claim:
    """The prologue's claim (claimed_at in ISO 8601): free, or held by an execution that failed."""
    key = claim_key(automation, event_id)
    item = {
        "id": key,
        "execution": execution,
        "claimed_at": claimed_at,
        "status": RUNNING,
        TTL_ATTRIBUTE: claim_expiry(int(claimed_at[:4])),
    }
    # The item that stopped the write comes back with the refusal: no second read that could be stale.
    stopped = table.put_unless_held(
        item, Expression("attribute_not_exists(id) OR #status = :failed", {"#status": "status"}, {":failed": FAILED})
    )
    if stopped is None:
        return Claim(claimed=True, holder=execution)
    return Claim(claimed=False, holder=stopped.get("execution") or None)


def read_claim(table: Table, automation: str, event_id: str) -> dict[str, Any] | None:
    return table.get({"id": claim_key(automation, event_id)})


def release(table: Table, automation: str, event_id: str, holder: str, at: str) -> bool:
    """Mark a running claim failed, only while `holder` holds it (what Keel's failure path does for
    an execution that fails); False when another execution holds it, or it is not running."""
    written, _refused = table.update_if(
        {"id": claim_key(automation, event_id)},
        Expression("SET #status = :failed, failed_at = :at", {"#status": "status"}, {":failed": FAILED, ":at": at}),
        Expression(
            "#execution = :holder AND #status = :running",
            {"#execution": "execution", "#status": "status"},
            {":holder": holder, ":running": RUNNING},
        ),
    )
    return written is not None
