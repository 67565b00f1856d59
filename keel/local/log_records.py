"""What Lambda and Step Functions write to CloudWatch Logs, as log events (milliseconds, message).

Lambda (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html): each execution
environment writes to a log stream of its own in the function's log group (its LoggingConfig's
LogGroup, else /aws/lambda/<function>), named <date>/[<version>]<environment id>; each invocation is
framed by START, END and REPORT lines around what the function printed. REPORT gives the duration,
the billed duration (rounded up to the millisecond), the memory size and, after a cold start, the
init duration; Max Memory Used is left out: the local cloud does not measure it.

Step Functions (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html and
https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html): a state machine whose
LoggingConfiguration names a log group logs its execution history events there, one JSON document
per event (id, type, details, previous_event_id, event_timestamp, execution_arn): every event at
level ALL, errors at ERROR, the execution's failure only at FATAL, none at OFF; without
IncludeExecutionData the events carry no input or output. Locally an execution writes one stream,
states/<state machine>/<date>/<execution name>, when it ends.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

LogEvent = tuple[int, str]

FATAL_EVENTS = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
ERROR_EVENTS = FATAL_EVENTS | frozenset(
    {
        "FailStateEntered",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "MapStateAborted",
        "MapStateFailed",
        "MapIterationAborted",
        "MapIterationFailed",
        "MapRunAborted",
        "MapRunFailed",
        "ParallelStateAborted",
        "ParallelStateFailed",
        "TaskFailed",
        "TaskStartFailed",
        "TaskStateAborted",
        "TaskSubmitFailed",
        "TaskTimedOut",
        "WaitStateAborted",
    }
)
# Details members that hold execution data (input, output and their truncation flags).
EXECUTION_DATA = frozenset({"input", "inputDetails", "output", "outputDetails", "parameters"})


def milliseconds(seconds: float) -> int:
    return int(seconds * 1000)


def date_of(seconds: float, separator: str = "/") -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime(f"%Y{separator}%m{separator}%d")


def lambda_stream(started: float, version: str, environment_id: str) -> str:
    return f"{date_of(started)}/[{version}]{environment_id}"


def lambda_events(invocation: Any, memory_mb: int, version: str) -> list[LogEvent]:
    """START, what the handler printed, END and REPORT of one invocation (a keel.local Invocation)."""
    start = milliseconds(invocation.started_at)
    end = start + math.ceil(invocation.duration_ms)
    request = invocation.request_id
    body = [(start, line) for line in invocation.log.splitlines() if line.strip()]
    report = (
        f"REPORT RequestId: {request}\tDuration: {invocation.duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(invocation.duration_ms))} ms\tMemory Size: {memory_mb} MB"
    )
    if invocation.cold_start_ms is not None:
        report += f"\tInit Duration: {invocation.cold_start_ms:.2f} ms"
    return [(start, f"START RequestId: {request} Version: {version}"), *body, (end, f"END RequestId: {request}"), (end, report)]


def logged(level: str, event_type: str) -> bool:
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type in ERROR_EVENTS
    if level == "FATAL":
        return event_type in FATAL_EVENTS
    return False


def execution_events(execution_arn: str, history: list[dict[str, Any]], level: str, include_data: bool) -> list[LogEvent]:
    """The log events of an execution's history (GetExecutionHistory's events, timestamps as datetimes)."""
    events = []
    for event in history:
        if not logged(level, event["type"]):
            continue
        details: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        if not include_data:
            details = {key: value for key, value in details.items() if key not in EXECUTION_DATA}
        stamp = event["timestamp"]
        at = milliseconds((stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp())
        document = {
            "id": str(event["id"]),
            "type": event["type"],
            "details": details,
            "previous_event_id": str(event.get("previousEventId", 0)),
            "event_timestamp": str(at),
            "execution_arn": execution_arn,
        }
        events.append((at, json.dumps(document, default=str)))
    return events


def execution_stream(state_machine: str, started: float, execution_name: str) -> str:
    return f"states/{state_machine}/{date_of(started, '-')}/{execution_name}"
