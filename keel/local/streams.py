"""DynamoDB streams delivered to Lambda functions, as Lambda's event source mappings deliver them, and the
S3 buckets they may write to: what the decision record's anchor needs of the local cloud.

moto keeps a table's stream records (the DynamoDB Streams API reads them) and, given an event source
mapping, invokes the function synchronously inside the write that made the record. That would run the
function in the middle of a transaction, holding up the writer, with other requests let in between its
items. So mappings are not handed to moto: the template's `AWS::Lambda::EventSourceMapping` is kept here,
and a poller reads each mapped stream through the DynamoDB Streams API (GetShardIterator, GetRecords)
and invokes the function through Lambda's Invoke, as Lambda's own poller does, after the writes: from
the stream's oldest record (TRIM_HORIZON, as the mapping asks), in batches of its BatchSize, in order.
A batch whose invocation fails is retried, whole, up to MaximumRetryAttempts (-1: until it succeeds)
and then sent to the mapping's on-failure queue in Lambda's own record format, and the stream moves on
(https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html).
Not emulated: BisectBatchOnFunctionError (a failing batch is retried whole), FilterCriteria,
ParallelizationFactor, batching windows, MaximumRecordAgeInSeconds, tumbling windows.

`AWS::S3::Bucket` is created with its versioning, Object Lock configuration (moto then refuses to
delete a locked version, as S3 does), default encryption and public access block; its bucket policy is
stored without its conditioned statements (see bucket_policy), and server access logging and lifecycle
rules are not emulated.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.local.deploy import Attributes, Deployer

# How long the poller waits between looks at a stream that had nothing new (real seconds).
POLL_SECONDS = 0.05
# Lambda's default batch size for DynamoDB streams.
DEFAULT_BATCH = 100
BUCKET_NAME_LIMIT = 63


@dataclass(frozen=True)
class StreamMapping:
    """One AWS::Lambda::EventSourceMapping on a DynamoDB stream, as the template declares it."""

    stream_arn: str
    function_name: str
    batch_size: int = DEFAULT_BATCH
    max_retries: int = -1
    on_failure: str | None = None  # an SQS queue's ARN
    enabled: bool = True


def event_source_mapping(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    source = str(properties["EventSourceArn"])
    if ":dynamodb:" not in source or "/stream/" not in source:
        deployer.deployment.skipped["AWS::Lambda::EventSourceMapping (not a DynamoDB stream)"] += 1
        return {"Ref": deployer.physical_name(logical_id)}
    destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    deployer.deployment.stream_mappings.append(
        StreamMapping(
            stream_arn=source,
            function_name=str(properties["FunctionName"]),
            batch_size=int(properties.get("BatchSize", DEFAULT_BATCH)),
            max_retries=int(properties.get("MaximumRetryAttempts", -1)),
            on_failure=str(destination) if destination else None,
            enabled=bool(properties.get("Enabled", True)),
        )
    )
    return {"Ref": deployer.physical_name(logical_id), "Id": deployer.physical_name(logical_id)}


def bucket(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("BucketName") or _generated_bucket_name(deployer, logical_id)
    s3 = deployer.client("s3")
    arguments: dict[str, Any] = {"Bucket": name, "ObjectLockEnabledForBucket": bool(properties.get("ObjectLockEnabled"))}
    if deployer.region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": deployer.region}
    s3.create_bucket(**arguments)
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": properties["VersioningConfiguration"]["Status"]})
    lock = properties.get("ObjectLockConfiguration")
    if lock:
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
    encryption = properties.get("BucketEncryption")
    if encryption:
        # CloudFormation spells the rules ServerSideEncryptionConfiguration[].ServerSideEncryptionByDefault;
        # the API Rules[].ApplyServerSideEncryptionByDefault.
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if key == "ServerSideEncryptionByDefault" else key): value
                for key, value in rule.items()
            }
            for rule in encryption["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in properties:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"])
    for unemulated in ("LoggingConfiguration", "LifecycleConfiguration"):
        if unemulated in properties:
            deployer.deployment.skipped[f"AWS::S3::Bucket {unemulated}"] += 1
    return {
        "Ref": name,
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{deployer.region}.amazonaws.com",
    }


def bucket_policy(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    """The policy's unconditioned statements only. moto evaluates a bucket policy's Deny statements on object
    requests without their Condition (moto/s3/responses.py asks bucket.get_permission(action, resource)), so a
    conditioned Deny (TLS only, only the anchor function creates objects) would refuse every request, the
    anchor function's too. Those statements are left out here and counted as not emulated; an unconditioned
    Deny (no one deletes an anchored record) is kept and moto enforces it."""
    document = properties["PolicyDocument"]
    statements = document.get("Statement", [])
    kept = [statement for statement in statements if "Condition" not in statement]
    if len(kept) < len(statements):
        deployer.deployment.skipped["AWS::S3::BucketPolicy statements with a Condition"] += len(statements) - len(kept)
    if kept:
        policy = {**document, "Statement": kept}
        deployer.client("s3").put_bucket_policy(Bucket=properties["Bucket"], Policy=json.dumps(policy))
    return {"Ref": deployer.physical_name(logical_id)}


def _generated_bucket_name(deployer: Deployer, logical_id: str) -> str:
    """What CloudFormation would generate: lower case, letters, digits and dashes, at most 63 characters."""
    name = "".join(character if character.isalnum() else "-" for character in deployer.physical_name(logical_id).lower())
    return name[:BUCKET_NAME_LIMIT].strip("-")


CREATORS: dict[str, Callable[[Deployer, str, dict[str, Any]], Attributes]] = {
    "AWS::Lambda::EventSourceMapping": event_source_mapping,
    "AWS::S3::Bucket": bucket,
    "AWS::S3::BucketPolicy": bucket_policy,
}


@dataclass
class _Position:
    """Where a mapping is in its stream: the next shard iterator, and the failed attempts of the batch at hand."""

    iterator: str | None = None
    attempts: int = 0


@dataclass
class StreamDelivery:
    """Polls every mapped stream and invokes its function with each batch, on a thread of its own."""

    mappings: list[StreamMapping]
    client: Callable[[str], Any]
    region: str
    delivered: list[dict[str, Any]] = field(default_factory=list)  # one entry per batch handed over

    def __post_init__(self) -> None:
        self._positions = {id(mapping): _Position() for mapping in self.mappings}
        self._streams_client: Any = None
        self._polling = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keel-local-streams", daemon=True)

    def start(self) -> None:
        if self.mappings:
            # The client is made here, not on the poller's first look: making one takes a few hundred ms of
            # CPU, which would otherwise compete with the first executions a test or a demo starts.
            self._streams()
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def drain(self, timeout: float = 30.0) -> None:
        """Deliver everything written so far: returns once no mapped stream has a record left to hand over."""
        deadline = time.monotonic() + timeout
        while self.poll() and time.monotonic() < deadline:
            pass

    def poll(self) -> bool:
        """One look at every stream; True when a batch was handed over (or failed and will be retried)."""
        with self._polling:
            return any([self._poll(mapping) for mapping in self.mappings if mapping.enabled])

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.poll():
                self._stop.wait(POLL_SECONDS)

    def _poll(self, mapping: StreamMapping) -> bool:
        position = self._positions[id(mapping)]
        streams = self._streams()
        if position.iterator is None:
            shards = streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]
            if not shards:
                return False
            position.iterator = streams.get_shard_iterator(
                StreamArn=mapping.stream_arn, ShardId=shards[0]["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        page = streams.get_records(ShardIterator=position.iterator, Limit=mapping.batch_size)
        records = page.get("Records", [])
        if not records:
            position.iterator = page.get("NextShardIterator", position.iterator)
            return False
        if self._invoke(mapping, records) or self._give_up(mapping, records, position):
            position.iterator, position.attempts = page.get("NextShardIterator"), 0
        return True

    def _streams(self) -> Any:
        """A DynamoDB Streams client addressing the regional endpoint: given a stream ARN, botocore would
        address <account>.streams-ddb.<region>, which moto does not serve."""
        if self._streams_client is None:
            import boto3
            from botocore.config import Config

            self._streams_client = boto3.client(
                "dynamodbstreams", region_name=self.region, config=Config(account_id_endpoint_mode="disabled")
            )
        return self._streams_client

    def _invoke(self, mapping: StreamMapping, records: list[dict[str, Any]]) -> bool:
        event = {"Records": [self._lambda_record(mapping, record) for record in records]}
        response = self.client("lambda").invoke(FunctionName=mapping.function_name, Payload=json.dumps(event).encode())
        failed = bool(response.get("FunctionError"))
        delivered: dict[str, Any] = {"function": mapping.function_name, "records": len(records), "failed": failed}
        if failed:  # the function's error, for whoever looks at what was delivered
            delivered["error"] = response["Payload"].read().decode(errors="replace")
        self.delivered.append(delivered)
        return not failed

    def _give_up(self, mapping: StreamMapping, records: list[dict[str, Any]], position: _Position) -> bool:
        """After a failed batch: True once its retries are spent (it went to the on-failure queue)."""
        position.attempts += 1
        if mapping.max_retries < 0 or position.attempts <= mapping.max_retries:
            return False
        if mapping.on_failure:
            self._send_failure(mapping, records, position.attempts)
        return True

    def _send_failure(self, mapping: StreamMapping, records: list[dict[str, Any]], attempts: int) -> None:
        """The invocation record Lambda sends an on-failure destination for a stream batch: where it was, not what."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        message = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
                "functionArn": mapping.function_name,
            },
            "DDBStreamBatchInfo": {
                "shardId": "local",
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": mapping.stream_arn,
            },
        }
        queue = mapping.on_failure or ""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=queue.rsplit(":", 1)[-1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))

    def _lambda_record(self, mapping: StreamMapping, record: dict[str, Any]) -> dict[str, Any]:
        """A stream record as Lambda hands it to a function: the change's creation time in epoch seconds."""
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": change,
            "eventSourceARN": mapping.stream_arn,
        }


@contextmanager
def delivering(mappings: list[StreamMapping], client: Callable[[str], Any], region: str) -> Iterator[StreamDelivery]:
    """Streams delivered for the duration of the block (`drain` waits for what is written so far)."""
    delivery = StreamDelivery(mappings, client, region)
    delivery.start()
    try:
        yield delivery
    finally:
        delivery.stop()
