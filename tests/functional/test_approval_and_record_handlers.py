"""request_approval and record_decision handlers against moto, with the template's own tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters import aws
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.approvals import Answer, ApprovalStore, approval_id
from functions.shared.domain.decisions import DecisionLog
from functions.shared.runtime.errors import ConflictError, InvalidInputError
from keel.ops import ledger
from tests.support.keel_context import keel_fields
from tests.support.platform_tables import create_tables_from_template

KEEL = keel_fields(
    automation="alarm_remediation",
    version="1.4.0",
    owner="sre-team",
    approval_from_risk="medium",
    approval_timeout_seconds=1800,
    definition_hash="sha256:abc",
    limits={"max_concurrency": 2, "max_actions_per_window": 5, "window_minutes": 60},
)
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:run-1"


@dataclass
class Context:
    function_name: str = "keel-dev-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:111111111111:function:keel-dev-test"
    aws_request_id: str = "req-1"


@pytest.fixture
def platform(synthesized: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", EXECUTION.split(":")[4])  # the account of the execution the tests name
    with mock_aws():
        aws.client.cache_clear()
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_tables_from_template(dynamodb, synthesized.template("dev"))
        sns = boto3.client("sns", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="keel-dev-oncall-platform-oncall")["TopicArn"]
        inbox = sqs.create_queue(QueueName="pager-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
        # The execution whose decisions are recorded: started on the state machine itself, so it has
        # no version and no alias.
        states = boto3.client("stepfunctions", region_name="eu-west-1")
        machine = states.create_state_machine(
            name="keel-dev-alarm_remediation",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::111111111111:role/keel-dev-alarm_remediation",
        )["stateMachineArn"]
        states.start_execution(stateMachineArn=machine, name=EXECUTION.rsplit(":", 1)[-1])
        monkeypatch.setenv("KEEL_ENVIRONMENT", "dev")
        monkeypatch.setenv("KEEL_APPROVALS_TABLE", "keel-dev-approvals")
        monkeypatch.setenv("KEEL_DECISIONS_TABLE", "keel-dev-decisions")
        monkeypatch.setenv("KEEL_AUTOMATION", "alarm_remediation")
        monkeypatch.setenv("KEEL_ONCALL_TOPICS", json.dumps({"platform-oncall": topic}))
        monkeypatch.setenv("KEEL_CODE_VERSION", "sha256:code")
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "test")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Keel")
        from functions.record_decision import handler as record_handler
        from functions.request_approval import handler as approval_handler

        for cached in (
            approval_handler.settings,
            approval_handler.dependencies,
            record_handler.settings,
            record_handler.dependencies,
        ):
            cached.cache_clear()
        yield {"dynamodb": dynamodb, "sqs": sqs, "inbox": inbox, "approve": approval_handler, "record": record_handler}
        aws.client.cache_clear()


def approval_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": "event-1",
        "execution": EXECUTION,
        "keel": KEEL,
        "task_token": "token-1",
        "step": "AskApproval",
        "request": {"action": "restart_service", "resource": "ecs:web/api", "risk": "high", "why": "5xx above 5%"},
    }
    event.update(overrides)
    return event


def test_request_is_stored_and_approvers_are_told_how_to_answer(platform: dict[str, Any]) -> None:
    # When a workflow asks for approval
    result = platform["approve"].lambda_handler(approval_event(), Context())
    # Then the request is pending with its token and an expiry from the environment's timeout
    store = ApprovalStore(Table("keel-dev-approvals", platform["dynamodb"]))
    request, token = store.get(result["approval_id"])
    assert (request.status, token, request.risk) == ("pending", "token-1", "high")
    assert request.expires_at - request.requested_at == timedelta(seconds=1800)
    assert [pending.approval_id for pending in store.pending()] == [approval_id(EXECUTION, "AskApproval")]
    # And the approvers' route received everything needed to decide, with the commands
    [message] = platform["sqs"].receive_message(QueueUrl=platform["inbox"])["Messages"]
    assert "restart_service" in message["Body"]
    assert f"keel ops approve {result['approval_id']} --env dev" in message["Body"]
    assert "5xx above 5%" in message["Body"]


def test_a_retried_request_refreshes_its_token_instead_of_duplicating(platform: dict[str, Any]) -> None:
    platform["approve"].lambda_handler(approval_event(), Context())
    platform["approve"].lambda_handler(approval_event(task_token="token-2"), Context())
    store = ApprovalStore(Table("keel-dev-approvals", platform["dynamodb"]))
    [pending] = store.pending()
    assert store.get(pending.approval_id)[1] == "token-2"


def test_answers_are_final_and_expired_requests_cannot_be_approved(platform: dict[str, Any]) -> None:
    # Given a pending request
    result = platform["approve"].lambda_handler(approval_event(), Context())
    store = ApprovalStore(Table("keel-dev-approvals", platform["dynamodb"]))
    now = datetime.now(UTC)
    # When one operator approves, Then a second answer is refused and names the first
    store.answer(result["approval_id"], Answer(approved=True, decided_by="arn:aws:iam::1:user/ana", reason="ok"), now)
    with pytest.raises(ConflictError, match="already approved by arn:aws:iam::1:user/ana"):
        store.answer(result["approval_id"], Answer(approved=False, decided_by="arn:aws:iam::1:user/bo", reason="no"), now)
    # And a request past its expiry cannot be approved
    other = platform["approve"].lambda_handler(approval_event(step="AskAgain"), Context())
    later = now + timedelta(hours=1)
    with pytest.raises(ConflictError, match="expired"):
        store.answer(other["approval_id"], Answer(approved=True, decided_by="x", reason="late"), later)


def test_answer_needs_a_reason(platform: dict[str, Any]) -> None:
    result = platform["approve"].lambda_handler(approval_event(), Context())
    store = ApprovalStore(Table("keel-dev-approvals", platform["dynamodb"]))
    with pytest.raises(InvalidInputError, match="needs a reason"):
        store.answer(result["approval_id"], Answer(approved=True, decided_by="x", reason="  "), datetime.now(UTC))


def test_invalid_approval_request_names_the_field(platform: dict[str, Any]) -> None:
    bad = approval_event(request={"action": "restart_service", "risk": "extreme", "why": "x"})
    with pytest.raises(InvalidInputError, match=r"request\.risk"):
        platform["approve"].lambda_handler(bad, Context())


def test_record_decision_appends_with_versions_and_is_idempotent(platform: dict[str, Any]) -> None:
    # Given a workflow step's decision
    event = {
        "event_id": "event-1",
        "execution": EXECUTION,
        "keel": KEEL,
        "step": "Decide",
        "action": "restart_service",
        "outcome": "taken",
        "reason": "runbook ecs-5xx matched",
        "rule": "runbook:ecs-5xx@2",
        "resource": "ecs:web/api",
        "evidence": {"alarm": "api-5xx"},
        "versions": {"runbooks": "2026.11.1"},
        "advice": {"label": "restart", "confidence": 0.91, "model_version": "m1"},
    }
    # When it is recorded twice (a Lambda retry)
    first = platform["record"].lambda_handler(event, Context())
    second = platform["record"].lambda_handler(event, Context())
    # Then one record holds it, with the versions that made it
    assert first == second
    log = DecisionLog(Table("keel-dev-decisions", platform["dynamodb"]))
    [record] = log.for_execution(EXECUTION)
    assert record.decision.code_version == "sha256:code"
    assert (record.decision.state_machine_version, record.decision.state_machine_alias) == (None, None)
    assert record.decision.definition_hash == "sha256:abc"
    assert record.decision.advice is not None
    assert record.decision.advice.confidence == pytest.approx(0.91)
    assert ledger.table_problems(log, "alarm_remediation") == []


@dataclass
class TimedContext(Context):
    """A Lambda context with the time the invocation has left, as the writer's append budget reads it."""

    def get_remaining_time_in_millis(self) -> int:
        return 14_000


