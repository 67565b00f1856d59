"""The durable record of what every automation decided and why, hash-chained per automation.

Layout in the decisions table (pk / sk):
  chain#<automation> / seq#<000000000042>  a record: its canonical JSON `body`, `prev_hash`, `hash`,
                                           plus copies of a few body fields for the indexes
  chain#<automation> / head                the chain's last seq and hash (the point of serialization)
  step#<automation>#<execution>#<step> / marker   which seq recorded this (execution, step): idempotency

Every partition key starts with the automation's own prefix (`chain#<automation>`,
`step#<automation>#`), so an IAM `dynamodb:LeadingKeys` condition gives an automation's one writer
(its record_decision function, infra/constructs/function.py) its own items and no other automation's.

A record is appended in one transaction with the head update (conditional on the head not having
moved) and the step marker (conditional on not existing), so the chain never forks and a retried
step never records twice. A writer that loses the race for the head waits (exponential backoff with
full jitter, bounded) and tries again; past its budget it raises ConflictError, which the workflows
retry for modules that can repeat (infra/workflow_defaults.py).
`hash = sha256(seq | prev_hash | body)`. The table's stream copies every record to the anchor
(functions/anchor_decisions/: S3 under Object Lock), and `keel ops verify-chain` compares the two
(keel/ops/ledger.py), which is what catches a chain rewritten consistently inside the table.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from functions.shared.adapters.dynamodb import Table, TransactionConflict
from functions.shared.domain.context import TaskInput
from functions.shared.domain.reasons import short_reason
from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import ConflictError

GENESIS = "0" * 64
# The field a decision handed to an automation's writer arrives in (functions/shared/adapters/decision_writer.py).
HANDED = "handed"
# Decisions appended in one transaction: each is a record and a step marker, and the head moves once.
# AWS takes 100 actions in a TransactWriteItems
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html), moto 25;
# 12 (25 actions) is twice what the busiest step records (check_guardrails: a decision per guardrail).
MAX_BATCH = 12
# Chain records read per page when walking back through a time window.
WINDOW_PAGE = 50
HEAD = "head"
# Indexes of the decisions table, each on an item attribute and recorded_at (infra/constructs/platform.py
# creates them). by_action_on is sparse: only real actions carry `action_on`, so a cooldown check finds a
# resource's last action at once, however many refusals and checks were recorded on it since.
BY_EVENT, BY_EXECUTION, BY_RESOURCE, BY_ACTION_ON = "by_event", "by_execution", "by_resource", "by_action_on"
# CloudFormation adds or removes one index per table update: a new index here ships in a deploy of its own.
INDEXES = {BY_EVENT: "event_id", BY_EXECUTION: "execution_arn", BY_RESOURCE: "resource", BY_ACTION_ON: "action_on"}
# A cooldown reads a few actions back at most: the asking execution's own plan is skipped.
ACTIONS_PAGE = 5

Outcome = Literal[
    "planned",
    "taken",
    "refused",
    "skipped",
    "escalated",
    "failed",
    "approved",
    "rejected",
    "expired",
    "passed",
    "resolved",
    "unresolved",
    # The resource an action or a verification targets no longer exists: nothing to do, not a failure.
    "not_found",
    # A newer event with the same key ran instead (trigger.debounce).
    "debounced",
    # The alarm's own actions are muted, suppressed or disabled: nothing done.
    "muted",
    # What earlier steps did was undone after a later step failed for good (a compensation).
    "compensated",
]


class Advice(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    confidence: float = Field(ge=0, le=1)
    model_version: str
    rationale: str = ""


class Decision(Model):
    """What was decided, by which versions, on what input. Everything `keel ops explain` tells."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    automation: str
    automation_version: str
    environment: str
    event_id: str
    execution_arn: str
    step: str = Field(min_length=1)
    action: str
    outcome: Outcome
    reason: str
    rule: str | None = None
    resource: str | None = None
    dry_run: bool = False
    # Made by a candidate version's shadow run (forced dry run): `keel ops compare` sets it beside the live one.
    shadow: bool = False
    trigger: str | None = None
    input_digest: str
    definition_hash: str | None = None
    code_version: str | None = None
    # The state machine version that ran the execution, and the alias that chose it (none: started on
    # the state machine itself, as a shadow run or a redrive is).
    state_machine_version: str | None = None
    state_machine_alias: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    advice: Advice | None = None
    approved_by: str | None = None
    approval_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def decision_in(task: TaskInput, **fields: Any) -> Decision:
    """A Decision of the running workflow: automation, version, environment, dry run and definition
    hash from the task's context, the event and execution from the task, the rest from `fields`."""
    keel = task.keel
    return Decision(
        automation=keel.automation,
        automation_version=keel.version,
        environment=keel.environment,
        dry_run=keel.dry_run,
        shadow=keel.shadow,
        definition_hash=keel.definition_hash,
        event_id=task.event_id,
        execution_arn=task.execution,
        **fields,
    )


