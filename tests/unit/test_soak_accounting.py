"""The soak's accounting finds what must be zero when it is not: actions taken twice, limits exceeded,
and its plan delivers the faults it says it does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from functions.shared.domain.decisions import Decision, DecisionRecord
from keel.bench.limit_stream import most_holders
from keel.bench.main import with_kept_sections
from keel.bench.markdown import kept_section, with_section
from keel.bench.report import MAKE_TEST_SECTION
from keel.bench.soak import SECTION
from keel.bench.soak_accounting import acted_twice, ending_of, limit_violations
from keel.bench.soak_plan import ALARM_START_ATTEMPTS, BATCH, SoakPlan

ROOT = Path(__file__).resolve().parents[2]
RESOURCE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
COOLDOWN = {"ecs-5xx-restart": timedelta(minutes=30)}


def record(execution: str, event: str, at: str, outcome: str = "taken") -> DecisionRecord:
    decision = Decision(
        automation="alarm_remediation",
        automation_version="1.0.0",
        environment="dev",
        event_id=event,
        execution_arn=execution,
        step="Act",
        action="ecs_force_new_deployment",
        outcome=outcome,  # type: ignore[arg-type]
        reason="restart",
        rule="ecs-5xx-restart",
        resource=RESOURCE,
        input_digest="0" * 64,
    )
    return DecisionRecord(seq=1, recorded_at=at, prev_hash="", hash="", decision=decision)


def write(name: str, pool: str, old: str | None, new: str | None) -> dict[str, Any]:
    change: dict[str, Any] = {"Keys": {"pk": {"S": pool}, "sk": {"S": "slot#0000"}}}
    if old is not None:
        change["OldImage"] = {"holder": {"S": old}}
    if new is not None:
        change["NewImage"] = {"holder": {"S": new}}
    return {"eventName": name, "dynamodb": change}


def test_a_resource_acted_on_again_inside_its_cooldown_is_a_duplicate_side_effect() -> None:
    # Given two executions acting on one service 10 minutes apart, and a third 40 minutes after that
    records = [
        record("exec-1", "event-1", "2026-12-01T10:00:00+00:00"),
        record("exec-2", "event-2", "2026-12-01T10:10:00+00:00"),
        record("exec-3", "event-3", "2026-12-01T10:50:00+00:00"),
    ]

    # When they are accounted
    found = acted_twice(records, COOLDOWN)

    # Then the second is found (inside the 30-minute cooldown), the third is not
    assert found == [f"{RESOURCE} acted on again 0:10:00 after the last action, inside its 0:30:00 cooldown"]


def test_one_event_acting_in_two_executions_is_a_duplicate_side_effect() -> None:
    # Given one event whose actions were taken by two executions, an hour apart
    records = [record("exec-1", "event-1", "2026-12-01T10:00:00+00:00"), record("exec-2", "event-1", "2026-12-01T11:00:00+00:00")]

    # When they are accounted / Then the event is named
    assert acted_twice(records, COOLDOWN) == ["event event-1 acted in 2 executions"]


def test_refusals_and_planned_actions_are_not_side_effects() -> None:
    records = [
        record("exec-1", "event-1", "2026-12-01T10:00:00+00:00", "refused"),
        record("exec-2", "event-2", "2026-12-01T10:01:00+00:00", "planned"),
    ]
    assert acted_twice(records, COOLDOWN) == []


def test_a_slot_taken_over_while_its_holder_is_still_inside_counts_both() -> None:
    # Given a pool where exec-2 takes exec-1's slot (its lease ran out) before exec-1 gave it back
    pool = "concurrency#alarm_remediation"
    writes = [
        write("INSERT", pool, None, "exec-1"),
        write("MODIFY", pool, "exec-1", "exec-2"),
        write("REMOVE", pool, "exec-2", None),
        write("INSERT", "concurrency#other", None, "exec-9"),
    ]

    # When the writes are replayed / Then two were inside at once: one more than a 1-slot pool allows
    assert most_holders(writes, pool) == 2
    assert limit_violations(writes, {pool: 1}, [], set(COOLDOWN)) == [f"{pool}: 2 executions held its 1 slots at once"]


def test_an_action_taken_without_an_action_slot_is_a_limit_violation() -> None:
    # Given exec-1 held an action slot and exec-2 did not, both took an action
    writes = [write("INSERT", "blast#alarm_remediation", None, "exec-1")]
    records = [record("exec-1", "event-1", "2026-12-01T10:00:00+00:00"), record("exec-2", "event-2", "2026-12-01T10:00:00+00:00")]

    # When accounted / Then exec-2's action is a violation
    assert limit_violations(writes, {}, records, set(COOLDOWN)) == ["exec-2 took ecs_force_new_deployment without an action slot"]


def test_endings_say_what_happened() -> None:
    cause = '{"errorType": "InvalidInputError", "errorMessage": "MatchInput: event.detail.severity: Input should be a number"}'
    assert ending_of("SUCCEEDED", {"outcome": "refused"}, None, None) == ("succeeded", "refused")
    assert ending_of("SUCCEEDED", {"duplicate": True}, None, None) == ("succeeded", "duplicate")
    assert ending_of("FAILED", None, "InvalidInputError", cause) == (
        "failed",
        "FAILED InvalidInputError: MatchInput: event.detail.severity: Input should be a number",
    )
    assert ending_of("RUNNING", None, None, None) == ("running", "")
    timeout = '{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: 68f4-1a Error: Task timed out after 15.00 seconds"}'
    assert (
        ending_of("FAILED", None, "Sandbox.Timedout", timeout)[1]
        == "FAILED Sandbox.Timedout: Error: Task timed out after 15.00 seconds"
    )


def test_the_plan_mixes_in_every_fault_it_names() -> None:
    # Given a plan of 500 deliveries over the samples
    samples = {path.stem: {"id": path.stem, "detail": {}} for path in (ROOT / "events").glob("*/*.json")}
    batches = SoakPlan(samples, 500, seed=1).batches()

    # Then it delivers exactly 500, in batches of 20, with duplicates (ids seen before), malformed events,
    # bursts, one throttled start per 10 batches (delivered first in its batch), and faults in every batch
    kinds = [delivery.kind for batch in batches for delivery in batch.deliveries]
    assert len(kinds) == 500
    assert {len(batch.deliveries) for batch in batches} == {BATCH}
    assert {"fresh", "duplicate", "malformed", "burst", "start_failure"} <= set(kinds)
    ids = [delivery.event["id"] for batch in batches for delivery in batch.deliveries]
    assert len(ids) - len(set(ids)) == kinds.count("duplicate")
    throttled = [batch for batch in batches if batch.failed_starts]
    assert len(throttled) == 3  # batches 4, 14 and 24
    assert {(batch.failed_starts, batch.deliveries[0].kind) for batch in throttled} == {(ALARM_START_ATTEMPTS, "start_failure")}
    assert all({fault.kind for fault in batch.faults} == {"error", "throttle", "timeout"} for batch in batches)


def test_the_soak_section_is_replaced_in_place_and_kept() -> None:
    text = "# Benchmarks\n\n## 8. Catalog scale\n\nold\n"
    once = with_section(text, SECTION, f"{SECTION}\n\nfirst\n")
    twice = with_section(once + "\n## 10. Later\n\nafter\n", SECTION, f"{SECTION}\n\nsecond\n")
    assert once.endswith(f"old\n\n{SECTION}\n\nfirst\n")
    assert "first" not in twice
    assert f"{SECTION}\n\nsecond\n" in twice
    assert twice.endswith("## 10. Later\n\nafter\n")
    assert kept_section(once, SECTION) == f"{SECTION}\n\nfirst\n"
    assert kept_section(text, SECTION) is None


def test_a_bench_run_keeps_the_soak_and_an_untimed_make_test_from_the_earlier_file() -> None:
    earlier = f"# B\n\n{MAKE_TEST_SECTION}\n\nWall time 900 s\n\n## 8. Catalog scale\n\nold\n\n{SECTION}\n\nsoaked\n"
    new = f"# B\n\n{MAKE_TEST_SECTION}\n\nNot measured.\n\n## 8. Catalog scale\n\nnew\n"
    # When the new run did not time make test: the earlier figure stays, in its place, and the soak too
    kept = with_kept_sections(new, earlier, timed_tests=False)
    assert kept == f"# B\n\n{MAKE_TEST_SECTION}\n\nWall time 900 s\n\n## 8. Catalog scale\n\nnew\n\n{SECTION}\n\nsoaked\n"
    # When it did, its own figure is written
    assert "Not measured." in with_kept_sections(new, earlier, timed_tests=True)
    # And a first run has nothing to keep
    assert with_kept_sections(new, "", timed_tests=False) == new
