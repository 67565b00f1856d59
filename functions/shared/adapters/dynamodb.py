"""A DynamoDB table as plain Python dicts, raising the project's exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import ConflictError

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serialize(_to_dynamo(value)) for key, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_dynamo(_deserialize(value)) for key, value in item.items()}


def _to_dynamo(value: Any) -> Any:
    # DynamoDB numbers are decimals: floats go in as the Decimal of their shortest repr.
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(item) for item in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(item) for item in value]
    return value


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
        return self.put_unless_held(values, Expression("attribute_not_exists(#k)", {"#k": key_attribute})) is None

    def put_unless_held(self, values: dict[str, Any], condition: Expression) -> dict[str, Any] | None:
        """Write the item only if `condition` holds. None when written; otherwise the item that stopped
        it, returned by the same request (ReturnValuesOnConditionCheckFailure), so a refusal names what
        holds it without a second read that could already be out of date."""
        request = {"Item": to_item(values), **condition.request("ConditionExpression")}
        return self._conditional("PutItem", self.dynamodb.put_item, request)

    def delete_if(self, key: dict[str, Any], condition: Expression) -> bool:
        """Delete the item only if `condition` holds; False when it does not (or there is no item)."""
        request = {"Key": to_item(key), **condition.request("ConditionExpression")}
        return self._conditional("DeleteItem", self.dynamodb.delete_item, request) is None

    def update_if(
        self, key: dict[str, Any], update: Expression, condition: Expression | None = None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Apply an update expression, only if `condition` holds when given. Returns (the item as
        written, None), or (None, the item that failed the condition; {} when there was none)."""
        request = {"Key": to_item(key), "ReturnValues": "ALL_NEW", **update.request("UpdateExpression", condition)}
        written: dict[str, Any] = {}

        def call(**arguments: Any) -> None:
            written.update(from_item(self.dynamodb.update_item(**arguments).get("Attributes", {})))

        refused = self._conditional("UpdateItem", call, request)
        return (written, None) if refused is None else (None, refused)

    def _conditional(self, operation: str, call: Any, request: dict[str, Any]) -> dict[str, Any] | None:
        """None when the write happened; the item that failed its condition ({} for none) when not."""
        from botocore.exceptions import ClientError

        with aws_errors(f"{operation} on {self.name}"):
            try:
                call(TableName=self.name, ReturnValuesOnConditionCheckFailure="ALL_OLD", **request)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                return from_item(error.response.get("Item") or {})
        return None

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with aws_errors(f"GetItem on {self.name}"):
            response = self.dynamodb.get_item(TableName=self.name, Key=to_item(key), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def query(
        self,
        key_condition: str,
        values: dict[str, Any],
        *,
        index: str | None = None,
        forward: bool = True,
        names: dict[str, str] | None = None,
        page_size: int | None = None,
        consistent: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every item matching the key condition, across pages, in sort-key order. Pages are read as
        the caller iterates: a caller that stops early reads only the pages it needed. `consistent`
        reads the table (not an index) strongly consistently."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": forward,
        }
        if consistent:
            request["ConsistentRead"] = True
        if index:
            request["IndexName"] = index
        if names:
            request["ExpressionAttributeNames"] = names
        if page_size:
            request["Limit"] = page_size
        while True:
            with aws_errors(f"Query on {self.name}"):
                response = self.dynamodb.query(**request)
            yield from (from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        """All or nothing. A failed condition raises TransactionConflict with each operation's reason."""
        from botocore.exceptions import ClientError

        # Cancellations are answered here, with their reasons; any other error goes to aws_errors.
        with aws_errors(f"TransactWriteItems on {self.name}"):
            try:
                self.dynamodb.transact_write_items(TransactItems=[self._operation(op) for op in operations])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
                raise TransactionConflict(reasons or _reasons_from_message(error)) from error

    def _operation(self, operation: dict[str, Any]) -> dict[str, Any]:
        (kind, body), *rest = operation.items()
        if rest:
            raise ValueError("each transaction operation has exactly one kind (Put, Update, ConditionCheck)")
        request = {"TableName": self.name, **body}
        for key in ("Item", "Key"):
            if key in request:
                request[key] = to_item(request[key])
        if "ExpressionAttributeValues" in request:
            request["ExpressionAttributeValues"] = to_item(request["ExpressionAttributeValues"])
        return {kind: request}


class TransactionConflict(ConflictError):
    """A transaction was cancelled; `reasons` has one code per operation ("None" where it passed)."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"transaction cancelled: {', '.join(reasons)}")


def _reasons_from_message(error: Any) -> list[str]:
    # Some implementations only list the reasons in the message: "... reasons [None, ConditionalCheckFailed]".
    message = error.response.get("Error", {}).get("Message", "")
    start, end = message.rfind("["), message.rfind("]")
    if start < 0 or end < start:
        return []
    return [part.strip() for part in message[start + 1 : end].split(",")]


class Expression:
    """An update or condition expression with the attribute names and values it uses."""

    def __init__(self, text: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> None:
        self.text = text
        self.names = dict(names or {})
        self.values = dict(values or {})

    def request(self, field: str, also: Expression | None = None) -> dict[str, Any]:
        """This expression as `field` of a request, with `also` as its ConditionExpression when given."""
        request: dict[str, Any] = {field: self.text}
        names, values = dict(self.names), dict(self.values)
        if also is not None:
            request["ConditionExpression"] = also.text
            names |= also.names
            values |= also.values
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        return request
