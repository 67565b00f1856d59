"""A DynamoDB table as plain Python dicts, raising the project's exceptions."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.errors import ConflictError

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serialize(value) for key, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserialize(value) for key, value in item.items()}


class Table:
    def __init__(self, name: str, dynamodb: Any | None = None) -> None:
        self.name = name
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> Any:
        if self._dynamodb is None:
            self._dynamodb = client("dynamodb")
        return self._dynamodb

    def put(self, values: dict[str, Any]) -> None:
        with aws_errors(f"PutItem on {self.name}"):
            self.dynamodb.put_item(TableName=self.name, Item=to_item(values))

    def put_if_absent(self, values: dict[str, Any], key_attribute: str) -> bool:
        """Write only if no item has this key; False when one already does."""
        try:
            with aws_errors(f"PutItem on {self.name}"):
                self.dynamodb.put_item(
                    TableName=self.name,
                    Item=to_item(values),
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": key_attribute},
                )
        except ConflictError:
            return False
        return True

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with aws_errors(f"GetItem on {self.name}"):
            response = self.dynamodb.get_item(TableName=self.name, Key=to_item(key), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None
