"""The heartbeat: probe the platform's storage, report how late the schedule fired and how many
approvals wait (the platform dashboard's PendingApprovals: no other Keel code sees a wait end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

PROBE_TTL = timedelta(days=1)


class ProbeStore(Protocol):
    def put(self, values: dict[str, object]) -> None: ...


class MetricSink(Protocol):
    def __call__(self, name: str, unit: str, value: float) -> None: ...


class PendingApprovals(Protocol):
    """When each request still marked pending expires (an expired one has escalated, whatever its mark)."""

    def __call__(self) -> list[datetime]: ...


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


def beat(
    *,
    environment: str,
    scheduled_at: datetime,
    now: datetime,
    execution: str,
    store: ProbeStore,
    pending: PendingApprovals,
    emit: MetricSink,
) -> Heartbeat:
    """Write the probe item (a failure raises, failing the execution and paging), then emit metrics."""
    if scheduled_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("heartbeat times must be timezone-aware")
    lag = max(0.0, (now - scheduled_at).total_seconds())
    store.put(
        {
            "id": f"heartbeat#{environment}",
            "execution": execution,
            "scheduled_at": scheduled_at.isoformat(),
            "beat_at": now.isoformat(),
            "expiration": int((now + PROBE_TTL).timestamp()),
        }
    )
    waiting = sum(1 for expires_at in pending() if now < expires_at)
    emit("Heartbeat", "Count", 1)
    emit("ScheduleLagSeconds", "Seconds", lag)
    emit("PendingApprovals", "Count", waiting)
    return Heartbeat(
        environment=environment,
        scheduled_at=scheduled_at,
        beat_at=now,
        lag_seconds=lag,
        execution=execution,
        pending_approvals=waiting,
    )
