"""The limit_slots and debounce_event modules' inputs and answers, with in-memory stand-ins for the table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from functions.debounce_event import logic as debounce
from functions.limit_slots import logic as slots
from functions.shared.domain.debounce import Arrival, Settled, Window
from functions.shared.domain.limits import Full, Held, Lease, SlotPool, epoch_ms
from functions.shared.runtime.errors import ConcurrencyLimitReached, InvalidInputError
from functions.shared.runtime.handler import parse
from tests.support.keel_context import keel_fields

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
HEADER = {"event_id": "event-1", "execution": "exec-1", "keel": keel_fields(automation="alarm_remediation"), "step": "Keel"}


class Pools:
    """Slots in memory: `full` pools refuse, naming their holders; everything given back is noted."""

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self.asked: list[SlotPool] = []
        self.given_back: list[dict[str, str]] = []

    def take_slot(self, pool: SlotPool, holder: str, now: datetime) -> Lease | Full:
        self.asked.append(pool)
        if self.full:
            return Full([Held(f"exec-{n}", epoch_ms(now) + n * 60_000) for n in range(pool.size)])
        return Lease(pool.pk, "slot#0000", holder, epoch_ms(now) + 60_000)

    def release(self, ref: dict[str, str], holder: str) -> bool:
        self.given_back.append(ref)
        return ref["sk"] != "gone"


def slots_task(**fields: Any) -> slots.SlotsInput:
    return parse(slots.SlotsInput, HEADER | fields)


def test_a_slot_is_taken_per_key_for_the_workflows_timeout() -> None:
    # Given a limit of 5 per alarm / When an execution asks
    pools = Pools()
    answer = slots.apply(
        slots_task(operation="acquire", limit={"max": 5, "key": "orders-api-5xx", "lease_seconds": 7200}),
        slots.Dependencies(pools, lambda: NOW),
    )

    # Then it holds a slot of that alarm's pool, and says which, for the release
    assert answer == {
        "pk": "concurrency#alarm_remediation#orders-api-5xx",
        "sk": "slot#0000",
        "until": "2026-11-22T03:01:00+00:00",
    }
    assert (pools.asked[0].size, pools.asked[0].hold.total_seconds()) == (5, 7200)


def test_a_full_limit_raises_the_error_the_workflow_waits_on_naming_the_holders() -> None:
    # Given every slot held / When an execution asks / Then it is told who holds them and until when
    with pytest.raises(ConcurrencyLimitReached) as full:
        slots.apply(
            slots_task(operation="acquire", limit={"max": 7, "lease_seconds": 60}),
            slots.Dependencies(Pools(full=True), lambda: NOW),
        )
    assert str(full.value).startswith(
        "all 7 concurrency slots of alarm_remediation are held: exec-0 until 2026-11-22T03:00:00+00:00, exec-1 until "
    )
    assert str(full.value).endswith("and 2 more")


def test_a_release_gives_back_what_it_is_handed_and_counts_what_was_no_longer_held() -> None:
    pools = Pools()
    answer = slots.apply(
        slots_task(
            operation="release", lease={"pk": "concurrency#a", "sk": "slot#0001"}, leases=[{"pk": "cooldown#r", "sk": "gone"}]
        ),
        slots.Dependencies(pools, lambda: NOW),
    )
    assert answer == {"released": 1, "no_longer_held": 1}
    assert pools.given_back == [{"pk": "concurrency#a", "sk": "slot#0001"}, {"pk": "cooldown#r", "sk": "gone"}]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"operation": "acquire"}, "acquire needs `limit`"),
        ({"operation": "release", "limit": {"max": 1, "lease_seconds": 1}}, "release takes `lease` or `leases`"),
        (
            {"operation": "acquire", "limit": {"max": 0, "lease_seconds": 1}},
            "limit.max: Input should be greater than or equal to 1",
        ),
        ({"operation": "take"}, "operation: Input should be 'acquire' or 'release'"),
    ],
)
def test_malformed_slot_requests_are_invalid_input_naming_the_field(fields, problem) -> None:
    with pytest.raises(InvalidInputError, match=problem.replace("(", r"\(").replace("`", ".")):
        slots_task(**fields)


class Bursts:
    def __init__(self) -> None:
        self.arrivals: list[tuple[str, Arrival]] = []

    def register(self, arrival: Arrival, now: datetime, window: Window) -> int:
        self.arrivals.append(("register", arrival))
        return window.seconds

    def settle(self, arrival: Arrival, now: datetime) -> Settled:
        self.arrivals.append(("settle", arrival))
        return Settled(run=False, superseded_by="event-9", reason="newer")


def test_debounce_registers_then_settles_under_the_events_key() -> None:
    bursts = Bursts()
    deps = debounce.Dependencies(bursts, lambda: NOW)
    window = {"key": 42, "window_seconds": 60, "max_wait_seconds": 300}

    registered = debounce.debounce(parse(debounce.DebounceInput, HEADER | window | {"phase": "register"}), deps)
    settled = debounce.debounce(parse(debounce.DebounceInput, HEADER | window | {"phase": "settle"}), deps)

    assert registered == {"wait_seconds": 60}
    assert settled == {"run": False, "superseded_by": "event-9", "reason": "newer"}
    assert [(phase, arrival.key) for phase, arrival in bursts.arrivals] == [("register", "42"), ("settle", "42")]


def test_a_debounce_key_that_is_not_one_value_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="key"):
        parse(
            debounce.DebounceInput,
            HEADER | {"phase": "register", "key": {"nested": 1}, "window_seconds": 1, "max_wait_seconds": 1},
        )
