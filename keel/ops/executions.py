"""Executions of an automation: the list, one execution's path, and KPIs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.ops.session import OpsError, OpsSession, aws_call

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


def list_executions(session: OpsSession, automation: str, status: str | None, since: datetime | None) -> list[dict[str, Any]]:
    arn = session.state_machine_arn(automation)
    request: dict[str, Any] = {"stateMachineArn": arn}
    if status:
        request["statusFilter"] = status
    rows = []
    with aws_call(f"list executions of {automation}"):
        for page in session.client("stepfunctions").get_paginator("list_executions").paginate(**request):
            for execution in page["executions"]:
                started = execution["startDate"]
                if since and started < since:
                    continue
                stopped = execution.get("stopDate")
                rows.append(
                    {
                        "name": execution["name"],
                        "status": execution["status"],
                        "started": started.isoformat(timespec="seconds"),
                        "duration_s": round((stopped - started).total_seconds(), 3) if stopped else None,
                        "execution_arn": execution["executionArn"],
                        "console": session.console_link(execution["executionArn"]),
                    }
                )
    return rows


@dataclass
class Step:
    state: str
    type: str
    entered: datetime
    exited: datetime | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "type": self.type,
            "entered": self.entered.isoformat(timespec="milliseconds"),
            "duration_s": round((self.exited - self.entered).total_seconds(), 3) if self.exited else None,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
        }


def show_execution(session: OpsSession, execution_arn: str) -> dict[str, Any]:
    """The path through the states with inputs, outputs and errors, like the console's view."""
    sfn = session.client("stepfunctions")
    with aws_call(f"describe execution {execution_arn}"):
        description = sfn.describe_execution(executionArn=execution_arn)
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
    return {
        "execution_arn": execution_arn,
        "status": description["status"],
        "started": description["startDate"].isoformat(timespec="milliseconds"),
        "stopped": description["stopDate"].isoformat(timespec="milliseconds") if description.get("stopDate") else None,
        "output": _json(description.get("output")),
        "error": description.get("error"),
        "cause": description.get("cause"),
        "states": [step.as_row() for step in path_from_history(events)],
        "console": session.console_link(execution_arn),
    }


def path_from_history(events: list[dict[str, Any]]) -> list[Step]:
    """Fold the history's Entered/Exited/Failed events into one Step per state visited."""
    steps: list[Step] = []
    open_steps: dict[str, Step] = {}
    last_error: tuple[str | None, str | None] = (None, None)
    for event in events:
        kind = event["type"]
        details: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        if kind.endswith("StateEntered"):
            step = Step(
                state=details["name"],
                type=kind.removesuffix("StateEntered"),
                entered=event["timestamp"],
                input=_json(details.get("input")),
            )
            steps.append(step)
            open_steps[step.state] = step
        elif kind.endswith("StateExited") and details.get("name") in open_steps:
            step = open_steps.pop(details["name"])
            step.exited, step.output = event["timestamp"], _json(details.get("output"))
            if last_error[0] and step.error is None and step.output is None:
                step.error, step.cause = last_error
        elif kind.endswith("Failed") or kind.endswith("TimedOut"):
            last_error = (details.get("error"), details.get("cause"))
            for step in open_steps.values():
                step.error, step.cause = last_error
    for step in open_steps.values():
        step.exited = step.exited or (events[-1]["timestamp"] if events else None)
    return steps


def kpis(session: OpsSession, automation: str, since: datetime | None) -> dict[str, Any]:
    executions = list_executions(session, automation, None, since)
    finished = [row for row in executions if row["status"] not in ("RUNNING", "PENDING_REDRIVE")]
    succeeded = [row for row in finished if row["status"] == "SUCCEEDED"]
    durations = sorted(row["duration_s"] for row in finished if row["duration_s"] is not None)
    with aws_call(f"read the dead-letter queue depth of {automation}"):
        attributes = session.client("sqs").get_queue_attributes(
            QueueUrl=session.dead_letter_queue_url(automation), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
    with aws_call("list pending approvals"):
        pending = [request for request in session.approvals.pending() if request.automation == automation]
    return {
        "automation": automation,
        "since": since.isoformat() if since else None,
        "executions": len(executions),
        "running": len(executions) - len(finished),
        "succeeded": len(succeeded),
        "failed": len(finished) - len(succeeded),
        "success_rate_percent": round(100 * len(succeeded) / len(finished), 2) if finished else None,
        "p50_duration_s": percentile(durations, 50),
        "p90_duration_s": percentile(durations, 90),
        "dlq_depth": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "pending_approvals": len(pending),
    }


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted values, as CloudWatch reports pNN."""
    if not values:
        return None
    rank = max(1, -(-len(values) * pct // 100))
    return values[int(rank) - 1]


def check_status(status: str | None) -> str | None:
    if status is not None and status.upper() not in STATUSES:
        raise OpsError(f"unknown status '{status}' (one of {', '.join(STATUSES)})")
    return status.upper() if status else None


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
