"""The decision record against moto's DynamoDB: chaining, idempotency, queries, tamper detection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters.dynamodb import Table, TransactionConflict
from functions.shared.domain.decisions import (
    ACTIONS_PAGE,
    GENESIS,
    INDEXES,
    WINDOW_PAGE,
    Advice,
    AppendBackoff,
    Decision,
    DecisionLog,
    Waiting,
    digest,
)
from functions.shared.runtime.errors import ConflictError
from keel.ops import ledger


class Clock:
    """Recorded-at times one second apart, starting at a fixed instant."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> str:
        self.now += timedelta(seconds=1)
        return self.now.isoformat(timespec="milliseconds")


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        attributes = {"pk", "sk", "recorded_at", *INDEXES.values()}
        client.create_table(
            TableName="decisions",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index,
                    "KeySchema": [
                        {"AttributeName": attribute, "KeyType": "HASH"},
                        {"AttributeName": "recorded_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index, attribute in INDEXES.items()
            ],
        )
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


@pytest.fixture
def log(dynamodb: Any, clock: Clock) -> DecisionLog:
    return DecisionLog(Table("decisions", dynamodb), clock=clock)


def decision(
    n: int, *, automation: str = "alarm_remediation", resource: str | None = "ecs:web/api", **overrides: Any
) -> Decision:
    values: dict[str, Any] = {
        "automation": automation,
        "automation_version": "1.0.0",
        "environment": "dev",
        "event_id": f"event-{n}",
        "execution_arn": f"arn:aws:states:eu-west-1:111111111111:execution:keel-dev-{automation}:run-{n}",
        "step": "Decide",
        "action": "restart_service",
        "outcome": "taken",
        "reason": "runbook ecs-restart matched",
        "rule": "runbook:ecs-restart@3",
        "resource": resource,
        "input_digest": digest({"n": n}),
        "versions": {"runbooks": "3"},
    }
    values.update(overrides)
    return Decision(**values)


def record_key(seq: int, automation: str = "alarm_remediation") -> dict[str, Any]:
    return {"pk": {"S": f"chain#{automation}"}, "sk": {"S": f"seq#{seq:012d}"}}


def edit_record(dynamodb: Any, seq: int, attribute: str, value: str) -> None:
    """Someone with write access changes one attribute of a stored record, behind the log's back."""
    dynamodb.update_item(
        TableName="decisions",
        Key=record_key(seq),
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"S": value}},
    )


def test_records_chain_by_hash_per_automation(log: DecisionLog) -> None:
    # Given two decisions of one automation and one of another
    first = log.record(decision(1))
    second = log.record(decision(2))
    other = log.record(decision(3, automation="ticket_triage"))
    # Then each automation's chain starts at the genesis and links record to record
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert (other.seq, other.prev_hash) == (1, GENESIS)
    assert [record.seq for record in log.chain("alarm_remediation")] == [1, 2]


def test_recording_the_same_step_twice_returns_the_first_record(log: DecisionLog) -> None:
    # Given a step that was recorded
    original = log.record(decision(1))
    # When a retry records it again, even with a different reason
    again = log.record(decision(1, reason="retried"))
    # Then the chain holds one record, and the retry gets the original back
    assert again == original
    assert len(list(log.chain("alarm_remediation"))) == 1


def test_advice_and_approval_round_trip(log: DecisionLog) -> None:
    # Given a decision with advice and an approver
    advice = Advice(label="billing", confidence=0.83, model_version="nb-2026.11", rationale="invoice, refund")
    log.record(decision(1, advice=advice, approved_by="arn:aws:iam::111111111111:user/ana", approval_id="ap-1"))
    # When it is read back by execution
    [record] = log.for_execution(decision(1).execution_arn)
    # Then nothing was lost or reshaped (the float confidence included)
    assert record.decision.advice == advice
    assert record.decision.approved_by == "arn:aws:iam::111111111111:user/ana"


