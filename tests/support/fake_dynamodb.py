"""A DynamoDB client in memory, for the project's Table adapter (functions/shared/adapters/dynamodb.py).

The adapter serializes every item itself (numbers through boto3's DynamoDB context, so a number
DynamoDB cannot hold fails there, as it would on AWS) and hands this client wire-format items. The
client keeps them per table, answers GetItem, PutItem, TransactWriteItems and the key conditions
Keel queries with, and evaluates the conditions Keel writes with. Anything else raises, so a test
never passes on an operation it does not do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, Any]
# Sort key of each index Keel queries (infra/constructs/platform.py); tables sort on `sk`.
INDEX_SORT_KEYS = {"by_status": "requested_at"}
DEFAULT_INDEX_SORT_KEY = "recorded_at"
_KEY_CONDITION = re.compile(
    r"^(?P<name>[#\w]+) = (?P<value>:\w+)"
    r"(?: AND (?:begins_with\((?P<prefix_name>[#\w]+), (?P<prefix>:\w+)\)|(?P<from_name>[#\w]+) >= (?P<from>:\w+)))?$"
)
_CONDITION = re.compile(r"attribute_not_exists\((?P<missing>[#\w]+)\)|(?P<name>[#\w]+) (?P<op>=|<=) (?P<value>:\w+)")


def _key(item: Item) -> tuple[str, ...]:
    names = ("pk", "sk") if "pk" in item else ("id",)
    return tuple(str(item[name]) for name in names)


@dataclass
class FakeDynamoDB:
    tables: dict[str, dict[tuple[str, ...], Item]] = field(default_factory=dict)

    def _table(self, name: str) -> dict[tuple[str, ...], Item]:
        return self.tables.setdefault(name, {})

    def get_item(self, *, TableName: str, Key: Item, ConsistentRead: bool = True) -> dict[str, Any]:
        item = self._table(TableName).get(_key(Key))
        return {"Item": item} if item is not None else {}

    def put_item(self, *, TableName: str, Item: Item, **condition: Any) -> dict[str, Any]:
        if not self._holds(TableName, Item, condition):
            raise _error("ConditionalCheckFailedException", "The conditional request failed")
        self._table(TableName)[_key(Item)] = Item
        return {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        reasons = []
        for operation in TransactItems:
            ((kind, body),) = operation.items()
            if kind != "Put":
                raise NotImplementedError(f"FakeDynamoDB does not do {kind} in a transaction")
            reasons.append("None" if self._holds(body["TableName"], body["Item"], body) else "ConditionalCheckFailed")
        if any(reason != "None" for reason in reasons):
            raise _error(
                "TransactionCanceledException", f"Transaction cancelled, please refer cancellation reasons [{', '.join(reasons)}]"
            )
        for operation in TransactItems:
            body = operation["Put"]
            self._table(body["TableName"])[_key(body["Item"])] = body["Item"]
        return {}

    def query(
        self, *, TableName: str, KeyConditionExpression: str, ExpressionAttributeValues: Item, **options: Any
    ) -> dict[str, Any]:
        matched = _KEY_CONDITION.match(KeyConditionExpression)
        if matched is None:
            raise NotImplementedError(f"FakeDynamoDB does not query {KeyConditionExpression!r}")
        names = options.get("ExpressionAttributeNames", {})
        attribute, value = names.get(matched["name"], matched["name"]), ExpressionAttributeValues[matched["value"]]
        items = [item for item in self._table(TableName).values() if item.get(attribute) == value]
        if matched["prefix"]:
            prefix_name = names.get(matched["prefix_name"], matched["prefix_name"])
            prefix = ExpressionAttributeValues[matched["prefix"]]["S"]
            items = [item for item in items if item.get(prefix_name, {}).get("S", "").startswith(prefix)]
        if matched["from"]:
            from_name = names.get(matched["from_name"], matched["from_name"])
            start = ExpressionAttributeValues[matched["from"]]["S"]
            items = [item for item in items if item.get(from_name, {}).get("S", "") >= start]
        index = options.get("IndexName")
        sort_key = INDEX_SORT_KEYS.get(index, DEFAULT_INDEX_SORT_KEY) if index else "sk"
        items.sort(
            key=lambda item: str(next(iter(item.get(sort_key, {"S": ""}).values()))),
            reverse=not options.get("ScanIndexForward", True),
        )
        return {"Items": items[: options["Limit"]] if options.get("Limit") else items}

    def _holds(self, table: str, item: Item, request: dict[str, Any]) -> bool:
        """Keel's conditions: `attribute_not_exists(x)`, `x = :v`, `x <= :n` (numbers), joined by OR."""
        expression = request.get("ConditionExpression")
        if not expression:
            return True
        existing = self._table(table).get(_key(item))
        names, values = request.get("ExpressionAttributeNames", {}), request.get("ExpressionAttributeValues", {})
        for alternative in expression.split(" OR "):
            matched = _CONDITION.fullmatch(alternative.strip())
            if matched is None:
                raise NotImplementedError(f"FakeDynamoDB does not evaluate {alternative!r}")
            if matched["missing"]:
                if existing is None or names.get(matched["missing"], matched["missing"]) not in existing:
                    return True
            elif existing is not None:
                stored = existing.get(names.get(matched["name"], matched["name"]))
                if _compares(stored, matched["op"], values[matched["value"]]):
                    return True
        return False


def _compares(stored: dict[str, str] | None, op: str, value: dict[str, str]) -> bool:
    if stored is None:
        return False
    if op == "=":
        return stored == value
    return "N" in stored and "N" in value and float(stored["N"]) <= float(value["N"])


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "FakeDynamoDB")
