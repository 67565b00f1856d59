"""functions/emit_heartbeat/logic.py: pure, with an in-memory store and metric sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from functions.emit_heartbeat import logic
from functions.shared.domain.context import KeelContext
from tests.support.keel_context import keel_fields

SCHEDULED = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


class MemoryStore:
    def __init__(self, failure: Exception | None = None) -> None:
        self.items: list[dict[str, object]] = []
        self.failure = failure

    def put(self, values: dict[str, object]) -> None:
        if self.failure is not None:
            raise self.failure
        self.items.append(values)


class MetricLog:
    def __init__(self) -> None:
        self.points: list[tuple[str, str, float]] = []

    def add(self, name: str, value: float, unit: str) -> None:
        self.points.append((name, unit, value))


class Waiting:
    """The approvals table's pending requests, by when each expires."""

    def __init__(self, *expiries: datetime) -> None:
        self.expiries = list(expiries)

    def __call__(self) -> list[datetime]:
        return self.expiries


def beat(
    now: datetime, store: MemoryStore, emit: MetricLog, scheduled_at: datetime = SCHEDULED, pending: Waiting | None = None
) -> logic.Heartbeat:
    task = logic.HeartbeatInput(
        event_id="evt-1", execution="arn:exec:1", keel=KeelContext.model_validate(keel_fields()), time=scheduled_at
    )
    deps = logic.Dependencies(store=store, pending=pending or Waiting(), metrics=emit, clock=lambda: now, environment="dev")
    return logic.beat(task, deps)


def test_a_heartbeat_writes_a_probe_that_expires_and_emits_both_metrics() -> None:
    # Given the schedule fired 90 seconds before the function ran
    store, emit = MemoryStore(), MetricLog()
    now = SCHEDULED + timedelta(seconds=90)

    # When the heartbeat beats
    heartbeat = beat(now, store, emit)

    # Then one probe item is written for the environment, expiring a day later
    assert store.items == [
        {
            "id": "heartbeat#dev",
            "execution": "arn:exec:1",
            "scheduled_at": "2026-11-22T09:00:00+00:00",
            "beat_at": "2026-11-22T09:01:30+00:00",
            "expiration": int((now + timedelta(days=1)).timestamp()),
        }
    ]
    # And the Heartbeat, ScheduleLagSeconds and PendingApprovals metrics are emitted
    assert emit.points == [("Heartbeat", "Count", 1), ("ScheduleLagSeconds", "Seconds", 90.0), ("PendingApprovals", "Count", 0)]
    # And the output says the platform is alive
    assert heartbeat.as_output() == {
        "alive": True,
        "environment": "dev",
        "scheduled_at": "2026-11-22T09:00:00+00:00",
        "beat_at": "2026-11-22T09:01:30+00:00",
        "lag_seconds": 90.0,
        "pending_approvals": 0,
    }


def test_the_heartbeat_counts_the_approvals_still_waiting() -> None:
    # Given four requests marked pending: two expire after the beat, one expired before it (it has
    # escalated), one expires at the very instant of the beat (expired: request.expired is now >= expiry)
    store, emit = MemoryStore(), MetricLog()
    waiting = Waiting(
        SCHEDULED + timedelta(minutes=30), SCHEDULED + timedelta(hours=1), SCHEDULED - timedelta(minutes=1), SCHEDULED
    )

    # When the heartbeat beats / Then it reports the two still waiting
    assert beat(SCHEDULED, store, emit, pending=waiting).pending_approvals == 2
    assert ("PendingApprovals", "Count", 2) in emit.points


def test_a_clock_behind_the_schedule_reports_no_lag() -> None:
    # Given the function's clock reads two seconds before the scheduled time
    store, emit = MemoryStore(), MetricLog()

    # When the heartbeat beats / Then the lag is zero, never negative
    assert beat(SCHEDULED - timedelta(seconds=2), store, emit).lag_seconds == 0.0
    assert ("ScheduleLagSeconds", "Seconds", 0.0) in emit.points


def test_times_in_other_zones_are_compared_as_instants() -> None:
    # Given a "now" expressed in UTC+2, 30 seconds after the schedule
    store, emit = MemoryStore(), MetricLog()
    now = (SCHEDULED + timedelta(seconds=30)).astimezone(timezone(timedelta(hours=2)))

    # When the heartbeat beats / Then the lag is 30 seconds
    assert beat(now, store, emit).lag_seconds == 30.0


@pytest.mark.parametrize(
    ("scheduled_at", "now"),
    [(SCHEDULED.replace(tzinfo=None), SCHEDULED), (SCHEDULED, SCHEDULED.replace(tzinfo=None))],
    ids=["naive-schedule", "naive-now"],
)
def test_naive_datetimes_are_rejected_before_anything_is_written(scheduled_at, now) -> None:
    # Given a time without a zone
    store, emit = MemoryStore(), MetricLog()

    # When the heartbeat beats / Then it refuses, writing and emitting nothing (a naive schedule is
    # refused when the input is parsed, a naive clock by the logic)
    with pytest.raises(ValueError, match=r"timezone-aware|must carry a time zone"):
        beat(now, store, emit, scheduled_at=scheduled_at)
    assert store.items == []
    assert emit.points == []


def test_a_failed_probe_emits_no_heartbeat() -> None:
    # Given storage that fails (so the missing-heartbeat alarm must be able to fire)
    store, emit = MemoryStore(failure=RuntimeError("table unavailable")), MetricLog()

    # When the heartbeat beats / Then the failure propagates and no Heartbeat metric is emitted
    with pytest.raises(RuntimeError, match="table unavailable"):
        beat(SCHEDULED, store, emit)
    assert emit.points == []