def test_lookups_by_event_and_resource_and_window(log: DecisionLog, clock: Clock) -> None:
    # Given three actions on one resource and one refusal
    start = clock.now
    for n in (1, 2, 3):
        log.record(decision(n))
    log.record(decision(4, outcome="refused", reason="cooldown"))
    # Then the event lookup finds its record, and cooldown/blast-radius queries see the actions only
    assert [record.seq for record in log.for_event("event-2")] == [2]
    last = log.last_action_on_resource("ecs:web/api", since=start)
    assert last is not None
    assert last.seq == 3
    assert log.last_action_on_resource("ecs:web/api", since=clock.now + timedelta(seconds=1)) is None
    window = log.actions_in_window("alarm_remediation", since=start + timedelta(seconds=2))
    assert [record.seq for record in window] == [3, 2]


def test_the_last_action_on_a_resource_skips_refusals_dry_runs_and_the_asking_execution(log: DecisionLog, clock: Clock) -> None:
    # Given an action, then many refusals, a dry run, and the asking execution's plan
    start = clock.now
    log.record(decision(1))
    for n in range(2, 2 + WINDOW_PAGE + 5):
        log.record(decision(n, outcome="refused", reason="cooldown"))
    log.record(decision(100, dry_run=True))
    log.record(decision(101, outcome="planned"))
    # When execution 101 asks for the last action by anyone else
    last = log.last_action_on_resource("ecs:web/api", since=start, other_than=decision(101).execution_arn)
    # Then it is the first action, found past the refusals
    assert last is not None
    assert (last.seq, last.decision.event_id) == (1, "event-1")
    # And another execution sees the plan
    planned = log.last_action_on_resource("ecs:web/api", since=start, other_than=decision(1).execution_arn)
    assert planned is not None
    assert planned.decision.outcome == "planned"


def test_the_last_action_by_another_execution_is_found_past_a_page_of_the_askers_own(log: DecisionLog, clock: Clock) -> None:
    # Given another execution's action, then more of the asking execution's own actions than one page holds
    start = clock.now
    log.record(decision(1))
    asking = decision(2).execution_arn
    for n in range(ACTIONS_PAGE + 2):
        log.record(decision(2, step=f"Act{n}", execution_arn=asking))
    # When the asking execution looks for the last action by anyone else
    last = log.last_action_on_resource("ecs:web/api", since=start, other_than=asking)
    # Then the walk went past its own actions to the other one
    assert last is not None
    assert last.seq == 1


def test_a_capped_window_reads_back_only_as_far_as_the_cap(log: DecisionLog, clock: Clock, monkeypatch: Any) -> None:
    # Given 120 actions in the window (more than two pages of the backwards walk)
    start = clock.now
    for n in range(1, 121):
        log.record(decision(n))
    pages: list[int] = []
    query = log.table.dynamodb.query

    def counting_query(**request: Any) -> Any:
        response = query(**request)
        pages.append(len(response["Items"]))
        return response

    monkeypatch.setattr(log.table.dynamodb, "query", counting_query)
    # When a cap check asks for at most 3 of them
    window = log.actions_in_window("alarm_remediation", since=start, at_most=3)
    # Then it gets the newest 3, from the first page alone; without a cap it walks every page
    assert [record.seq for record in window] == [120, 119, 118]
    assert len(pages) == 1
    assert len(log.actions_in_window("alarm_remediation", since=start)) == 120


def test_concurrent_appends_do_not_fork_the_chain(log: DecisionLog, dynamodb: Any, clock: Clock) -> None:
    # Given a second writer that appends between our read of the head and our write
    other = DecisionLog(Table("decisions", dynamodb), clock=clock)
    log.record(decision(1))
    original_get = log.table.get
    raced = {"done": False}

    def racing_get(key: dict[str, Any]) -> dict[str, Any] | None:
        result = original_get(key)
        if key.get("sk") == "head" and not raced["done"]:
            raced["done"] = True
            other.record(decision(2))
        return result

    log.table.get = racing_get  # type: ignore[method-assign]
    # When we append
    mine = log.record(decision(3))
    # Then our record lands after the other writer's, on one unbroken chain
    assert mine.seq == 3
    assert ledger.table_problems(log, "alarm_remediation") == []


