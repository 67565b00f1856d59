"""Debounce a storm of events: register each event of a key's burst, then settle which one runs.

Keel inserts the states that call this module in front of a workflow whose manifest declares
`trigger.debounce` (infra/limit_states.py): KeelDebounce registers the event and says how long to
wait, a Wait state waits, KeelDebounceSettle decides. The latest event of the burst runs the
workflow; every other one ends as debounced, recorded with the event that superseded it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from functions.shared.domain.context import TaskInput
from functions.shared.domain.debounce import Arrival, Settled, Window
from functions.shared.runtime.contract import Field


class DebounceInput(TaskInput):
    step: str = Field(min_length=1)
    phase: Literal["register", "settle"]
    # The value of the manifest's trigger.debounce.key in this event.
    key: str | int | float | bool
    window_seconds: int = Field(ge=1)
    max_wait_seconds: int = Field(ge=1)


class Bursts(Protocol):
    def register(self, arrival: Arrival, now: datetime, window: Window) -> int: ...

    def settle(self, arrival: Arrival, now: datetime) -> Settled: ...


@dataclass(frozen=True)
class Dependencies:
    bursts: Bursts
    clock: Callable[[], datetime]


def debounce(task: DebounceInput, deps: Dependencies) -> dict[str, Any]:
    arrival = Arrival(automation=task.keel.limit_scope, key=str(task.key), event_id=task.event_id, execution=task.execution)
    now = deps.clock()
    if task.phase == "register":
        window = Window(seconds=task.window_seconds, max_wait_seconds=task.max_wait_seconds)
        return {"wait_seconds": deps.bursts.register(arrival, now, window)}
    settled = deps.bursts.settle(arrival, now)
    return {"run": settled.run, "superseded_by": settled.superseded_by, "reason": settled.reason}
