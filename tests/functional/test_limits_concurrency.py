"""Limits under real concurrency: many threads through the real DynamoDB adapter against moto.

Each test starts its executions at once, from threads, on the limits, decisions and approvals tables
the synthesized template declares. DynamoDB applies each request atomically; moto evaluates a
condition and writes in Python, so moto is used as the local cloud patches it (one request at a
time, transactions without copying whole tables). That makes no one's reads and writes one step: a
guardrail that reads and then writes still races. To make that race certain instead of likely,
every read of earlier decisions waits at a barrier until all threads have read (the guardrails
read none now, so the barrier changes nothing for them).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters import aws
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import Decision, DecisionLog, DecisionRecord
from functions.shared.remediation.plan import PlanInput
from functions.shared.runtime.errors import ConflictError
from keel.local import moto_patches
from tests.support.keel_context import keel_fields
from tests.support.moto_hooks import IdleHooks
from tests.support.platform_tables import create_tables_from_template

T = TypeVar("T")
THREADS = 50
RESOURCE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:run-{}"
LIMITS_TABLE = "keel-dev-limits"


@pytest.fixture
def tables(synthesized: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws(), moto_patches.installed(IdleHooks()):
        aws.client.cache_clear()
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_tables_from_template(dynamodb, synthesized.template("dev"))
        for name, value in {
            "KEEL_ENVIRONMENT": "dev",
            "KEEL_DECISION_WRITER": "keel-dev-alarm_remediation-record_decision",
            "KEEL_OVERRIDES_TABLE": "keel-dev-overrides",
            "KEEL_LIMITS_TABLE": LIMITS_TABLE,
            "KEEL_CODE_VERSION": "sha256:code",
        }.items():
            monkeypatch.setenv(name, value)
        yield dynamodb
        aws.client.cache_clear()


def at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """`work(0..count-1)` from `count` threads released together."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait(timeout=30)
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def reads_race(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """`reads_race(n)`: each of n threads that reads earlier decisions waits until all n have read, before it writes."""

    def arm(parties: int) -> None:
        barrier = threading.Barrier(parties)
        for name in ("last_action_on_resource", "actions_in_window"):
            original = getattr(DecisionLog, name)

            def waiting(self: DecisionLog, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                found = _original(self, *args, **kwargs)
                barrier.wait(timeout=30)
                return found

            monkeypatch.setattr(DecisionLog, name, waiting)

    return arm


class PatientDecisionLog(DecisionLog):
    """The decision record, appending until it gets its turn: 50 writers at once on one chain are
    more than its own attempts allow, and the record is not what these tests are about."""

    def record_all(self, decisions: Sequence[Decision]) -> list[DecisionRecord]:
        for _attempt in range(THREADS * 4):
            try:
                return super().record_all(decisions)
            except ConflictError:
                continue
        raise AssertionError(f"{[decision.step for decision in decisions]} were never recorded")


def guardrail_check(tables: Any, *, approval: bool = False, cap: int = 10) -> Callable[[int, str], dict[str, Any]]:
    """check_guardrails' logic with the dependencies its handler builds (the real adapters)."""
    from functions.check_guardrails import handler, logic

    handler.settings.cache_clear()
    handler.dependencies.cache_clear()
    dependencies = dataclasses.replace(handler.dependencies(), log=PatientDecisionLog(Table("keel-dev-decisions")))
    keel = keel_fields(
        automation="alarm_remediation",
        environment="prod" if approval else "dev",
        approval_from_risk="medium" if approval else "never",
        approval_timeout_seconds=1800,
        limits={"max_concurrency": 5, "max_actions_per_window": cap, "window_minutes": 60},
    )

    def check(index: int, resource: str) -> dict[str, Any]:
        task = PlanInput.model_validate(
            {
                "event_id": f"event-{index}",
                "execution": EXECUTION.format(index),
                "keel": keel,
                "step": "CheckGuardrails",
                "plan": plan(resource),
            }
        )
        return logic.check_and_record(task, dependencies).as_output()

    return check


def plan(resource: str) -> dict[str, Any]:
    return {
        "runbook": "ecs-5xx-restart",
        "catalog_version": "2026.11.2",
        "description": "restart",
        "action": "ecs_force_new_deployment",
        "resource": resource,
        "target": {"cluster": "orders", "service": resource.rsplit("/", 1)[-1]},
        "risk": "medium",
        "approval": "policy",
        "cooldown_minutes": 30,
        "verify": {"kind": "alarm_ok", "wait_seconds": 300, "alarm": "orders-api-5xx"},
        "trigger": "CloudWatch alarm orders-api-5xx entered ALARM",
        "region": "eu-west-1",
        "account": "111111111111",
    }


def test_fifty_executions_for_one_resource_exactly_one_proceeds(tables: Any, reads_race: Callable[[int], None]) -> None:
    # Given 50 executions checking the same service at the same moment
    reads_race(THREADS)
    check = guardrail_check(tables)

    # When they all run the guardrails at once
    results = at_once(THREADS, lambda index: check(index, RESOURCE))

    # Then exactly one may act; every other one is refused by the cooldown, naming the one that holds it
    proceeding = [index for index, result in enumerate(results) if result["verdict"] == "proceed"]
    assert len(proceeding) == 1
    holder = EXECUTION.format(proceeding[0])
    refused = [result for result in results if result["verdict"] == "refused"]
    assert {result["refused_by"] for result in refused} == {"cooldown"}
    assert all(f"(execution {holder}) holds {RESOURCE}" in result["reason"] for result in refused)
    assert len(refused) == THREADS - 1


def test_fifty_executions_for_fifty_resources_with_a_cap_of_ten_exactly_ten_proceed(
    tables: Any, reads_race: Callable[[int], None]
) -> None:
    # Given 50 executions, each for its own service, and a blast radius of 10 per hour
    reads_race(THREADS)
    check = guardrail_check(tables, cap=10)

    # When they all run the guardrails at once
    results = at_once(THREADS, lambda index: check(index, f"{RESOURCE}-{index}"))

    # Then exactly 10 proceed and 40 are stopped by the blast radius, which pages
    verdicts = [result["verdict"] for result in results]
    assert verdicts.count("proceed") == 10
    assert {(result["refused_by"], result["page"]) for result in results if result["verdict"] == "refused"} == {
        ("blast_radius", True)
    }


def test_plans_waiting_for_approval_count_in_the_cap_and_a_rejected_one_gives_its_slot_back(
    tables: Any, reads_race: Callable[[int], None]
) -> None:
    # Given prod, where every plan waits for a person, 15 plans at once for 15 services, and a cap of 10
    plans = 15
    reads_race(plans)
    check = guardrail_check(tables, approval=True, cap=10)
    results = at_once(plans, lambda index: check(index, f"{RESOURCE}-{index}"))
    waiting = [index for index, result in enumerate(results) if result["verdict"] == "approval"]
    # Only 10 wait: the other 5 are refused, though none has acted yet
    assert len(waiting) == 10
    assert {result["refused_by"] for result in results if result["verdict"] == "refused"} == {"blast_radius"}

    # When one of the waiting plans is rejected and gives back what it held (as the workflow does)
    from functions.limit_slots import handler as slots

    slots.settings.cache_clear()
    slots.dependencies.cache_clear()
    rejected = waiting[0]
    given_back = slots.logic.apply(
        slots.logic.SlotsInput.model_validate(
            {
                "event_id": f"event-{rejected}",
                "execution": EXECUTION.format(rejected),
                "keel": keel_fields(automation="alarm_remediation"),
                "step": "GiveBackRejectedPlan",
                "operation": "release",
                "leases": results[rejected]["held"],
            }
        ),
        slots.dependencies(),
    )
    again = check(plans, f"{RESOURCE}-again")
    over = check(plans + 1, f"{RESOURCE}-over")

    # Then the rejected plan's lease and slot went back, the next plan took that slot, and the one
    # after is refused again
    assert given_back == {"released": 2, "no_longer_held": 0}
    assert again["verdict"] == "approval"
    assert (over["verdict"], over["refused_by"]) == ("refused", "blast_radius")


def test_a_slot_held_by_a_crashed_execution_frees_when_its_lease_ends(tables: Any) -> None:
    from functions.shared.domain.limits import Full, Lease, LimitStore, concurrency_pool

    # Given a concurrency limit of 1 whose slot an execution took and never gave back (it crashed)
    store = LimitStore(Table(LIMITS_TABLE, tables))
    pool = concurrency_pool("alarm_remediation", None, 1, timedelta(minutes=10))
    start = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    crashed = store.take_slot(pool, "exec-crashed", start)

    # When another execution asks during the lease and after it
    during = store.take_slot(pool, "exec-next", start + timedelta(minutes=9))
    after = store.take_slot(pool, "exec-next", start + timedelta(minutes=10, seconds=1))

    # Then it is refused while the lease runs, naming the holder, and gets the slot once it ended
    assert isinstance(crashed, Lease)
    assert isinstance(during, Full)
    assert [held.holder for held in during.held] == ["exec-crashed"]
    assert isinstance(after, Lease)
    # And the crashed execution can no longer give back what is now another's
    assert store.release(crashed.ref, "exec-crashed") is False


def test_fifty_executions_for_a_limit_of_five_exactly_five_hold_a_slot(tables: Any) -> None:
    # Given a concurrency limit of 5 per alarm, taken through the limit_slots module
    from functions.limit_slots import handler as slots
    from functions.shared.runtime.errors import ConcurrencyLimitReached

    slots.settings.cache_clear()
    slots.dependencies.cache_clear()

    def acquire(index: int) -> dict[str, Any] | str:
        task = slots.logic.SlotsInput.model_validate(
            {
                "event_id": f"event-{index}",
                "execution": EXECUTION.format(index),
                "keel": keel_fields(automation="alarm_remediation"),
                "step": "KeelAcquireConcurrency",
                "operation": "acquire",
                "limit": {"max": 5, "key": "orders-api-5xx", "lease_seconds": 7200},
            }
        )
        try:
            return slots.logic.apply(task, slots.dependencies())
        except ConcurrencyLimitReached as full:
            return str(full)

    # When 50 executions ask at once
    results = at_once(THREADS, acquire)

    # Then 5 hold distinct slots and 45 are told the limit is full, with who holds it
    held = [result for result in results if isinstance(result, dict)]
    refused = [result for result in results if isinstance(result, str)]
    assert len({result["sk"] for result in held}) == len(held) == 5
    assert len(refused) == 45
    assert all(
        message.startswith("all 5 concurrency slots of alarm_remediation for orders-api-5xx are held: ") for message in refused
    )


def test_a_storm_for_one_key_runs_once_on_the_latest_event(tables: Any) -> None:
    from functions.shared.domain.debounce import Arrival, Debouncer, Window

    # Given 20 events for the same alarm arriving at once, each registering in its burst
    bursts = Debouncer(Table(LIMITS_TABLE, tables))
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    window = Window(seconds=60, max_wait_seconds=300)
    arrivals = [Arrival("alarm_remediation", "orders-api-5xx", f"event-{n}", EXECUTION.format(n)) for n in range(20)]
    waits = at_once(20, lambda n: bursts.register(arrivals[n], now, window))
    latest = Table(LIMITS_TABLE, tables).get({"pk": "debounce#alarm_remediation#orders-api-5xx", "sk": "burst"})

    # When each settles after its wait
    settled = at_once(20, lambda n: bursts.settle(arrivals[n], now + timedelta(seconds=60)))

    # Then exactly one runs, the latest to arrive, and every other one names it as what superseded it
    assert set(waits) == {60}
    runs = [n for n, outcome in enumerate(settled) if outcome.run]
    assert [f"event-{n}" for n in runs] == [latest["latest_event"]]
    assert {outcome.superseded_by for outcome in settled if not outcome.run} == {latest["latest_event"]}


def test_a_key_that_keeps_firing_still_runs_by_its_maximum_wait(tables: Any) -> None:
    from functions.shared.domain.debounce import Arrival, Debouncer, Window

    # Given an alarm flapping every 30 seconds (window 60 s, at most 300 s)
    bursts = Debouncer(Table(LIMITS_TABLE, tables))
    start = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    window = Window(seconds=60, max_wait_seconds=300)

    # When events keep arriving
    waits = [
        bursts.register(
            Arrival("alarm_remediation", "flappy", f"event-{n}", f"exec-{n}"), start + timedelta(seconds=30 * n), window
        )
        for n in range(10)
    ]

    # Then each waits its window, but none past the burst's first event + 300 s, when the latest runs
    assert waits == [60, 60, 60, 60, 60, 60, 60, 60, 60, 30]
    last = Arrival("alarm_remediation", "flappy", "event-9", "exec-9")
    assert bursts.settle(last, start + timedelta(seconds=300)).run is True
    # And the burst ended: the next event opens a new one
    assert (
        bursts.register(Arrival("alarm_remediation", "flappy", "event-10", "exec-10"), start + timedelta(seconds=330), window)
        == 60
    )