WRITERS, APPENDS_EACH = 32, 5
# The production backoff (exponential, full jitter, bounded) on moto's time scale: one moto call here
# takes 10-100 times a DynamoDB call (serialized, coverage-traced, on shared cores), so the chain's busy
# period, which the cap must span, is that much longer. test_a_writer_that_keeps_losing... pins the
# production figures.
EMULATOR_WAITING = Waiting(backoff=AppendBackoff(attempts=30, base_seconds=0.05, cap_seconds=5.0))


@pytest.fixture
def one_call_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers one API call at a time, as the local cloud runs it (its tables are not thread-safe):
    writers' threads interleave between calls, so a head read and the conditional write race for real.
    Its transactions skip the whole-table copy, as in the local cloud (keel/local/moto_transactions.py)."""
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.dynamodb import models

    from keel.local.moto_transactions import fast_transact_write_items

    lock, answer = threading.Lock(), BotocoreStubber.__call__

    def serialized(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return answer(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)
    fast = fast_transact_write_items(models.DynamoDBBackend.transact_write_items, models)
    monkeypatch.setattr(models.DynamoDBBackend, "transact_write_items", fast)


@pytest.mark.usefixtures("one_call_at_a_time")
def test_32_concurrent_writers_append_every_record_on_one_valid_chain(dynamodb: Any) -> None:
    # Given 32 writers (executions) appending 20 decisions each to one automation's chain at once,
    # each with its own client, as separate Lambda invocations would
    start = threading.Barrier(WRITERS)
    lost: list[str] = []

    def writer(number: int) -> None:
        log = DecisionLog(Table("decisions", boto3.client("dynamodb", region_name="eu-west-1")), waiting=EMULATOR_WAITING)
        start.wait()
        for step in range(APPENDS_EACH):
            try:
                log.record(decision(number * 100 + step, step=f"Step{step}"))
            except ConflictError as error:
                lost.append(str(error))

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    # When they all run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every append landed (none gave up), and the chain holds all of them, unbroken
    assert lost == []
    appended = DecisionLog(Table("decisions", dynamodb))
    assert len(list(appended.chain_items("alarm_remediation"))) == WRITERS * APPENDS_EACH
    assert ledger.table_problems(appended, "alarm_remediation") == []


class AlwaysOvertaken:
    """A table whose chain head always moves between a writer's read and its write."""

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        raise TransactionConflict(["None", "ConditionalCheckFailed", "None"])


