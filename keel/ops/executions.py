"""Executions of an automation: the list, one execution's path, and KPIs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.confidential_view import redacted, sealed_fields
from keel.execution_path import StateVisit, parsed_json, state_path
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
                        "details": session.keel_command("show", execution["executionArn"]),
                    }
                )
    return rows


@dataclass(frozen=True)
class Shown:
    """One execution as `keel ops show` tells it (`view`, JSON-able), with its path and the definition
    it ran (what `--graph` draws)."""

    view: dict[str, Any]
    visits: list[StateVisit]
    definition: dict[str, Any]


def show_execution(session: OpsSession, execution_arn: str, *, with_definition: bool = False) -> Shown:
    """The path through the states with inputs, outputs and errors, like the console's view, the customer
    text of a confidential automation shown as its length and digest (keel/confidential_view.py); with the
    state machine's definition as deployed when asked."""
    sfn = session.client("stepfunctions")
    with aws_call(f"describe execution {execution_arn}"):
        description = sfn.describe_execution(executionArn=execution_arn)
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        # Always: which fields the definition seals is what the view may not show.
        machine = sfn.describe_state_machine(stateMachineArn=description["stateMachineArn"])
    definition = json.loads(machine["definition"])
    sealed = sealed_fields(definition)
    visits = state_path(events, description["status"])
    for visit in visits:
        visit.input, visit.output = redacted(visit.input, sealed), redacted(visit.output, sealed)
    view = {
        "execution_arn": execution_arn,
        "status": description["status"],
        "started": description["startDate"].isoformat(timespec="milliseconds"),
        "stopped": description["stopDate"].isoformat(timespec="milliseconds") if description.get("stopDate") else None,
        "output": redacted(parsed_json(description.get("output")), sealed),
        "error": description.get("error"),
        "cause": description.get("cause"),
        "states": state_rows(visits),
        "console": session.console_link(execution_arn),
        "history": session.aws_command("stepfunctions", "get-execution-history", "--execution-arn", execution_arn),
    }
    return Shown(view=view, visits=visits, definition=definition if with_definition else {})


def state_rows(visits: list[StateVisit]) -> list[dict[str, Any]]:
    """One row per state visited: how it ended, its attempts (retries), the last error it met."""
    return [
        {
            "state": visit.name,
            "type": visit.type,
            "status": visit.status,
            "entered": visit.entered.isoformat(timespec="milliseconds"),
            "duration_s": None if visit.duration_ms is None else visit.duration_ms / 1000,
            "attempts": visit.attempts or None,
            "error": visit.errors[-1]["error"] if visit.errors else None,
            "cause": visit.errors[-1]["cause"] if visit.errors else None,
            "input": visit.input,
            "output": visit.output,
        }
        for visit in visits
    ]


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


def readable_error(error: str | None, cause: str | None) -> list[str]:
    """An error and its cause for people: a Lambda error payload as its message and the line that raised
    it (the last frame of its stackTrace), never the raw JSON; any other cause as it is."""
    if not error and not cause:
        return []
    payload = parsed_json(cause)
    if not isinstance(payload, dict):
        return [f"{error or 'error'}: {cause}" if cause else f"{error}"]
    message = payload.get("errorMessage") or payload.get("Cause") or payload.get("cause")
    if message is None:
        return [f"{error or 'error'}: " + json.dumps(payload, sort_keys=True)]
    lines = [f"{error or payload.get('errorType', 'error')}: {message}"]
    frames = payload.get("stackTrace")
    if isinstance(frames, list) and frames:
        lines.append(f"  raised at {_frame(frames[-1])}")
    return lines


def _frame(frame: Any) -> str:
    """`File "/var/task/functions/x/logic.py", line 12, in decide` -> `functions/x/logic.py:12 in decide`."""
    text = str(frame).strip().splitlines()[0] if str(frame).strip() else str(frame)
    parts = text.replace('"', "").removeprefix("File ").split(", ")
    if len(parts) == 3 and parts[1].startswith("line "):
        path = parts[0].split("/var/task/")[-1]
        for marker in ("/functions/", "/keel/", "/infra/"):
            if marker in path:
                path = marker.lstrip("/") + path.split(marker, 1)[1]
        return f"{path}:{parts[1].removeprefix('line ')} {parts[2]}"
    return text