class DecisionRecord(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    recorded_at: str
    prev_hash: str
    hash: str
    decision: Decision


class Recorder(Protocol):
    """What logic needs of the decision log: append a decision. Modules hand theirs to their automation's
    writer (functions/shared/adapters/decision_writer.py); the writer appends with DecisionLog; tests fake it."""

    def record(self, decision: Decision) -> DecisionRecord: ...

    def record_all(self, decisions: Sequence[Decision]) -> list[DecisionRecord]:
        """Several decisions of one step, appended together and in order."""
        ...


def digest(value: Any) -> str:
    """sha256 of the canonical JSON of a value: how inputs are fingerprinted in decisions."""
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(seq: int, prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{seq}|{prev_hash}|{body}".encode()).hexdigest()


CHAIN_PREFIX, RECORD_PREFIX = "chain#", "seq#"


def _chain_pk(automation: str) -> str:
    return f"{CHAIN_PREFIX}{automation}"


def chain_partition(automation: str) -> str:
    """The partition of an automation's records and head."""
    return _chain_pk(automation)


def marker_partition_prefix(automation: str) -> str:
    """What every step marker of an automation's partition key starts with."""
    return f"step#{automation}#"


def _marker_key(decision: Decision) -> dict[str, str]:
    return {"pk": f"{marker_partition_prefix(decision.automation)}{decision.execution_arn}#{decision.step}", "sk": "marker"}


def _seq_sk(seq: int) -> str:
    return f"{RECORD_PREFIX}{seq:012d}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class AppendBackoff:
    """How a writer that lost the race for the chain's head waits before looking again.

    Exponential backoff with full jitter (a random wait between 0 and min(cap, step * 2^attempt)),
    which spreads contending writers out instead of letting them collide again in lockstep:
    https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/
    The step is the base or the time the lost attempt took, whichever is longer: a writer that waits
    less than one read-and-write of the head only collides again (on AWS an attempt takes 20-60 ms,
    so the base governs; on a loaded machine an attempt can take ten times that).
    The cap is of the order of a chain's busy period. How long a writer keeps trying is its budget:
    the time its Lambda has left, less `reserve_seconds` to finish (DecisionLog.within); without a
    clock to go by (an operator's command, a test), `attempts`, which at most waits
    0.025+0.05+...+1.6 + 4 x 2 = 11.2 s, inside the 15 s timeout of the shortest module that records.
    """

    attempts: int = 12
    base_seconds: float = 0.025
    cap_seconds: float = 2.0
    # What an append keeps of its Lambda's time for a last attempt and its answer.
    reserve_seconds: float = 2.0

    def delay(self, attempt: int, draw: Callable[[], float], attempt_seconds: float = 0.0) -> float:
        step = max(self.base_seconds, attempt_seconds)
        return draw() * min(self.cap_seconds, step * float(2**attempt))


@dataclass(frozen=True)
class Waiting:
    """How a DecisionLog waits between attempts: real time in production, recorded in tests."""

    backoff: AppendBackoff = field(default_factory=AppendBackoff)
    sleep: Callable[[float], None] = time.sleep
    draw: Callable[[], float] = random.random
    # Seconds the running Lambda has left (its context's remaining time), or None: count attempts.
    time_left: Callable[[], float] | None = None
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class _Budget:
    """One append's attempts so far, and whether another is worth its wait."""

    waiting: Waiting
    lost: int = 0

    def wait_after_losing(self, attempt_seconds: float) -> bool:
        """Wait before the next attempt and say True, or say False: the budget is spent."""
        backoff, waiting = self.waiting.backoff, self.waiting
        self.lost += 1
        delay = backoff.delay(self.lost - 1, waiting.draw, attempt_seconds)
        if waiting.time_left is None:
            if self.lost >= backoff.attempts:
                return False
        # Room for the wait, then one more attempt and the answer. The time an attempt took is no
        # guide here: it is mostly waiting for DynamoDB, which the local cloud's Lambda clock does
        # not count (keel/local/lambda_pool.py) and which on AWS takes tens of milliseconds.
        elif waiting.time_left() < delay + backoff.reserve_seconds:
            return False
        waiting.sleep(delay)
        return True


class DecisionLog:
    def __init__(self, table: Table, clock: Callable[[], str] = _now, waiting: Waiting | None = None) -> None:
        self.table = table
        self.clock = clock
        self.waiting = waiting or Waiting()

    def within(self, time_left: Callable[[], float]) -> DecisionLog:
        """This log, trying an append for as long as `time_left()` seconds allow (a Lambda's remaining
        time) rather than a fixed number of attempts: while other writers keep moving the head, the
        chain is busy, not stuck, and the writer keeps its place until its own time runs short."""
        return DecisionLog(self.table, self.clock, replace(self.waiting, time_left=time_left))

    def record(self, decision: Decision) -> DecisionRecord:
        """Append a decision to its automation's chain; recording the same (execution, step) again
        returns the first record instead of appending. The reason is kept short and free of stack
        traces and file paths (functions/shared/domain/reasons.py)."""
        return self.record_all([decision])[0]

    def record_all(self, decisions: Sequence[Decision]) -> list[DecisionRecord]:
        """Append decisions of one automation, in order, in one transaction with one move of the head:
        a step that records several (check_guardrails: one per guardrail) takes its turn at the chain
        once, not once per decision. Steps already recorded return their first records."""
        batch = [_with_short_reason(decision) for decision in decisions]
        _check_batch(batch)
        budget = _Budget(self.waiting)
        recorded: dict[int, DecisionRecord] = {}
        # A first attempt assumes nothing was recorded yet; its markers' conditions say if that was wrong.
        steps_may_be_recorded = False
        while True:
            if steps_may_be_recorded:
                recorded = self._recorded_steps(batch)
            pending = [index for index in range(len(batch)) if index not in recorded]
            if not pending:
                return [recorded[index] for index in range(len(batch))]
            started = self.waiting.monotonic()
            head = self.table.get({"pk": _chain_pk(batch[0].automation), "sk": HEAD})
            try:
                appended = self._append([batch[index] for index in pending], head)
            except TransactionConflict as conflict:
                # The head moved (another execution appended), or a step raced a retry of itself:
                # only then are the steps' markers worth reading.
                steps_may_be_recorded = any(reason != "None" for reason in conflict.reasons[: len(pending)])
                if not budget.wait_after_losing(self.waiting.monotonic() - started):
                    raise ConflictError(
                        f"could not append to the {batch[0].automation} decision chain: "
                        f"{budget.lost} attempts lost to other writers"
                    ) from None
                continue
            recorded.update(zip(pending, appended, strict=True))
            return [recorded[index] for index in range(len(batch))]

    def _recorded_steps(self, batch: list[Decision]) -> dict[int, DecisionRecord]:
        found = {index: self._recorded_step(decision, _marker_key(decision)) for index, decision in enumerate(batch)}
        return {index: record for index, record in found.items() if record is not None}

    def _recorded_step(self, decision: Decision, marker_key: dict[str, str]) -> DecisionRecord | None:
        marker = self.table.get(marker_key)
        if marker is None:
            return None
        item = self.table.get({"pk": _chain_pk(decision.automation), "sk": _seq_sk(int(marker["seq"]))})
        if item is None:
            raise ConflictError(f"step marker {marker_key['pk']} points at a missing record {marker['seq']}")
        return _record_from_item(item)

    def _append(self, batch: list[Decision], head: dict[str, Any] | None) -> list[DecisionRecord]:
        automation = batch[0].automation
        seq = int(head["seq"]) if head else 0
        prev_hash = str(head["hash"]) if head else GENESIS
        records: list[DecisionRecord] = []
        markers: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for decision in batch:
            seq += 1
            recorded_at = self.clock()
            fields: dict[str, Any] = {"recorded_at": recorded_at, **decision.model_dump(mode="json")}
            body = canonical(fields)
            record_hash = chain_hash(seq, prev_hash, body)
            item = {"pk": _chain_pk(automation), "sk": _seq_sk(seq), "seq": seq, "body": body}
            item |= {"prev_hash": prev_hash, "hash": record_hash, **index_copies(fields)}
            markers.append(
                {"Put": {"Item": {**_marker_key(decision), "seq": seq}, "ConditionExpression": "attribute_not_exists(pk)"}}
            )
            items.append({"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}})
            records.append(
                DecisionRecord(seq=seq, recorded_at=recorded_at, prev_hash=prev_hash, hash=record_hash, decision=decision)
            )
            prev_hash = record_hash
        new_head = {"pk": _chain_pk(automation), "sk": HEAD, "seq": seq, "hash": prev_hash}
        head_write: dict[str, Any]
        if head:
            expected = {":expected": int(head["seq"])}
            head_write = {
                "Put": {"Item": new_head, "ConditionExpression": "seq = :expected", "ExpressionAttributeValues": expected}
            }
        else:
            head_write = {"Put": {"Item": new_head, "ConditionExpression": "attribute_not_exists(pk)"}}
        # Markers first: a conflict's reasons then say, in the batch's order, which steps were recorded.
        self.table.transact_write([*markers, head_write, *items])
        return records

    def chain(self, automation: str, *, newest_first: bool = False) -> Iterator[DecisionRecord]:
        return (_record_from_item(item) for item in self.chain_items(automation, newest_first=newest_first))

    def chain_items(
        self, automation: str, *, newest_first: bool = False, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The chain's items as stored (body, hashes, index copies), in seq order: what verification reads."""
        return self.table.query(
            "pk = :pk AND begins_with(sk, :seq)",
            {":pk": _chain_pk(automation), ":seq": RECORD_PREFIX},
            forward=not newest_first,
            page_size=page_size,
        )

    def head(self, automation: str) -> dict[str, Any] | None:
        return self.table.get({"pk": _chain_pk(automation), "sk": HEAD})

    def for_execution(self, execution_arn: str) -> list[DecisionRecord]:
        """In the chain's order: an execution's records are all its automation's, and the writer's and an
        operator's clocks may differ (an answer recorded by `keel ops approve` comes before what follows it)."""
        return sorted(self._by_index(BY_EXECUTION, "execution_arn", execution_arn), key=lambda record: record.seq)

    def for_event(self, event_id: str) -> list[DecisionRecord]:
        return self._by_index(BY_EVENT, "event_id", event_id)

    def last_action_on_resource(self, resource: str, since: datetime, *, other_than: str | None = None) -> DecisionRecord | None:
        """The newest real action on a resource since a time (taken, or planned by a workflow that passed
        its guardrails; not a dry run), by an execution other than `other_than`: cooldowns.

        Reads the sparse by_action_on index backwards: refusals and checks recorded on a busy resource
        are not in it, so this reads one or two items, not the resource's whole history.
        """
        items = self.table.query(
            "action_on = :r AND recorded_at >= :since",
            {":r": resource, ":since": since.isoformat(timespec="milliseconds")},
            index=BY_ACTION_ON,
            forward=False,
            page_size=ACTIONS_PAGE,
        )
        for item in items:
            if other_than is None or item["execution_arn"] != other_than:
                return _record_from_item(item)
        return None

    def actions_in_window(self, automation: str, since: datetime, at_most: int | None = None) -> list[DecisionRecord]:
        """Actions an automation took since a time, newest first: blast-radius caps.

        Reads the chain backwards and stops at the window's start, or once `at_most` actions are
        found: a cap check needs to know only whether the cap is reached, and the chain only grows.
        """
        cutoff = since.isoformat(timespec="milliseconds")
        taken: list[DecisionRecord] = []
        for item in self.chain_items(automation, newest_first=True, page_size=WINDOW_PAGE):
            if item["recorded_at"] < cutoff or (at_most is not None and len(taken) >= at_most):
                break
            body = json.loads(item["body"])
            if body.get("outcome") == "taken":  # only those are validated into records
                taken.append(_record_from_item(item, body))
        return taken

    def _by_index(self, index: str, attribute: str, value: str) -> list[DecisionRecord]:
        items = self.table.query("#a = :v", {":v": value}, index=index, names={"#a": attribute})
        # Records made in the same millisecond keep their order in the chain.
        return sorted((_record_from_item(item) for item in items), key=lambda record: (record.recorded_at, record.seq))


def _record_from_item(item: dict[str, Any], body: dict[str, Any] | None = None) -> DecisionRecord:
    """The record an item holds; `body` when the caller has already parsed the item's body."""
    body = dict(json.loads(item["body"]) if body is None else body)
    recorded_at = body.pop("recorded_at")
    return DecisionRecord(
        seq=int(item["seq"]),
        recorded_at=recorded_at,
        prev_hash=item["prev_hash"],
        hash=item["hash"],
        decision=Decision.model_validate(body),
    )


def index_copies(body: dict[str, Any]) -> dict[str, Any]:
    """The attributes a record's item copies out of its hashed body for the indexes. Verification
    recomputes them from the body: edited copies could steer a lookup (or a cooldown) to other records."""
    copies = {name: body.get(name) for name in ("recorded_at", "event_id", "execution_arn", "automation")}
    if body.get("resource"):
        copies["resource"] = body["resource"]
    if _acts_on(body):
        copies["action_on"] = body["resource"]
    return copies


INDEX_COPIES = ("recorded_at", "event_id", "execution_arn", "automation", "resource", "action_on")


def _check_batch(batch: list[Decision]) -> None:
    if not batch:
        raise ValueError("record_all needs at least one decision")
    if len(batch) > MAX_BATCH:
        raise ValueError(f"record_all appends at most {MAX_BATCH} decisions at once, not {len(batch)}")
    steps = [(decision.execution_arn, decision.step) for decision in batch]
    if len(set(steps)) < len(steps):
        raise ValueError("record_all appends each (execution, step) once: a transaction writes an item once")
    automations = {decision.automation for decision in batch}
    if len(automations) > 1:
        raise ValueError(f"record_all appends to one automation's chain, not to {sorted(automations)}")


def _with_short_reason(decision: Decision) -> Decision:
    reason = short_reason(decision.reason)
    return decision if reason == decision.reason else decision.model_copy(update={"reason": reason})


def _acts_on(body: dict[str, Any]) -> bool:
    """A real action on a resource: what cooldowns look for."""
    return bool(body.get("resource")) and body.get("outcome") in ("taken", "planned") and not body.get("dry_run")
