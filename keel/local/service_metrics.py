"""The metrics AWS services publish about what ran, as the local cloud produces them from its own record.

Names, units and dimensions are AWS's:

- Lambda (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html): invocation
  metrics are binary indicators of an invocation's outcome, stamped with the time it was invoked:
  Invocations (Count, not for throttled attempts), Errors (Count: 1 when the function returned an
  error, timeouts included), Throttles (Count: 1 for an attempt refused over the concurrency limit),
  Duration (Milliseconds, the handler's time). Dimension FunctionName (AWS also publishes Resource
  and ExecutedVersion dimensions; the alarms Keel synthesizes read FunctionName only).
- Step Functions (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html):
  ExecutionsStarted when an execution starts; ExecutionsSucceeded, ExecutionsFailed,
  ExecutionsTimedOut, ExecutionsAborted (Count) and ExecutionTime (Milliseconds, start to stop) when
  it ends, dimension StateMachineArn. Each ending carries all four outcome metrics, 1 for its outcome
  and 0 for the others, so Average is the failed-execution rate the rate alarm reads. ExecutionThrottled
  counts state transitions Step Functions throttled: the local interpreter never throttles one, so
  it is never published.
- SQS (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html):
  ApproximateNumberOfMessagesVisible (Count), dimension QueueName, sampled by the local cloud.
"""

from __future__ import annotations

from keel.local.emf import Datapoint

LAMBDA = "AWS/Lambda"
STATES = "AWS/States"
SQS = "AWS/SQS"
COUNT = "Count"
MILLISECONDS = "Milliseconds"
# Execution status -> the metric counting executions that ended so.
OUTCOMES = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}


def _one(namespace: str, name: str, dimension: tuple[str, str], value: float, *, unit: str, at: float) -> Datapoint:
    return Datapoint(namespace, name, (dimension,), (value,), unit, at)


def invocation(function: str, errored: bool, duration_ms: float, at: float) -> list[Datapoint]:
    """What Lambda publishes for one invocation that ran (successfully or not)."""
    dimension = ("FunctionName", function)
    return [
        _one(LAMBDA, "Invocations", dimension, 1.0, unit=COUNT, at=at),
        _one(LAMBDA, "Errors", dimension, 1.0 if errored else 0.0, unit=COUNT, at=at),
        _one(LAMBDA, "Throttles", dimension, 0.0, unit=COUNT, at=at),
        _one(LAMBDA, "Duration", dimension, round(duration_ms, 2), unit=MILLISECONDS, at=at),
    ]


def throttle(function: str, at: float) -> list[Datapoint]:
    """What Lambda publishes for an invocation attempt it throttled (no Invocations: it never ran)."""
    return [_one(LAMBDA, "Throttles", ("FunctionName", function), 1.0, unit=COUNT, at=at)]


def execution_started(state_machine_arn: str, at: float) -> list[Datapoint]:
    return [_one(STATES, "ExecutionsStarted", ("StateMachineArn", state_machine_arn), 1.0, unit=COUNT, at=at)]


def execution_ended(state_machine_arn: str, status: str, started: float, stopped: float) -> list[Datapoint]:
    """The outcome metrics and ExecutionTime of an execution that ended with `status`, at its stop time."""
    if status not in OUTCOMES:
        raise ValueError(f"an execution ends SUCCEEDED, FAILED, TIMED_OUT or ABORTED, not {status}")
    dimension = ("StateMachineArn", state_machine_arn)
    points = [
        _one(STATES, metric, dimension, 1.0 if outcome == status else 0.0, unit=COUNT, at=stopped)
        for outcome, metric in OUTCOMES.items()
    ]
    took = round((stopped - started) * 1000, 3)
    points.append(_one(STATES, "ExecutionTime", dimension, took, unit=MILLISECONDS, at=stopped))
    return points


def queue_depth(queue_name: str, visible: int, at: float) -> Datapoint:
    return _one(SQS, "ApproximateNumberOfMessagesVisible", ("QueueName", queue_name), float(visible), unit=COUNT, at=at)
