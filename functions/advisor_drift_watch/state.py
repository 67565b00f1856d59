"""What the watch keeps between runs: where it stopped reading, and each signal's detector.

One item in the limits table (pk `drift-watch#<automation>`, sk `state`), replaced by a conditional
write on its revision: two overlapping runs cannot both advance it, the second fails with
ConflictError and its retry reads again from where the first stopped. The item is refreshed every run
and expires (the table's TTL) after EXPIRES_DAYS without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.shared.adapters.dynamodb import Expression, Table
from functions.shared.runtime.errors import ConflictError

EXPIRES_DAYS = 90


@dataclass
class SignalState:
    """One signal's detector and the observations it has seen since it last started."""

    detector: dict[str, Any] | None = None
    # The latest observations (at most the configuration's `recent`): the level after a change.
    recent: list[float] = field(default_factory=list)
    # Count and sum of every observation since the detector started: with `recent`, the level before.
    count: int = 0
    total: float = 0.0


@dataclass
class WatchState:
    automation: str
    revision: int = 0
    # The last decision-record seq read; None before the first run.
    after_seq: int | None = None
    # The live model the detectors are watching: a new one starts them afresh.
    model_version: str | None = None
    signals: dict[str, SignalState] = field(default_factory=dict)
    # The last drift reported: {"drift_id", "model_version", "at"}. Until the model changes or the
    # cooldown passes, another drift of the same model is not reported again.
    reported: dict[str, str] | None = None
    # The run that last saved, and what it answered: a retried run answers the same.
    last_execution: str | None = None
    last_result: dict[str, Any] | None = None

    def as_item(self, now: datetime) -> dict[str, Any]:
        return {
            **key(self.automation),
            "revision": self.revision,
            "after_seq": self.after_seq,
            "model_version": self.model_version,
            "signals": {name: vars(signal) for name, signal in self.signals.items()},
            "reported": self.reported,
            "last_execution": self.last_execution,
            "last_result": self.last_result,
            "expires": int((now + timedelta(days=EXPIRES_DAYS)).timestamp()),
        }

    @classmethod
    def from_item(cls, automation: str, item: dict[str, Any] | None) -> WatchState:
        if item is None:
            return cls(automation)
        signals = {name: SignalState(**values) for name, values in (item.get("signals") or {}).items()}
        return cls(
            automation=automation,
            revision=int(item["revision"]),
            after_seq=item.get("after_seq"),
            model_version=item.get("model_version"),
            signals=signals,
            reported=item.get("reported"),
            last_execution=item.get("last_execution"),
            last_result=item.get("last_result"),
        )


def key(automation: str) -> dict[str, str]:
    return {"pk": f"drift-watch#{automation}", "sk": "state"}


class StateStore:
    """The state item in the limits table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def load(self, automation: str) -> WatchState:
        return WatchState.from_item(automation, self.table.get(key(automation)))

    def save(self, state: WatchState, now: datetime) -> None:
        """Write the state as revision + 1, only if nobody saved since it was loaded."""
        loaded = state.revision
        state.revision += 1
        condition = Expression("attribute_not_exists(pk) OR revision = :loaded", values={":loaded": loaded})
        refused = self.table.put_unless_held(state.as_item(now), condition)
        if refused is not None:
            state.revision = loaded
            raise ConflictError(
                f"the drift watch state of {state.automation} moved on (revision {refused.get('revision')}, "
                f"this run loaded {loaded}): another run saved first"
            )