def handed(step: str, automation: str = "alarm_remediation") -> dict[str, Any]:
    """A decision as a module hands it to its automation's writer (functions/shared/adapters/decision_writer.py)."""
    return {
        "automation": automation,
        "automation_version": "1.0.0",
        "environment": "dev",
        "event_id": "event-1",
        "execution_arn": EXECUTION,
        "step": step,
        "action": "guardrail:cooldown",
        "outcome": "passed",
        "reason": "no action on ecs:web/api in the last 15 minutes",
        "input_digest": "sha256:plan",
    }


def test_record_decision_appends_the_decisions_a_step_hands_over_together(platform: dict[str, Any]) -> None:
    # When check_guardrails hands over two guardrails' decisions in one invocation
    steps = ["CheckGuardrails:override", "CheckGuardrails:cooldown"]
    answer = platform["record"].lambda_handler({"handed": [handed(step) for step in steps]}, TimedContext())

    # Then both are appended, in order, and the chain verifies
    assert [(record["seq"], record["decision"]["step"]) for record in answer["records"]] == [(1, steps[0]), (2, steps[1])]
    log = DecisionLog(Table("keel-dev-decisions", platform["dynamodb"]))
    assert ledger.table_problems(log, "alarm_remediation") == []


def test_record_decision_refuses_a_handed_batch_naming_the_decision_of_another_automation(platform: dict[str, Any]) -> None:
    batch = [handed("CheckGuardrails:override"), handed("CheckGuardrails:cooldown", automation="ticket_triage")]
    with pytest.raises(InvalidInputError, match=r"handed\[1\]\.automation: this writer records alarm_remediation's"):
        platform["record"].lambda_handler({"handed": batch}, TimedContext())
    # And nothing of the batch was appended
    assert DecisionLog(Table("keel-dev-decisions", platform["dynamodb"])).head("alarm_remediation") is None
