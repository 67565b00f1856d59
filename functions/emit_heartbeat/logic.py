"""The heartbeat: probe the platform's storage, report how late the schedule fired and how many
approvals wait (the platform dashboard's PendingApprovals: no other Keel code sees a wait end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from functions.shared.domain.context import TaskInput
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import field_validator

PROBE_TTL = timedelta(days=1)


class HeartbeatInput(TaskInput):
    # The scheduled event's time: when EventBridge meant the heartbeat to fire.
    time: datetime

    @field_validator("time")
    @classmethod
    def _has_a_time_zone(cls, time: datetime) -> datetime:
        # Lag is measured against the clock's UTC time: a time without a zone cannot be compared to it.
        if time.tzinfo is None or time.utcoffset() is None:
            raise ValueError("must carry a time zone, as EventBridge's does (2026-11-22T09:00:00Z)")
        return time


class ProbeStore(Protocol):
    def put(self, values: dict[str, object]) -> None: ...


class MetricSink(Protocol):
    def add(self, name: str, value: float, unit: str) -> None: ...


class PendingApprovals(Protocol):
    """When each request still marked pending expires (an expired one has escalated, whatever its mark)."""

    def __call__(self) -> list[datetime]: ...


@dataclass(frozen=True)
class Dependencies:
    # The platform table the probe item goes to.
    store: ProbeStore
    pending: PendingApprovals
    metrics: MetricSink
    clock: Clock
    # The function's environment (KEEL_ENVIRONMENT): the probe item is the environment's.
    environment: str


@dataclass(frozen=True)
class Heartbeat:
    environment: str
    scheduled_at: datetime
    beat_at: datetime
    lag_seconds: float
    execution: str
    pending_approvals: int

    def as_output(self) -> dict[str, object]:
        return {
            "alive": True,
            "environment": self.environment,
            "scheduled_at": self.scheduled_at.isoformat(),
            "beat_at": self.beat_at.isoformat(),
            "lag_seconds": self.lag_seconds,
            "pending_approvals": self.pending_approvals,
        }


def beat(task: HeartbeatInput, deps: Dependencies) -> Heartbeat:
    """Write the probe item (a failure raises, failing the execution and paging), then emit metrics."""
    scheduled_at, now = task.time, deps.clock()
    if scheduled_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("heartbeat times must be timezone-aware")
    lag = max(0.0, (now - scheduled_at).total_seconds())
    deps.store.put(
        {
            "id": f"heartbeat#{deps.environment}",
            "execution": task.execution,
            "scheduled_at": scheduled_at.isoformat(),
            "beat_at": now.isoformat(),
            "expiration": int((now + PROBE_TTL).timestamp()),
        }
    )
    waiting = sum(1 for expires_at in deps.pending() if now < expires_at)
    deps.metrics.add("Heartbeat", 1, "Count")
    deps.metrics.add("ScheduleLagSeconds", lag, "Seconds")
    deps.metrics.add("PendingApprovals", waiting, "Count")
    return Heartbeat(
        environment=deps.environment,
        scheduled_at=scheduled_at,
        beat_at=now,
        lag_seconds=lag,
        execution=task.execution,
        pending_approvals=waiting,
    )
