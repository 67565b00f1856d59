"""emit_heartbeat's Lambda handler and the event-claim helper, with their adapters against moto."""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.keel_context import keel_fields

TABLE = "keel-dev-idempotency"
APPROVALS = "keel-dev-approvals"
FUNCTION_ENV = {
    "KEEL_ENVIRONMENT": "dev",
    "KEEL_IDEMPOTENCY_TABLE": TABLE,
    "KEEL_APPROVALS_TABLE": APPROVALS,
    "POWERTOOLS_SERVICE_NAME": "emit_heartbeat",
    "POWERTOOLS_METRICS_NAMESPACE": "Keel",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
EVENT = {
    "event_id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "execution": "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-platform_heartbeat:run-1",
    "time": "2026-11-22T09:00:00Z",
    "keel": keel_fields(),
}


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "keel-dev-emit_heartbeat"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:111111111111:function:keel-dev-emit_heartbeat"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass(frozen=True)
class ColdStart:
    handler: ModuleType
    errors: ModuleType


def is_function_module(name: str) -> bool:
    return name == "functions" or name.startswith("functions.")


@pytest.fixture
def cold_start(monkeypatch) -> Any:
    """Import a function module as Lambda does: its environment set first, nothing cached from before.

    Powertools reads its service name and namespace at import, and the module's settings and clients
    are cached per process, so each test gets a fresh import (and fresh caches); the modules loaded
    before the test are put back afterwards.
    """
    before = {name: module for name, module in sys.modules.items() if is_function_module(name)}
    started: list[ModuleType] = []

    def start(module: str, environment: dict[str, str]) -> ColdStart:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        for name in [name for name in sys.modules if is_function_module(name)]:
            del sys.modules[name]
        handler = importlib.import_module(f"functions.{module}.handler")
        started.append(handler)
        return ColdStart(handler=handler, errors=importlib.import_module("functions.shared.runtime.errors"))

    yield start
    for handler in started:
        handler.settings.cache_clear()
        handler.dependencies.cache_clear()
        sys.modules["functions.shared.adapters.aws"].client.cache_clear()
    for name in [name for name in sys.modules if is_function_module(name)]:
        del sys.modules[name]
    sys.modules.update(before)


@pytest.fixture
def aws() -> Any:
    with mock_aws():
        yield


def create_idempotency_table(name: str = TABLE) -> Any:
    """The probe's table, and the approvals table the heartbeat counts waiting requests in."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if APPROVALS not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=APPROVALS,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "status", "requested_at")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_status",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "requested_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    return dynamodb


def emf_lines(output: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format documents printed on stdout."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{"):
            document = json.loads(line)
            if "_aws" in document:
                documents.append(document)
    return documents


def metric_names(document: dict[str, Any]) -> set[str]:
    return {metric["Name"] for directive in document["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]}


def test_the_heartbeat_writes_its_probe_and_prints_the_heartbeat_metric(aws, cold_start, capsys) -> None:
    # Given the idempotency table exists and the function starts with its deployed environment
    dynamodb = create_idempotency_table()
    function = cold_start("emit_heartbeat", FUNCTION_ENV)

    # When the state machine's task input arrives
    output = function.handler.lambda_handler(EVENT, LambdaContext())

    # Then the handler reports the heartbeat
    assert output["alive"] is True
    assert output["environment"] == "dev"
    assert output["scheduled_at"] == "2026-11-22T09:00:00+00:00"
    assert output["lag_seconds"] >= 0
    # And the probe item is in the table, with its TTL
    item = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "heartbeat#dev"}})["Item"]
    assert item["execution"] == {"S": EVENT["execution"]}
    assert int(item["expiration"]["N"]) > 0
    # And one EMF document carries Heartbeat, in the Keel namespace, by service and environment
    documents = emf_lines(capsys.readouterr().out)
    assert len(documents) == 1
    document = documents[0]
    assert {"Heartbeat", "ScheduleLagSeconds", "TaskSucceeded"} <= metric_names(document)
    assert document["Heartbeat"] == [1.0]
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Keel"
    assert sorted(directive["Dimensions"][0]) == ["automation", "environment", "service"]
    assert (document["service"], document["environment"], document["automation"]) == (
        "emit_heartbeat",
        "dev",
        "platform_heartbeat",
    )
    # And it reports no approval waiting
    assert (output["pending_approvals"], document["PendingApprovals"]) == (0, [0.0])


def test_the_heartbeat_counts_approval_requests_still_waiting(aws, cold_start, capsys) -> None:
    # Given one request waiting until 2099 and one that expired in 2020, both still pending
    create_idempotency_table()
    for approval, expires in (("ap-waiting", "2099-01-01T00:00:00+00:00"), ("ap-expired", "2020-01-01T00:00:00+00:00")):
        request = {
            "approval_id": approval,
            "automation": "alarm_remediation",
            "automation_version": "1.0.0",
            "environment": "dev",
            "event_id": "evt",
            "execution_arn": f"arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:{approval}",
            "step": "AskApproval",
            "action": "restart",
            "risk": "medium",
            "why": "test",
            "approvers": ["platform-oncall"],
            "escalation": "platform-oncall",
            "requested_at": "2019-12-31T00:00:00+00:00",
            "expires_at": expires,
            "status": "pending",
        }
        item = {"pk": f"approval#{approval}", "sk": "request", "task_token": "t", **request}
        boto3.resource("dynamodb").Table(APPROVALS).put_item(Item=item)
    function = cold_start("emit_heartbeat", FUNCTION_ENV)

    # When the heartbeat beats
    output = function.handler.lambda_handler(EVENT, LambdaContext())

    # Then it counts the one still waiting, in its output and its metric
    [document] = emf_lines(capsys.readouterr().out)
    assert (output["pending_approvals"], document["PendingApprovals"]) == (1, [1.0])


def test_a_second_beat_overwrites_the_probe(aws, cold_start, capsys) -> None:
    # Given one heartbeat already written
    dynamodb = create_idempotency_table()
    function = cold_start("emit_heartbeat", FUNCTION_ENV)
    function.handler.lambda_handler(EVENT, LambdaContext())

    # When the next scheduled run beats
    later = {**EVENT, "execution": EVENT["execution"].replace("run-1", "run-2"), "time": "2026-11-22T09:05:00Z"}
    function.handler.lambda_handler(later, LambdaContext())

    # Then the table holds one probe item, from the latest run
    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert [item["execution"]["S"] for item in items] == [later["execution"]]
    assert len(emf_lines(capsys.readouterr().out)) == 2


def test_a_missing_table_raises_not_found_and_emits_no_heartbeat(aws, cold_start, capsys) -> None:
    # Given the function's table does not exist
    function = cold_start("emit_heartbeat", FUNCTION_ENV)

    # When the handler runs / Then the project's NotFoundError is raised (its name is what the ASL sees)
    with pytest.raises(function.errors.NotFoundError, match=rf"PutItem on {TABLE} failed: ResourceNotFoundException"):
        function.handler.lambda_handler(EVENT, LambdaContext())

    # And the failure is counted, while no Heartbeat is emitted (so the dead man's switch can fire)
    documents = emf_lines(capsys.readouterr().out)
    assert len(documents) == 1
    assert metric_names(documents[0]) == {"TaskFailed"}
    assert documents[0]["error_type"] == "NotFoundError"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({key: value for key, value in EVENT.items() if key != "time"}, "time: Field required"),
        ({**EVENT, "time": "yesterday"}, "time: Input should be a valid datetime"),
        ({**EVENT, "keel": {**EVENT["keel"], "limits": {}}}, "keel.limits.max_concurrency: Field required"),
        ({**EVENT, "event_id": ""}, "event_id: String should have at least 1 character"),
    ],
)
def test_invalid_input_is_rejected_naming_the_field(aws, cold_start, capsys, event, field) -> None:
    # Given a table and input that breaks the task's contract
    dynamodb = create_idempotency_table()
    function = cold_start("emit_heartbeat", FUNCTION_ENV)

    # When the handler runs / Then InvalidInputError names the field, and nothing is written
    with pytest.raises(function.errors.InvalidInputError, match=r"^HeartbeatInput: ") as caught:
        function.handler.lambda_handler(event, LambdaContext())
    assert field in str(caught.value)
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_a_missing_variable_fails_the_invocation_naming_it(aws, cold_start, monkeypatch) -> None:
    # Given the function deployed without its table variable
    create_idempotency_table()
    function = cold_start("emit_heartbeat", FUNCTION_ENV)
    monkeypatch.delenv("KEEL_IDEMPOTENCY_TABLE")

    # When the handler runs / Then ConfigurationError names the variable
    with pytest.raises(function.errors.ConfigurationError, match="KEEL_IDEMPOTENCY_TABLE is not set"):
        function.handler.lambda_handler(EVENT, LambdaContext())


def test_the_handler_reads_its_environment_once_per_cold_start(aws, cold_start, monkeypatch) -> None:
    # Given a function that has already served an invocation
    dynamodb = create_idempotency_table()
    create_idempotency_table("another-table")
    function = cold_start("emit_heartbeat", FUNCTION_ENV)
    function.handler.lambda_handler(EVENT, LambdaContext())

    # When the variable changes under a warm function
    monkeypatch.setenv("KEEL_IDEMPOTENCY_TABLE", "another-table")
    function.handler.lambda_handler(EVENT, LambdaContext())

    # Then it keeps writing to the table it started with
    assert dynamodb.scan(TableName="another-table")["Items"] == []
    assert len(dynamodb.scan(TableName=TABLE)["Items"]) == 1
