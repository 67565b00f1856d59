"""Debouncing a storm: a burst of events with the same key runs the workflow once, on the latest.

One item per (automation, key) in the limits table, pk `debounce#<automation>#<key>` / sk `burst`:
the latest event to arrive (its id and execution), and when the burst started. Every execution of
the burst registers (one update: it becomes the latest; the burst's start is kept), waits, then
settles: a conditional update that succeeds only for the latest event. That one runs the workflow
and ends the burst; every other one ends as debounced, superseded by the latest. An execution waits
`window` after it arrives, but never past the burst's start + `max_wait`, so a key that never stops
firing still runs at least once per `max_wait`: whichever event is the latest at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.shared.adapters.dynamodb import Expression, Table
from functions.shared.domain.limits import KEEP_AFTER, epoch_ms, key_part

BURST = "burst"


@dataclass(frozen=True)
class Window:
    seconds: int
    max_wait_seconds: int


@dataclass(frozen=True)
class Arrival:
    """One event of a burst: which automation, its debounce key, the event and its execution."""

    automation: str
    key: str
    event_id: str
    execution: str


@dataclass(frozen=True)
class Settled:
    run: bool
    # The event that runs instead of this one, when this one is debounced.
    superseded_by: str | None
    reason: str


def burst_key(automation: str, key: str) -> dict[str, str]:
    return {"pk": f"debounce#{automation}#{key_part(key)}", "sk": BURST}


class Debouncer:
    def __init__(self, table: Table) -> None:
        self.table = table

    def register(self, arrival: Arrival, now: datetime, window: Window) -> int:
        """Make this event the latest of its key's burst (starting one if none is open); returns how
        many seconds to wait before settling."""
        expires = int((now + timedelta(seconds=window.max_wait_seconds + window.seconds) + KEEP_AFTER).timestamp())
        update = Expression(
            "SET latest_event = :event, latest_execution = :execution, latest_at = :now, "
            "burst_started = if_not_exists(burst_started, :now), expires = :expires",
            values={":event": arrival.event_id, ":execution": arrival.execution, ":now": epoch_ms(now), ":expires": expires},
        )
        written, _refused = self.table.update_if(burst_key(arrival.automation, arrival.key), update)
        started = int((written or {}).get("burst_started", epoch_ms(now)))
        until_max_wait = (started + window.max_wait_seconds * 1000 - epoch_ms(now)) // 1000
        return max(0, min(window.seconds, until_max_wait))

    def settle(self, arrival: Arrival, now: datetime) -> Settled:
        """Run if this event is still the latest of its burst (and end the burst); otherwise debounced."""
        update = Expression("SET settled_event = :event, settled_at = :now REMOVE burst_started", values={":now": epoch_ms(now)})
        condition = Expression(
            "attribute_not_exists(pk) OR latest_execution = :execution",
            values={":execution": arrival.execution, ":event": arrival.event_id},
        )
        _written, refused = self.table.update_if(burst_key(arrival.automation, arrival.key), update, condition)
        if refused is None:
            return Settled(run=True, superseded_by=None, reason=f"the latest event for {arrival.key}: it runs")
        latest = str(refused.get("latest_event", "?"))
        return Settled(
            run=False,
            superseded_by=latest,
            reason=f"a newer event for {arrival.key} arrived within the debounce window: event {latest} runs instead",
        )
