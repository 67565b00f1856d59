"""The decision record against its anchor, on moto: the table's stream copied by anchor_decisions into an
S3 bucket under Object Lock, and `keel ops verify-chain`'s comparison catching each way of tampering
with the table, including the rewrites the table's own hash chain cannot see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.anchor_decisions import logic as anchoring
from functions.shared.adapters.anchor_bucket import AnchorBucket
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain import anchor
from functions.shared.domain.decisions import Decision, DecisionLog, canonical, chain_hash, digest
from keel.ops import ledger

AUTOMATION = "alarm_remediation"
BUCKET = "keel-dev-decision-anchor"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
# Verification runs a day after the records: any record not anchored by then is a problem, not pending.
LATER = START + timedelta(days=1)


@dataclass
class Ledger:
    """The decisions table with its stream, the anchor bucket, and the stream's delivery to anchor_decisions."""

    dynamodb: Any
    streams: Any
    s3: Any
    log: DecisionLog
    bucket: AnchorBucket
    iterator: str

    def deliver(self) -> None:
        """Hand every stream record written so far to anchor_decisions, as Lambda's poller does."""
        page = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = page["NextShardIterator"]
        records = [{**record, "dynamodb": _epoch_seconds(record["dynamodb"])} for record in page["Records"]]
        if records:
            anchoring.anchor_batch(
                anchoring.StreamBatch.model_validate({"Records": records}), anchoring.Dependencies(self.bucket)
            )

    def verify(self) -> ledger.ChainReport:
        self.deliver()
        return ledger.verify(self.log, self.bucket, AUTOMATION, now=LATER)

    def item(self, seq: int) -> dict[str, Any]:
        return self.dynamodb.get_item(TableName="decisions", Key=_key(f"seq#{seq:012d}"))["Item"]

    def put(self, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName="decisions", Item=item)

    def delete(self, sort_key: str, partition: str = f"chain#{AUTOMATION}") -> None:
        self.dynamodb.delete_item(TableName="decisions", Key=_key(sort_key, partition))


def _key(sort_key: str, partition: str = f"chain#{AUTOMATION}") -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": sort_key}}


def _epoch_seconds(change: dict[str, Any]) -> dict[str, Any]:
    created = change.get("ApproximateCreationDateTime")
    return {**change, "ApproximateCreationDateTime": created.timestamp()} if isinstance(created, datetime) else change


@pytest.fixture
def ledger_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        table = dynamodb.create_table(
            TableName="decisions",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        # Stream ARNs name their account: botocore would address <account>.streams-ddb..., which moto does not serve.
        streams = boto3.client("dynamodbstreams", region_name="eu-west-1", config=Config(account_id_endpoint_mode="disabled"))
        shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=table["LatestStreamArn"], ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket=BUCKET, ObjectLockEnabledForBucket=True, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 184}},
            },
        )
        times = iter(START + timedelta(seconds=n) for n in range(1, 10_000))
        log = DecisionLog(Table("decisions", dynamodb), clock=lambda: next(times).isoformat(timespec="milliseconds"))
        world = Ledger(dynamodb, streams, s3, log, AnchorBucket(BUCKET, s3), iterator)
        for n in (1, 2, 3):
            log.record(decision(n))
        world.deliver()
        yield world


def decision(n: int, **overrides: Any) -> Decision:
    values: dict[str, Any] = {
        "automation": AUTOMATION,
        "automation_version": "1.0.0",
        "environment": "dev",
        "event_id": f"event-{n}",
        "execution_arn": f"arn:aws:states:eu-west-1:111111111111:execution:keel-dev-{AUTOMATION}:run-{n}",
        "step": "Act",
        "action": "ecs_force_new_deployment",
        "outcome": "taken",
        "reason": "runbook api-5xx-restart matched",
        "resource": "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api",
        "input_digest": digest({"n": n}),
    }
    return Decision(**{**values, **overrides})


def problems(report: ledger.ChainReport) -> list[str]:
    return [str(problem) for problem in report.problems]


def test_an_untouched_chain_is_intact_and_every_record_is_anchored(ledger_world: Ledger) -> None:
    # Given three records, delivered to the anchor / When verified
    report = ledger_world.verify()

    # Then nothing is wrong and all three are anchored
    assert (report.ok, report.checked, report.anchored, report.pending) == (True, 3, 3, [])


def test_an_edited_body_is_named(ledger_world: Ledger) -> None:
    # Given record 2's body edited in place
    item = ledger_world.item(2)
    item["body"] = {"S": item["body"]["S"].replace("ecs_force_new_deployment", "nothing")}
    ledger_world.put(item)

    # When verified / Then record 2 is named: its hash, its anchored copy, and the change the stream saw
    found = problems(ledger_world.verify())
    assert "record 2: its hash does not match its body: modified after it was recorded" in found
    assert "record 2: differs from its anchored copy: body" in found
    assert any(line.startswith("record 2: changed in the table") for line in found)


