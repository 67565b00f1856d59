"""Keel's limits, decided by conditional writes to the limits table (keel-<env>-limits).

No limit is decided by reading what others did and writing afterwards: two executions that read at
the same moment would both pass. Each limit is an item that one conditional write takes, so of two
executions racing for it exactly one wins, and the loser's refusal names the winner (DynamoDB returns
the item that failed the condition in the same request).

Items (pk / sk). `holder` is the execution that holds an item, `until` when it stops holding it
(epoch milliseconds), `expires` the table's TTL attribute (epoch seconds), so nothing that nobody
gives back lives forever:

  cooldown#<resource> / lease              one per resource: which execution may act on it, until when
  blast#<automation> / slot#<nnnn>         the automation's action slots: a plan takes one for the
                                           window, so at most N plans (waiting or acted) per window
  concurrency#<automation>[#<key>] / slot#<nnnn>   slots of a workflow's acting section, each a lease
                                           that lasts at most the workflow's timeout
  debounce#<automation>#<key> / burst      functions/shared/domain/debounce.py

An execution gives back only what it holds (a delete conditional on `holder`), so giving back twice,
or after the slot went to someone else, changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.shared.adapters.dynamodb import Expression, Table
from functions.shared.runtime.errors import TransientError

# What nobody gives back stays a day past its end, then DynamoDB's TTL removes it.
KEEP_AFTER = timedelta(days=1)
# Rounds of "read the slots, try the free ones" before giving up on a contended pool for this try
# (each lost round means other executions took the slots this one tried).
SLOT_ROUNDS = 4
# Longest key value kept as written in a partition key; longer ones are replaced by their digest.
KEY_CHARS = 512
HOLDER_OR_FREE = "attribute_not_exists(pk) OR #until <= :now OR #holder = :me"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def at(value: int) -> str:
    """An epoch-milliseconds time as people read it in a refusal."""
    return from_ms(value).isoformat(timespec="seconds")


def key_part(value: str) -> str:
    """A value (an alarm name, a resource) as part of a partition key: as written when short enough."""
    if len(value) <= KEY_CHARS:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Lease:
    """Something an execution holds: a cooldown lease or a slot. `ref` is what the workflow carries
    to give it back."""

    pk: str
    sk: str
    holder: str
    until: int

    @property
    def ref(self) -> dict[str, str]:
        return {"pk": self.pk, "sk": self.sk}


@dataclass(frozen=True)
class Held:
    """What stopped a take: the item another execution holds."""

    holder: str
    until: int
    about: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Full:
    """Every slot of a pool is taken: by whom, and until when."""

    held: list[Held]

    @property
    def next_free(self) -> int:
        return min(item.until for item in self.held)


@dataclass(frozen=True)
class SlotPool:
    """`size` slots under one partition key; a taken slot stays taken for `hold` unless given back."""

    pk: str
    size: int
    hold: timedelta
    # Stored on each slot taken, so a refusal can say what holds it (automation, runbook, resource).
    about: dict[str, Any] = field(default_factory=dict)

    def slot_keys(self) -> list[str]:
        return [f"slot#{index:04d}" for index in range(self.size)]


def cooldown_key(resource: str) -> dict[str, str]:
    return {"pk": f"cooldown#{key_part(resource)}", "sk": "lease"}


def blast_pool(automation: str, cap: int, window: timedelta, about: dict[str, Any]) -> SlotPool:
    return SlotPool(pk=f"blast#{automation}", size=cap, hold=window, about=about)


def concurrency_pool(automation: str, key: str | None, size: int, lease: timedelta) -> SlotPool:
    pk = f"concurrency#{automation}" + (f"#{key_part(key)}" if key is not None else "")
    return SlotPool(pk=pk, size=size, hold=lease, about={"automation": automation, "key": key})


class LimitStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # --- Cooldown: one lease per resource -------------------------------------------------------

    def hold_cooldown(self, resource: str, holder: str, now: datetime, hold: timedelta, about: dict[str, Any]) -> Lease | Held:
        """Take (or, for its holder, renew) the resource's lease until now + hold, unless another
        execution holds it: absent, expired, or already this execution's."""
        key = cooldown_key(resource)
        return self._take(key, holder, now, hold, about)

    def cooldown_holder(self, resource: str, holder: str, now: datetime) -> Held | None:
        """Who else holds the resource's lease now (a dry run looks, it does not take)."""
        item = self.table.get(cooldown_key(resource))
        if item is None or int(item["until"]) <= epoch_ms(now) or item["holder"] == holder:
            return None
        return _held(item)

    # --- Slot pools: blast radius and concurrency -----------------------------------------------

    def take_slot(self, pool: SlotPool, holder: str, now: datetime) -> Lease | Full:
        """A free slot of the pool (absent or past its `until`), taken with one conditional write per
        try; the slot this execution already holds when it asks again (a retried task)."""
        for _round in range(SLOT_ROUNDS):
            slots = self._slots(pool)
            mine = _held_by(slots, holder, now)
            if mine is not None:
                return mine
            free = [sk for sk in pool.slot_keys() if sk not in slots or int(slots[sk]["until"]) <= epoch_ms(now)]
            if not free:
                return Full([_held(slots[sk]) for sk in pool.slot_keys()])
            for sk in _rotated(free, holder):
                taken = self._take({"pk": pool.pk, "sk": sk}, holder, now, pool.hold, pool.about)
                if isinstance(taken, Lease):
                    return taken
        raise TransientError(
            f"{pool.pk}: other executions took every free slot this one tried, {SLOT_ROUNDS} times over; retrying"
        )

    def slots_in_use(self, pool: SlotPool, now: datetime) -> list[Held]:
        """The pool's slots taken now (a dry run counts, it does not take)."""
        slots = self._slots(pool)
        return [_held(slots[sk]) for sk in pool.slot_keys() if sk in slots and int(slots[sk]["until"]) > epoch_ms(now)]

    # --- Giving back ----------------------------------------------------------------------------

    def release(self, ref: dict[str, str], holder: str) -> bool:
        """Give back what `holder` holds; False when it holds it no longer (given back, or expired
        and taken by another execution): nothing changes then."""
        return self.table.delete_if(
            {"pk": ref["pk"], "sk": ref["sk"]}, Expression("#holder = :me", {"#holder": "holder"}, {":me": holder})
        )

    def _take(self, key: dict[str, str], holder: str, now: datetime, hold: timedelta, about: dict[str, Any]) -> Lease | Held:
        until = epoch_ms(now + hold)
        item = {
            **about,
            **key,
            "holder": holder,
            "taken_at": epoch_ms(now),
            "until": until,
            "expires": int((now + hold + KEEP_AFTER).timestamp()),
        }
        condition = Expression(HOLDER_OR_FREE, {"#until": "until", "#holder": "holder"}, {":now": epoch_ms(now), ":me": holder})
        refused = self.table.put_unless_held(item, condition)
        if refused is None:
            return Lease(pk=key["pk"], sk=key["sk"], holder=holder, until=until)
        return _held(refused)

    def _slots(self, pool: SlotPool) -> dict[str, dict[str, Any]]:
        items = self.table.query("pk = :pk", {":pk": pool.pk}, consistent=True)
        return {str(item["sk"]): item for item in items}


def _held(item: dict[str, Any]) -> Held:
    about = {key: value for key, value in item.items() if key not in ("pk", "sk", "holder", "until", "expires", "taken_at")}
    return Held(holder=str(item.get("holder", "?")), until=int(item.get("until", 0)), about=about)


def _held_by(slots: dict[str, dict[str, Any]], holder: str, now: datetime) -> Lease | None:
    for sk, item in slots.items():
        if item.get("holder") == holder and int(item["until"]) > epoch_ms(now):
            return Lease(pk=str(item["pk"]), sk=sk, holder=holder, until=int(item["until"]))
    return None


def _rotated(free: list[str], holder: str) -> list[str]:
    """The free slots, starting at a place that depends on the holder: executions racing for a pool
    mostly try different slots first instead of all losing the same one."""
    start = int(hashlib.sha256(holder.encode()).hexdigest()[:8], 16) % len(free)
    return free[start:] + free[:start]
