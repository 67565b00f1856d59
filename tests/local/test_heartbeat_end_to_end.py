"""platform_heartbeat end to end from its sample event: success, retries, failures, duplicates, DLQ."""

from __future__ import annotations

from keel.local.eventbridge import EventFile
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.report import ExecutionReport, StateVisit
from keel.local.runner import LocalRun, RunOptions, run_events
from keel.local.template import EnvironmentTemplate

Sample = EventFile


def run(template: EnvironmentTemplate, event: Sample, **options: object) -> LocalRun:
    return run_events(template, [event], RunOptions(**options))  # type: ignore[arg-type]


def only_execution(result: LocalRun) -> ExecutionReport:
    assert len(result.report.executions) == 1
    return result.report.executions[0]


def test_the_sample_event_runs_the_heartbeat(dev_template: EnvironmentTemplate, heartbeat_event: Sample) -> None:
    # Given the sample scheduled event, When it is delivered
    result = run(dev_template, heartbeat_event, faults=FaultPlan())

    # Then the schedule rule starts one execution that claims the event and beats
    execution = only_execution(result)
    assert execution.automation == "platform_heartbeat"
    assert execution.status == "SUCCEEDED"
    assert [(state.name, state.status) for state in execution.states] == [
        ("KeelClaimEvent", "succeeded"),
        ("EmitHeartbeat", "succeeded"),
    ]
    assert execution.output["alive"] is True
    assert execution.output["environment"] == "dev"
    assert execution.output["scheduled_at"] == "2026-11-22T09:00:00+00:00"
    assert result.report.dead_letters == []
    assert result.report.all_succeeded


def test_transient_errors_are_retried_until_the_function_succeeds(
    dev_template: EnvironmentTemplate, heartbeat_event: Sample
) -> None:
    # Given emit_heartbeat fails twice with TransientError
    faults = FaultPlan([FunctionFault("emit_heartbeat", "error", 2)])

    # When the heartbeat runs
    execution = only_execution(run(dev_template, heartbeat_event, faults=faults))

    # Then the ASL Retry (matching the exception's name) absorbs both failures
    beat = execution.states[-1]
    assert execution.status == "SUCCEEDED"
    assert (beat.name, beat.status, beat.attempts) == ("EmitHeartbeat", "retried", 3)
    assert [error["error"] for error in beat.errors] == ["TransientError", "TransientError"]


def visit(execution: ExecutionReport, name: str) -> StateVisit:
    return next(state for state in execution.states if state.name == name)


def test_the_execution_fails_when_retries_run_out(dev_template: EnvironmentTemplate, heartbeat_event: Sample) -> None:
    # Given emit_heartbeat always fails with TransientError (Keel's default Retry: MaxAttempts 4)
    faults = FaultPlan([FunctionFault("emit_heartbeat", "error", 100)])

    # When the heartbeat runs
    execution = only_execution(run(dev_template, heartbeat_event, faults=faults))

    # Then it gives up after the first attempt and four retries, takes Keel's failure path (record,
    # tell on-call) and fails with the exception's name
    beat = visit(execution, "EmitHeartbeat")
    assert (beat.attempts, beat.status) == (5, "caught")
    assert faults.functions[0].used == 5
    assert [state.name for state in execution.states][-4:] == [
        "KeelRecordFailure",
        "KeelNotifyFailure",
        "KeelReleaseClaim",
        "KeelFailed",
    ]
    assert (execution.status, execution.error) == ("FAILED", "TransientError")


def test_an_error_the_workflow_does_not_retry_fails_at_once(dev_template: EnvironmentTemplate, heartbeat_event: Sample) -> None:
    faults = FaultPlan([FunctionFault("keel-dev-platform_heartbeat-emit_heartbeat", "error", 1, error="DependencyError")])

    execution = only_execution(run(dev_template, heartbeat_event, faults=faults))

    assert (execution.status, execution.error) == ("FAILED", "DependencyError")
    assert visit(execution, "EmitHeartbeat").attempts == 1


def test_a_timeout_of_an_idempotent_module_is_retried(dev_template: EnvironmentTemplate, heartbeat_event: Sample) -> None:
    # Given emit_heartbeat (effects: idempotent) times out once
    execution = only_execution(
        run(dev_template, heartbeat_event, faults=FaultPlan([FunctionFault("emit_heartbeat", "timeout", 1)]))
    )

    # Then the timeout surfaces as Lambda's Sandbox.Timedout and Keel's default Retry runs it again
    beat = visit(execution, "EmitHeartbeat")
    assert execution.status == "SUCCEEDED"
    assert [error["error"] for error in beat.errors] == ["Sandbox.Timedout"]
    assert "Task timed out after 10.00 seconds" in beat.errors[0]["cause"]


def test_a_throttled_invocation_is_retried(dev_template: EnvironmentTemplate, heartbeat_event: Sample) -> None:
    execution = only_execution(
        run(dev_template, heartbeat_event, faults=FaultPlan([FunctionFault("emit_heartbeat", "throttle", 1)]))
    )

    assert execution.status == "SUCCEEDED"
    assert [error["error"] for error in execution.states[-1].errors] == ["Lambda.TooManyRequestsException"]


def test_a_duplicate_delivery_is_claimed_once_and_ends_as_duplicate(
    dev_template: EnvironmentTemplate, heartbeat_event: Sample
) -> None:
    # Given the same event (same id) delivered twice, as EventBridge's at-least-once delivery may
    result = run(dev_template, heartbeat_event, faults=FaultPlan(), duplicate=True)

    # Then two executions start, and exactly one of them acts
    executions = result.report.executions
    assert len(executions) == 2
    assert all(execution.status == "SUCCEEDED" for execution in executions)
    duplicates = [execution for execution in executions if execution.duplicate]
    assert len(duplicates) == 1
    assert [state.name for state in duplicates[0].states] == ["KeelClaimEvent", "KeelDuplicateEvent"]
    assert duplicates[0].states[0].errors[0]["error"] == "DynamoDB.ConditionalCheckFailedException"
    assert duplicates[0].output == {
        "duplicate": True,
        "automation": "platform_heartbeat",
        "event_id": heartbeat_event.event["id"],
    }


def test_a_start_that_keeps_failing_is_dead_lettered(dev_template: EnvironmentTemplate, heartbeat_event: Sample) -> None:
    # Given StartExecution is throttled every time
    result = run(dev_template, heartbeat_event, faults=FaultPlan(failed_starts=100))

    # Then no execution starts and the event is dead-lettered after the rule's retry attempts
    assert result.report.executions == []
    (letter,) = result.report.dead_letters
    assert letter.event_id == heartbeat_event.event["id"]
    assert letter.error_code == "ThrottlingException"
    assert letter.retry_attempts == 3
    assert letter.exhausted_retry_condition == "MaximumRetryAttemptsExhausted"
    assert letter.queue_arn == "arn:aws:sqs:eu-west-1:111111111111:keel-dev-platform_heartbeat-dlq"
    assert not result.report.all_succeeded


def test_a_start_that_fails_then_succeeds_is_retried_by_eventbridge(
    dev_template: EnvironmentTemplate, heartbeat_event: Sample
) -> None:
    result = run(dev_template, heartbeat_event, faults=FaultPlan(failed_starts=2))

    assert only_execution(result).status == "SUCCEEDED"
    assert result.report.dead_letters == []