def test_a_chain_rehashed_forward_from_an_edited_record_is_caught_by_the_anchor(ledger_world: Ledger) -> None:
    # Given records 2 and 3 rewritten with consistent hashes and the head moved to match
    prev = ledger_world.item(1)["hash"]["S"]
    for seq in (2, 3):
        item = ledger_world.item(seq)
        body = json.loads(item["body"]["S"])
        body["reason"] = "an operator asked for it"
        item["body"] = {"S": canonical(body)}
        item["prev_hash"] = {"S": prev}
        item["hash"] = {"S": chain_hash(seq, prev, item["body"]["S"])}
        prev = item["hash"]["S"]
        ledger_world.put(item)
    ledger_world.put({**_key("head"), "seq": {"N": "3"}, "hash": {"S": prev}})
    # (the table on its own cannot tell)
    assert ledger.table_problems(ledger_world.log, AUTOMATION) == []

    # When verified against the anchor / Then both rewritten records are named
    found = problems(ledger_world.verify())
    assert "record 2: differs from its anchored copy: body, hash" in found
    assert "record 3: differs from its anchored copy: body, prev_hash, hash" in found


def test_a_truncated_chain_with_its_head_moved_back_is_caught(ledger_world: Ledger) -> None:
    # Given record 3 deleted and the head moved back to record 2
    ledger_world.delete("seq#000000000003")
    ledger_world.put({**_key("head"), "seq": {"N": "2"}, "hash": {"S": ledger_world.item(2)["hash"]["S"]}})
    assert ledger.table_problems(ledger_world.log, AUTOMATION) == []

    # When verified / Then the missing record and the truncation are named
    found = problems(ledger_world.verify())
    assert "record 3: anchored, but missing from the table (deleted)" in found
    assert "the chain's head says 2 records, the anchor holds 3: the chain was truncated" in found


def test_a_chain_deleted_whole_with_its_head_is_caught(ledger_world: Ledger) -> None:
    # Given every record and the head deleted
    for seq in (1, 2, 3):
        ledger_world.delete(f"seq#{seq:012d}")
    ledger_world.delete("head")

    # When verified / Then each record is missing and the deletion is named
    report = ledger_world.verify()
    found = problems(report)
    assert (report.ok, report.checked, report.anchored) == (False, 0, 3)
    assert [f"record {seq}: anchored, but missing from the table (deleted)" in found for seq in (1, 2, 3)] == [True] * 3
    assert "the chain's head is gone, the anchor holds 3 records: the chain was deleted" in found
    assert any(line.startswith("the chain's head removed in the table") for line in found)


def test_a_step_recorded_again_after_its_marker_was_deleted_is_caught(ledger_world: Ledger) -> None:
    # Given the step marker of (run-2, Act) deleted, and the same step recorded again: a second record
    first = decision(2)
    ledger_world.delete("marker", f"step#{AUTOMATION}#{first.execution_arn}#{first.step}")
    again = ledger_world.log.record(decision(2, outcome="skipped", reason="changed my mind"))
    assert again.seq == 4
    assert ledger.table_problems(ledger_world.log, AUTOMATION) == []

    # When verified / Then the duplicate is named with the first record's number
    assert f"record 4: records step Act of {first.execution_arn} again (first recorded as record 2)" in problems(
        ledger_world.verify()
    )


def test_an_edited_index_copy_is_caught(ledger_world: Ledger) -> None:
    # Given record 1's action_on copy pointed at another resource (a fake cooldown on it), the body untouched
    item = ledger_world.item(1)
    item["action_on"] = {"S": "arn:aws:ecs:eu-west-1:111111111111:service/orders/payments-api"}
    ledger_world.put(item)

    # When verified / Then the copy is named, against the body and against the anchor
    found = problems(ledger_world.verify())
    assert "record 1: its action_on was changed outside the hashed body (index copy)" in found
    assert "record 1: differs from its anchored copy: action_on" in found


def test_a_record_not_anchored_is_pending_then_a_problem(ledger_world: Ledger) -> None:
    # Given a fourth record the stream has not delivered yet
    ledger_world.log.record(decision(4))

    # When verified right after it was recorded / Then it is pending; a day later, it is a problem
    soon = ledger.verify(ledger_world.log, ledger_world.bucket, AUTOMATION, now=START + timedelta(seconds=5))
    assert (soon.ok, soon.pending) == (True, [4])
    late = ledger.verify(ledger_world.log, ledger_world.bucket, AUTOMATION, now=LATER)
    assert "record 4: not anchored, 0:15:00 after it was recorded" in problems(late)


def test_an_anchored_copy_is_written_once_and_cannot_be_deleted(ledger_world: Ledger) -> None:
    # Given record 1's anchored copy
    key = anchor.record_key(AUTOMATION, 1)
    original = ledger_world.s3.get_object(Bucket=BUCKET, Key=key)

    # When the stream delivers record 1 again, or someone writes over the key, or deletes its version
    assert ledger_world.bucket.create(key, b"{}") is False
    with pytest.raises(ClientError) as refused:
        ledger_world.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=original["VersionId"])

    # Then the copy stands as written (Object Lock, compliance mode)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert ledger_world.verify().ok
