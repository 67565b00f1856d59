"""TransactWriteItems under the local cloud's patch: all or nothing, without copying whole tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from keel.local import moto_patches, moto_transactions
from tests.support.moto_hooks import IdleHooks

TABLE = "decisions"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws(), moto_patches.installed(IdleHooks()):
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(50):
            client.put_item(TableName=TABLE, Item={"pk": {"S": "chain"}, "sk": {"S": f"seq#{n:04d}"}, "n": {"N": str(n)}})
        client.put_item(TableName=TABLE, Item={"pk": {"S": "chain"}, "sk": {"S": "head"}, "seq": {"N": "49"}})
        yield client


def put(sk: str, condition: str | None = None, **attributes: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"TableName": TABLE, "Item": {"pk": {"S": "chain"}, "sk": {"S": sk}, **attributes}}
    if condition:
        body["ConditionExpression"] = condition
    return {"Put": body}


def items(client: Any) -> dict[str, dict[str, Any]]:
    found = client.query(TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "chain"}})
    return {item["sk"]["S"]: item for item in found["Items"]}


def test_a_failed_transaction_leaves_every_named_item_as_it_was(dynamodb: Any) -> None:
    # Given a chain of 50 records and its head
    before = items(dynamodb)

    # When a transaction writes a new record, moves the head, updates a record, then fails its last condition
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                put("seq#0050", "attribute_not_exists(pk)", n={"N": "50"}),
                put("head", seq={"N": "50"}),
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "chain"}, "sk": {"S": "seq#0001"}},
                        "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "999"}},
                    }
                },
                put("seq#0002", "attribute_not_exists(pk)", n={"N": "2"}),  # exists: the condition fails
            ]
        )

    # Then nothing changed: no new record, the head and the updated record are as before
    assert items(dynamodb) == before


def test_a_successful_transaction_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[put("seq#0050", "attribute_not_exists(pk)", n={"N": "50"}), put("head", seq={"N": "50"})]
    )

    after = items(dynamodb)
    assert after["seq#0050"]["n"] == {"N": "50"}
    assert after["head"]["seq"] == {"N": "50"}


def test_moto_no_longer_copies_the_tables_a_transaction_names(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a count of deep copies of moto Table objects during a transaction
    copied: list[str] = []
    real = moto_transactions.copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:
        if type(value).__name__ == "Table":
            copied.append(value.name)
        return real(value, memo)

    monkeypatch.setattr(moto_transactions.copy, "deepcopy", counting)
    # When a transaction runs
    dynamodb.transact_write_items(TransactItems=[put("seq#0050", n={"N": "50"})])
    # Then no table was copied
    assert copied == []
