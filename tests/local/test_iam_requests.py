"""The permissions an API request needs: IAM's action names, and the resource where the request names it."""

from __future__ import annotations

from typing import Any

import pytest

from keel.local.iam_evaluation import Permission
from keel.local.iam_requests import ApiCall, permissions_needed

ACCOUNT = "111111111111"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table"


def call(service: str, operation: str, region: str = "eu-west-1", **parameters: Any) -> ApiCall:
    secrets = {"keel/dev/api": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:keel/dev/api-AbCdEf"}
    return ApiCall(service, operation, region, ACCOUNT, parameters.get, secrets.get)


def test_a_dynamodb_request_names_its_table_or_the_index_it_queries() -> None:
    assert permissions_needed(call("dynamodb", "PutItem", TableName="keel-dev-decisions")) == [
        Permission("dynamodb:PutItem", f"{TABLE}/keel-dev-decisions")
    ]
    assert permissions_needed(call("dynamodb", "Query", TableName="keel-dev-decisions", IndexName="by_action_on")) == [
        Permission("dynamodb:Query", f"{TABLE}/keel-dev-decisions/index/by_action_on")
    ]
    assert permissions_needed(call("dynamodb", "GetItem", TableName=f"{TABLE}/by-arn")) == [
        Permission("dynamodb:GetItem", f"{TABLE}/by-arn")
    ]
    assert permissions_needed(call("dynamodb", "ListTables")) == [Permission("dynamodb:ListTables", None)]


def test_a_transaction_needs_each_items_own_action_on_its_table_and_a_batch_its_action_on_each_table() -> None:
    items = [
        {"Put": {"TableName": "keel-dev-decisions"}},
        {"Update": {"TableName": "keel-dev-decisions"}},
        {"ConditionCheck": {"TableName": "keel-dev-idempotency"}},
        {"Delete": {"TableName": "keel-dev-approvals"}},
    ]

    assert permissions_needed(call("dynamodb", "TransactWriteItems", TransactItems=items)) == [
        Permission("dynamodb:PutItem", f"{TABLE}/keel-dev-decisions"),
        Permission("dynamodb:UpdateItem", f"{TABLE}/keel-dev-decisions"),
        Permission("dynamodb:ConditionCheckItem", f"{TABLE}/keel-dev-idempotency"),
        Permission("dynamodb:DeleteItem", f"{TABLE}/keel-dev-approvals"),
    ]
    assert permissions_needed(call("dynamodb", "TransactGetItems", TransactItems=[{"Get": {"TableName": "t"}}])) == [
        Permission("dynamodb:GetItem", f"{TABLE}/t")
    ]
    assert permissions_needed(call("dynamodb", "BatchWriteItem", RequestItems={"a": [], "b": []})) == [
        Permission("dynamodb:BatchWriteItem", f"{TABLE}/a"),
        Permission("dynamodb:BatchWriteItem", f"{TABLE}/b"),
    ]


def test_an_sqs_request_names_its_queue_by_url_or_name_and_a_batch_needs_the_single_action() -> None:
    url = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/keel-dev-ticket_triage-billing"
    queue = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:keel-dev-ticket_triage-billing"

    assert permissions_needed(call("sqs", "SendMessageBatch", QueueUrl=url)) == [Permission("sqs:SendMessage", queue)]
    assert permissions_needed(call("sqs", "GetQueueUrl", QueueName="keel-dev-ticket_triage-billing")) == [
        Permission("sqs:GetQueueUrl", queue)
    ]
    assert permissions_needed(call("sqs", "GetQueueUrl", QueueName="theirs", QueueOwnerAWSAccountId="222222222222")) == [
        Permission("sqs:GetQueueUrl", "arn:aws:sqs:eu-west-1:222222222222:theirs")
    ]
    assert permissions_needed(call("sqs", "ListQueues")) == [Permission("sqs:ListQueues", None)]


def test_sns_secrets_and_events_requests_name_their_topic_secret_and_buses() -> None:
    topic = f"arn:aws:sns:eu-west-1:{ACCOUNT}:keel-dev-oncall-platform-oncall"
    entries = [{"EventBusName": "keel-dev"}, {}, {"EventBusName": "keel-dev"}]

    assert permissions_needed(call("sns", "Publish", TopicArn=topic)) == [Permission("sns:Publish", topic)]
    assert permissions_needed(call("sns", "PublishBatch", TopicArn=topic)) == [Permission("sns:Publish", topic)]
    assert permissions_needed(call("secretsmanager", "GetSecretValue", SecretId="keel/dev/api")) == [
        Permission("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:keel/dev/api-AbCdEf")
    ]
    assert permissions_needed(call("secretsmanager", "GetSecretValue", SecretId="unknown")) == [
        Permission("secretsmanager:GetSecretValue", None)
    ]
    assert permissions_needed(call("events", "PutEvents", Entries=entries)) == [
        Permission("events:PutEvents", f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default"),
        Permission("events:PutEvents", f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/keel-dev"),
    ]


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("monitoring", "ListTagsForResource", "cloudwatch:ListTagsForResource"),
        ("lambda", "Invoke", "lambda:InvokeFunction"),
        ("ec2", "RebootInstances", "ec2:RebootInstances"),
        ("ecs", "UpdateService", "ecs:UpdateService"),
    ],
)
def test_services_without_resources_read_are_checked_on_the_action_alone(service: str, operation: str, action: str) -> None:
    assert permissions_needed(call(service, operation, InstanceIds=["i-1"])) == [Permission(action, None)]


def test_get_caller_identity_needs_no_permission() -> None:
    assert permissions_needed(call("sts", "GetCallerIdentity")) == []


def test_arns_carry_the_regions_partition() -> None:
    assert permissions_needed(call("sns", "CreateTopic", region="cn-north-1", Name="t")) == [
        Permission("sns:CreateTopic", f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:t")
    ]
