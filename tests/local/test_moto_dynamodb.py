"""moto's DynamoDB as the local cloud runs it: queries that start from the queried key answer exactly
what moto's own (which looks at every item) answers, and items expire with their TTL."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError

from keel.local import moto_patches
from keel.local.cloud import LocalCloud
from keel.local.template import EnvironmentTemplate
from tests.support.moto_hooks import IdleHooks

TABLE = "keel-test-items"
OPERATIONS = 300
STATUSES = ("pending", "approved", "expired")
OWNERS = ("team-a", "team-b", "team-c")
DAY = 86_400


@contextmanager
def dynamodb(patched: bool) -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws(), moto_patches.installed(IdleHooks()) if patched else _nothing():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "status", "at", "owner", "kind")
            ],
            GlobalSecondaryIndexes=[
                _index("by-status", [("status", "HASH"), ("at", "RANGE")]),
                _index("by-owner", [("owner", "HASH")]),
            ],
            LocalSecondaryIndexes=[_index("by-kind", [("pk", "HASH"), ("kind", "RANGE")])],
        )
        yield client


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _index(name: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": attribute, "KeyType": kind} for attribute, kind in keys],
        "Projection": {"ProjectionType": "ALL"},
    }


def _item(chance: random.Random) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": f"p{chance.randrange(5)}"}, "sk": {"S": f"s{chance.randrange(8)}"}}
    # Sparse indexes: some items lack an index's keys and must not be found through it
    if chance.random() < 0.8:
        item["status"] = {"S": chance.choice(STATUSES)}
        item["at"] = {"S": f"2026-11-{chance.randrange(1, 28):02d}"}
    if chance.random() < 0.7:
        item["owner"] = {"S": chance.choice(OWNERS)}
    if chance.random() < 0.5:
        item["kind"] = {"S": chance.choice(("x", "y"))}
    return item


def _write(client: Any, chance: random.Random) -> None:
    """One write: a put, an update that moves an item between index keys, a delete, or a transaction
    that is cancelled half the time (its writes undone)."""
    kind = chance.randrange(4)
    key = {"pk": {"S": f"p{chance.randrange(5)}"}, "sk": {"S": f"s{chance.randrange(8)}"}}
    try:
        if kind == 0:
            client.put_item(TableName=TABLE, Item=_item(chance))
        elif kind == 1:
            client.update_item(
                TableName=TABLE,
                Key=key,
                UpdateExpression="SET #s = :s, #o = :o",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={":s": {"S": chance.choice(STATUSES)}, ":o": {"S": chance.choice(OWNERS)}},
            )
        elif kind == 2:
            client.delete_item(TableName=TABLE, Key=key)
        else:
            condition = "attribute_exists(pk)" if chance.random() < 0.5 else "attribute_not_exists(pk)"
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": _item(chance)}},
                    {"Delete": {"TableName": TABLE, "Key": key, "ConditionExpression": condition}},
                ]
            )
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("TransactionCanceledException", "ValidationException"):
            raise


def _queries(client: Any) -> list[Any]:
    """Every kind of query: a partition, a range condition, each index, pages, newest first."""
    answers: list[Any] = []
    ask: list[dict[str, Any]] = []
    for partition in range(5):
        values = {":p": {"S": f"p{partition}"}}
        ask.append({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": values})
        ask.append({"KeyConditionExpression": "pk = :p AND sk > :s", "ExpressionAttributeValues": {**values, ":s": {"S": "s3"}}})
        ask.append({"IndexName": "by-kind", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": values})
    for status in STATUSES:
        values = {":s": {"S": status}}
        names = {"#s": "status"}
        ask.append(
            {
                "IndexName": "by-status",
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeValues": values,
                "ExpressionAttributeNames": names,
            }
        )
        ask.append(
            {
                "IndexName": "by-status",
                "KeyConditionExpression": "#s = :s AND #a >= :a",
                "ExpressionAttributeValues": {**values, ":a": {"S": "2026-11-14"}},
                "ExpressionAttributeNames": {**names, "#a": "at"},
                "ScanIndexForward": False,
            }
        )
    for owner in OWNERS:
        ask.append(
            {
                "IndexName": "by-owner",
                "KeyConditionExpression": "#o = :o",
                "ExpressionAttributeValues": {":o": {"S": owner}},
                "ExpressionAttributeNames": {"#o": "owner"},
            }
        )
    for question in ask:
        answers.append(_all_pages(lambda start, q=question: client.query(TableName=TABLE, Limit=3, **q, **start)))
    return answers


def _all_pages(page: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Any]:
    items: list[Any] = []
    start: dict[str, Any] = {}
    while True:
        answer = page(start)
        items += answer["Items"]
        if "LastEvaluatedKey" not in answer:
            return items
        start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}


def _answers(patched: bool) -> list[Any]:
    chance = random.Random(14)
    collected = []
    with dynamodb(patched) as client:
        for step in range(OPERATIONS):
            _write(client, chance)
            if step % 25 == 0:
                collected.append(_queries(client))
        collected.append(_queries(client))
    return collected


def test_queries_answer_what_motos_own_queries_answer() -> None:
    # Given the same writes (puts, updates moving items between index keys, deletes, cancelled
    # transactions) made to a table with and without the local cloud's query path
    # When every kind of query is asked along the way
    # Then both answer the same items, in the same order, page by page
    assert _answers(patched=True) == _answers(patched=False)


def test_items_whose_ttl_has_passed_are_deleted_and_no_others() -> None:
    from moto import mock_aws

    now = time.time()
    with mock_aws(), moto_patches.installed(IdleHooks()):
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
        # Given items that expired, expire later, have no TTL, a TTL that is not a Number, one older than five years
        items = {
            "expired": {"N": str(int(now) - 10)},
            "later": {"N": str(int(now) + 3600)},
            "as-text": {"S": str(int(now) - 10)},
            "ancient": {"N": str(int(now) - 6 * 365 * DAY)},
        }
        for name, expires in items.items():
            client.put_item(TableName=TABLE, Item={"pk": {"S": name}, "expires": expires})
        client.put_item(TableName=TABLE, Item={"pk": {"S": "no-ttl"}})

        # When the local cloud sweeps
        expired = moto_patches.expire_dynamodb_items(now)
        left = sorted(item["pk"]["S"] for item in client.scan(TableName=TABLE)["Items"])

    # Then only the expired item is gone (DynamoDB's TTL ignores the others)
    assert expired == 1
    assert left == ["ancient", "as-text", "later", "no-ttl"]


def test_a_claim_expires_when_the_world_moves_past_its_ttl(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        client = cloud.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
        # Given a claim that expires in an hour of world time
        expires = int(cloud.clock.world_time()) + 3600
        client.put_item(TableName=TABLE, Item={"pk": {"S": "claim"}, "expires": {"N": str(expires)}})

        # When the world moves on a day
        cloud.clock.advance(DAY)
        left = client.scan(TableName=TABLE)["Items"]

    # Then the claim is gone, as DynamoDB's TTL deletes it
    assert left == []