def test_a_writer_that_keeps_losing_backs_off_with_full_jitter_then_gives_up_within_its_budget() -> None:
    # Given a writer that loses every race, with a recorded sleep and the largest possible draws
    waits: list[float] = []
    backoff = AppendBackoff()
    log = DecisionLog(AlwaysOvertaken(), waiting=Waiting(backoff=backoff, sleep=waits.append, draw=lambda: 1.0))  # type: ignore[arg-type]

    # When it appends / Then it gives up with ConflictError (retried by the workflows) after its attempts
    with pytest.raises(ConflictError, match="12 attempts lost to other writers"):
        log.record(decision(1))
    # And it waited between attempts, exponentially up to the cap, never longer than the budget
    assert len(waits) == backoff.attempts - 1
    assert waits[:7] == pytest.approx([0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    assert max(waits) == backoff.cap_seconds
    assert sum(waits) == pytest.approx(11.175)


def test_the_jitter_draws_each_wait_between_zero_and_the_bound() -> None:
    # Given a draw of a quarter / When the 4th wait is drawn / Then it is a quarter of 0.2 s
    assert AppendBackoff().delay(3, lambda: 0.25) == pytest.approx(0.05)


def guardrail_decisions(n: int, names: tuple[str, ...] = ("override", "cooldown", "blast_radius")) -> list[Decision]:
    return [decision(n, step=f"CheckGuardrails:{name}", outcome="passed", action=f"guardrail:{name}") for name in names]


def test_a_step_s_decisions_are_appended_together_in_order_with_one_move_of_the_head(log: DecisionLog, dynamodb: Any) -> None:
    # Given a chain holding one record
    log.record(decision(1))
    writes: list[int] = []
    transact = log.table.transact_write
    log.table.transact_write = lambda operations: (writes.append(len(operations)), transact(operations))[1]  # type: ignore[method-assign]

    # When a step hands over three decisions at once
    records = log.record_all(guardrail_decisions(2))

    # Then they follow the head in the order given, each chained to the one before, in one transaction
    assert [record.seq for record in records] == [2, 3, 4]
    assert [record.decision.step for record in records] == [
        "CheckGuardrails:override",
        "CheckGuardrails:cooldown",
        "CheckGuardrails:blast_radius",
    ]
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    assert writes == [3 + 1 + 3]
    assert log.head("alarm_remediation") == {"pk": "chain#alarm_remediation", "sk": "head", "seq": 4, "hash": records[2].hash}
    assert ledger.table_problems(log, "alarm_remediation") == []


def test_a_step_handed_over_again_returns_its_first_records_and_appends_only_what_is_new(log: DecisionLog) -> None:
    # Given a step whose first guardrail was recorded on its own (a retried step, an older writer)
    first = log.record(guardrail_decisions(1)[0])
    log.record(decision(2))

    # When the whole step is handed over / Then the recorded one comes back as it was, the rest are appended
    records = log.record_all(guardrail_decisions(1))
    assert records[0] == first
    assert [record.seq for record in records] == [1, 3, 4]
    # And handing it over once more appends nothing
    assert log.record_all(guardrail_decisions(1)) == records
    assert len(list(log.chain_items("alarm_remediation"))) == 4


@pytest.mark.parametrize(
    ("batch", "problem"),
    [
        ([], "at least one decision"),
        (guardrail_decisions(1) * 2, r"each \(execution, step\) once"),
        ([decision(1), decision(2, automation="ticket_triage")], "one automation's chain"),
        ([decision(1, step=f"Step{n}") for n in range(13)], "at most 12 decisions"),
    ],
)
def test_a_batch_that_one_transaction_cannot_write_is_refused_by_name(
    log: DecisionLog, batch: list[Decision], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        log.record_all(batch)


class SlowOvertaken(AlwaysOvertaken):
    """Loses every race, and each attempt takes `seconds` on a clock the test moves."""

    def __init__(self, clock: list[float], seconds: float) -> None:
        self.clock, self.seconds = clock, seconds

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        self.clock[0] += self.seconds
        super().transact_write(operations)


def test_a_writer_with_a_lambda_s_time_left_keeps_trying_until_that_time_runs_short() -> None:
    # Given a Lambda with 20 s left, a chain that stays busy, and the largest possible draws
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    waiting = Waiting(sleep=sleep, draw=lambda: 1.0, monotonic=lambda: now[0])
    log = DecisionLog(SlowOvertaken(now, 0.0), waiting=waiting).within(lambda: 20.0 - now[0])  # type: ignore[arg-type]

    # When it appends / Then it gives up only when the next wait, an attempt and the reserve no longer fit
    with pytest.raises(ConflictError, match="attempts lost to other writers"):
        log.record(decision(1))
    assert sum(waits) <= 20.0 - AppendBackoff().reserve_seconds
    assert sum(waits) > 20.0 - AppendBackoff().reserve_seconds - AppendBackoff().cap_seconds
    # (the attempt count alone would have stopped at 11.2 s of waiting)
    assert sum(waits) > 11.175


def test_a_writer_whose_attempts_are_slow_waits_in_steps_of_an_attempt() -> None:
    # Given attempts that each take 300 ms (a loaded machine), and the largest possible draws
    now = [0.0]
    waits: list[float] = []
    waiting = Waiting(sleep=waits.append, draw=lambda: 1.0, monotonic=lambda: now[0])
    log = DecisionLog(SlowOvertaken(now, 0.3), waiting=waiting)  # type: ignore[arg-type]

    # When it keeps losing / Then each wait doubles from the attempt's length, not from 25 ms, up to the cap
    with pytest.raises(ConflictError):
        log.record(decision(1))
    assert waits[:4] == pytest.approx([0.3, 0.6, 1.2, 2.0])
