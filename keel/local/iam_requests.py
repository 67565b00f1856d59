"""Which IAM permissions an AWS API request needs: the action(s), and the resource ARN when the
request's parameters name it.

The resource is read for the services whose resources Keel's roles name one by one (DynamoDB tables
and indexes, SQS queues, SNS topics, Secrets Manager secrets, EventBridge buses): that is where a
permission left out of a function.yaml or a platform_access entry shows. For every other service the
resource is left unknown (None), and any statement naming the action counts. Where the IAM action is
not the API operation's name, the Service Authorization Reference's mapping is followed:

- the signing name `monitoring` is the IAM prefix `cloudwatch`, `tagging` (the Resource Groups Tagging
  API) is `tag` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonresourcegrouptaggingapi.html);
- lambda:Invoke needs lambda:InvokeFunction; sqs:SendMessageBatch, DeleteMessageBatch and
  ChangeMessageVisibilityBatch need the action of one message
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html);
  sns:PublishBatch needs sns:Publish;
- DynamoDB transactions need each item's own action on its table (PutItem, UpdateItem, DeleteItem,
  ConditionCheckItem, GetItem; there is no TransactWriteItems action), batches BatchWriteItem or
  BatchGetItem on every table they touch
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html);
- sts:GetCallerIdentity needs no permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from keel.local.iam_evaluation import Permission

IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag"}
ACTION_OF = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sns", "PublishBatch"): "Publish",
}
NO_PERMISSION_NEEDED = frozenset({("sts", "GetCallerIdentity")})
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
TABLE_BATCHES = ("BatchWriteItem", "BatchGetItem")
PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))


@dataclass(frozen=True)
class ApiCall:
    """One request as the service receives it."""

    service: str  # the signing name of its credential scope (dynamodb, sqs, monitoring, ...)
    operation: str  # the API operation (PutItem, SendMessage, ...)
    region: str
    account: str
    parameter: Callable[[str], Any]  # the request's top-level parameter of that name, or None
    # A Secrets Manager SecretId (name, ARN or partial ARN) -> the secret's full ARN, None if unknown.
    secret_arn: Callable[[str], str | None] = lambda _secret_id: None

    @property
    def partition(self) -> str:
        return next((partition for prefix, partition in PARTITIONS if self.region.startswith(prefix)), "aws")

    def arn(self, service: str, resource: str, account: str | None = None) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{account or self.account}:{resource}"


def permissions_needed(call: ApiCall) -> list[Permission]:
    if (call.service, call.operation) in NO_PERMISSION_NEEDED:
        return []
    prefix = IAM_PREFIX.get(call.service, call.service)
    reader = RESOURCE_READERS.get(call.service)
    if reader is not None:
        needed = reader(call, prefix)
        if needed is not None:
            return needed
    action = ACTION_OF.get((call.service, call.operation), call.operation)
    return [Permission(f"{prefix}:{action}", None)]


def _dynamodb(call: ApiCall, prefix: str) -> list[Permission] | None:
    if call.operation in ("TransactWriteItems", "TransactGetItems"):
        needed = []
        for item in call.parameter("TransactItems") or []:
            for kind, request in item.items():
                action = "GetItem" if kind == "Get" else TRANSACT_ACTIONS.get(kind, kind)
                needed.append(Permission(f"{prefix}:{action}", _table_arn(call, request.get("TableName"))))
        return needed
    if call.operation in TABLE_BATCHES:
        tables = call.parameter("RequestItems") or {}
        return [Permission(f"{prefix}:{call.operation}", _table_arn(call, table)) for table in tables]
    table = call.parameter("TableName")
    if not table:
        return None
    arn = _table_arn(call, table)
    index = call.parameter("IndexName") if call.operation in ("Query", "Scan") else None
    return [Permission(f"{prefix}:{call.operation}", f"{arn}/index/{index}" if index else arn)]


def _table_arn(call: ApiCall, table: str | None) -> str | None:
    if not table:
        return None
    return table if table.startswith("arn:") else call.arn("dynamodb", f"table/{table}")


def _sqs(call: ApiCall, prefix: str) -> list[Permission] | None:
    action = f"{prefix}:{ACTION_OF.get((call.service, call.operation), call.operation)}"
    url = call.parameter("QueueUrl")
    if url:
        parts = [part for part in urlparse(url).path.split("/") if part]
        if len(parts) >= 2:
            return [Permission(action, call.arn("sqs", parts[-1], parts[-2]))]
        return [Permission(action, call.arn("sqs", url.rsplit("/", 1)[-1]))]
    name = call.parameter("QueueName")
    if name:
        return [Permission(action, call.arn("sqs", name, call.parameter("QueueOwnerAWSAccountId")))]
    return None


def _sns(call: ApiCall, prefix: str) -> list[Permission] | None:
    topic = call.parameter("TopicArn") or call.parameter("TargetArn")
    if not topic and call.operation == "CreateTopic" and call.parameter("Name"):
        topic = call.arn("sns", call.parameter("Name"))
    if not topic:
        return None
    return [Permission(f"{prefix}:{ACTION_OF.get((call.service, call.operation), call.operation)}", topic)]


def _secretsmanager(call: ApiCall, prefix: str) -> list[Permission] | None:
    secret_id = call.parameter("SecretId")
    if not secret_id:
        return None
    arn = call.secret_arn(secret_id) or (secret_id if secret_id.startswith("arn:") else None)
    return [Permission(f"{prefix}:{call.operation}", arn)] if arn else None


def _events(call: ApiCall, prefix: str) -> list[Permission] | None:
    if call.operation != "PutEvents":
        return None
    buses = {entry.get("EventBusName") or "default" for entry in call.parameter("Entries") or []}
    return [
        Permission(f"{prefix}:PutEvents", bus if bus.startswith("arn:") else call.arn("events", f"event-bus/{bus}"))
        for bus in sorted(buses)
    ]


RESOURCE_READERS: dict[str, Callable[[ApiCall, str], list[Permission] | None]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "sns": _sns,
    "secretsmanager": _secretsmanager,
    "events": _events,
}
