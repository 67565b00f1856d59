"""The local cloud's engine: virtual clock, task tokens, put_events through the API, DLQ messages."""

from __future__ import annotations

import json
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.eventbridge import EventFile
from keel.local.faults import FaultPlan
from keel.local.report import execution_report, run_report
from keel.local.template import EnvironmentTemplate
from tests.local.conftest import TEST_SOURCE, custom_event, edited, with_test_workflow

HOUR = 3600


def test_a_one_hour_wait_passes_on_the_virtual_clock(dev_template: EnvironmentTemplate) -> None:
    # Given a workflow that waits an hour
    with LocalCloud(with_test_workflow(dev_template, "wait_one_hour")) as cloud:
        # When its event is delivered and the execution driven to an end
        cloud.deliver(custom_event("wait_one_hour"))
        cloud.drive()
        (execution,) = run_report(cloud).executions

    # Then it succeeds, and the timestamps it shows are an hour apart: virtual time, not real time
    assert execution.status == "SUCCEEDED"
    assert (execution.duration_seconds or 0) >= HOUR
    wait = execution.states[0]
    assert (wait.name, wait.type) == ("WaitOneHour", "Wait")
    assert (wait.duration_ms or 0) >= HOUR * 1000
    # on that execution's clock only: the world (what handlers and new executions see) did not move
    assert cloud.clock.waited(execution.execution_arn) >= HOUR
    assert cloud.clock.offset_seconds == 0
    # $$.Execution.StartTime is an ISO 8601 string as on AWS (moto's own is a datetime)
    assert execution.output["started"].endswith("Z")


def test_an_approval_answered_with_approve_succeeds(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(with_test_workflow(dev_template, "approval")) as cloud:
        cloud.deliver(custom_event("approval"))
        cloud.drive("approve")
        (execution,) = run_report(cloud).executions

    assert execution.status == "SUCCEEDED"
    assert execution.output == {"approved": True}


def test_an_approval_answered_with_reject_fails_with_the_rejection(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(with_test_workflow(dev_template, "approval")) as cloud:
        cloud.deliver(custom_event("approval"))
        cloud.drive("reject")
        (execution,) = run_report(cloud).executions

    assert (execution.status, execution.error) == ("FAILED", "Rejected")


def test_an_unanswered_approval_times_out_on_the_virtual_clock(dev_template: EnvironmentTemplate) -> None:
    # Given nobody answers a task token that has a 1-hour timeout
    with LocalCloud(with_test_workflow(dev_template, "approval")) as cloud:
        cloud.deliver(custom_event("approval"))
        cloud.drive()
        (execution,) = run_report(cloud).executions

    # Then the timeout fires (States.Timeout), its Catch escalates, and an hour has passed virtually
    assert (execution.status, execution.error) == ("FAILED", "ApprovalTimedOut")
    assert [state.name for state in execution.states] == ["RequestApproval", "Escalate"]
    assert execution.states[0].errors[0]["error"] == "States.Timeout"
    assert cloud.clock.waited(execution.execution_arn) >= HOUR


def test_events_put_through_the_api_start_executions_with_an_iso_time(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(with_test_workflow(dev_template, "wait_one_hour")) as cloud:
        # When a client (a handler, the aws CLI) puts an event on the keel bus
        entries = cloud.client("events").put_events(
            Entries=[{"Source": TEST_SOURCE, "DetailType": "wait_one_hour", "Detail": "{}", "EventBusName": "keel-dev"}]
        )["Entries"]
        cloud.drive()
        (execution,) = run_report(cloud).executions
        history = cloud.client("stepfunctions").get_execution_history(executionArn=execution.execution_arn)["events"]

    # Then the rule's target starts the workflow with the event as EventBridge delivers it
    delivered = json.loads(history[0]["executionStartedEventDetails"]["input"])
    assert delivered["id"] == entries[0]["EventId"]
    assert delivered["account"] == "111111111111"
    assert delivered["time"].endswith("Z")
    assert "ingestion-time" not in delivered
    assert execution.status == "SUCCEEDED"


def test_an_event_for_no_rule_starts_nothing(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        deliveries = cloud.deliver(custom_event("nobody-listens"))

    assert deliveries == []
    assert cloud.execution_arns() == []


def test_the_dead_letter_carries_the_event_and_its_attributes(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    with LocalCloud(dev_template, faults=FaultPlan(failed_starts=100)) as cloud:
        cloud.deliver(heartbeat_event.event)
        sqs = cloud.client("sqs")
        url = sqs.get_queue_url(QueueName="keel-dev-platform_heartbeat-dlq")["QueueUrl"]
        (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]

    assert json.loads(message["Body"]) == heartbeat_event.event
    attributes = {key: value["StringValue"] for key, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "ThrottlingException"
    assert attributes["RETRY_ATTEMPTS"] == "3"
    assert attributes["RULE_ARN"] == "arn:aws:events:eu-west-1:111111111111:rule/keel-dev-platform_heartbeat-schedule"
    # The target as the rule names it: the live alias (EventBridge reports the configured target ARN).
    assert attributes["TARGET_ARN"].endswith(":stateMachine:keel-dev-platform_heartbeat:live")


def test_handlers_run_with_their_environment_and_write_to_moto(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    with LocalCloud(dev_template) as cloud:
        cloud.deliver(heartbeat_event.event)
        cloud.drive()
        execution = execution_report(cloud, cloud.execution_arns()[0])
        table = cloud.client("dynamodb").get_item(TableName="keel-dev-idempotency", Key={"id": {"S": "heartbeat#dev"}})
        (invocation,) = cloud.runtime.invocations

    assert execution.status == "SUCCEEDED"
    assert table["Item"]["execution"]["S"] == execution.execution_arn
    assert invocation.function == "keel-dev-platform_heartbeat-emit_heartbeat"
    assert '"Heartbeat"' in invocation.log  # the EMF metrics line went to the invocation's log, not stdout


def test_a_handler_exception_is_the_error_name_and_its_traceback_is_logged(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    # Given a template whose function lacks a variable its settings require
    def drop_variable(resource: dict[str, Any]) -> None:
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Environment"]["Variables"].pop("KEEL_IDEMPOTENCY_TABLE", None)

    broken = edited(dev_template, drop_variable)

    with LocalCloud(broken) as cloud:
        cloud.deliver(heartbeat_event.event)
        cloud.drive()
        (execution,) = run_report(cloud).executions
        invocation = cloud.runtime.invocations[0]

    # Then the exception's class name is the error (as Lambda reports it), and the log has the traceback
    assert (execution.status, execution.error) == ("FAILED", "ConfigurationError")
    assert "KEEL_IDEMPOTENCY_TABLE is not set" in (execution.cause or "")
    assert invocation.error_type == "ConfigurationError"
    assert "Traceback" in invocation.log
