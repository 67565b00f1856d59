"""Take and give back the slots of an automation's concurrency limit, and give back any limit an
execution holds (a cooldown lease, an action slot) when its plan is not carried out.

Keel inserts the states that call this module (infra/limit_states.py): KeelAcquireConcurrency before
the section a manifest's `limits.concurrency` covers, a release on every way out of it. A full limit
raises ConcurrencyLimitReached, naming who holds the slots and until when: the workflow retries it
with backoff for the wait the manifest allows, then records the refusal and pages the owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from functions.shared.domain.context import TaskInput
from functions.shared.domain.limits import Full, Held, Lease, SlotPool, at, concurrency_pool
from functions.shared.runtime.contract import ConfigDict, Field, Model, model_validator
from functions.shared.runtime.errors import ConcurrencyLimitReached

# Refusals name this many holders at most; the rest are counted.
NAMED_HOLDERS = 5


class LeaseRef(Model):
    """A held item, as the workflow carries it: its key in the limits table."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pk: str = Field(min_length=1)
    sk: str = Field(min_length=1)


class Limit(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The manifest's limits.concurrency.max in this environment ($.keel.limits.max_concurrency).
    max: int = Field(ge=1, le=1000)
    # The value of the manifest's key in this execution (one limit per value); absent: one for the automation.
    key: str | int | float | bool | None = None
    # A slot outlives no execution: the workflow's timeout.
    lease_seconds: int = Field(ge=1)


class SlotsInput(TaskInput):
    step: str = Field(min_length=1)
    operation: Literal["acquire", "release"]
    limit: Limit | None = None
    lease: LeaseRef | None = None
    leases: list[LeaseRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits_operation(self) -> SlotsInput:
        if self.operation == "acquire" and self.limit is None:
            raise ValueError("acquire needs `limit`")
        if self.operation == "release" and self.limit is not None:
            raise ValueError("release takes `lease` or `leases`, not `limit`")
        return self


class Slots(Protocol):
    def take_slot(self, pool: SlotPool, holder: str, now: datetime) -> Lease | Full: ...

    def release(self, ref: dict[str, str], holder: str) -> bool: ...


@dataclass(frozen=True)
class Dependencies:
    slots: Slots
    clock: Callable[[], datetime]


def apply(task: SlotsInput, deps: Dependencies) -> dict[str, Any]:
    if task.limit is not None:
        return acquire(task, task.limit, deps)
    return release(task, deps)


def acquire(task: SlotsInput, limit: Limit, deps: Dependencies) -> dict[str, Any]:
    key = None if limit.key is None else str(limit.key)
    pool = concurrency_pool(task.keel.limit_scope, key, limit.max, timedelta(seconds=limit.lease_seconds))
    taken = deps.slots.take_slot(pool, task.execution, deps.clock())
    if isinstance(taken, Full):
        raise ConcurrencyLimitReached(refusal(task.keel.automation, key, limit.max, taken.held))
    return {**taken.ref, "until": at(taken.until)}


def refusal(automation: str, key: str | None, size: int, held: list[Held]) -> str:
    scope = f"{automation} for {key}" if key is not None else automation
    named = ", ".join(
        f"{item.holder} until {at(item.until)}" for item in sorted(held, key=lambda item: item.until)[:NAMED_HOLDERS]
    )
    more = f" and {len(held) - NAMED_HOLDERS} more" if len(held) > NAMED_HOLDERS else ""
    return f"all {size} concurrency slots of {scope} are held: {named}{more}"


def release(task: SlotsInput, deps: Dependencies) -> dict[str, Any]:
    refs = ([task.lease] if task.lease is not None else []) + task.leases
    released = [ref for ref in refs if deps.slots.release({"pk": ref.pk, "sk": ref.sk}, task.execution)]
    return {"released": len(released), "no_longer_held": len(refs) - len(released)}
