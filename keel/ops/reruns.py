"""`keel ops redrive AUTOMATION --failed`: failed, timed-out and aborted executions run again, once.

Each unsuccessful execution of the window is looked at with its event's claim (functions/shared/
domain/event_claim.py):

- another execution holds the claim: the event already ran again (a re-delivery, an earlier
  redrive): nothing to do;
- the claim is marked failed by Keel's failure path (or is gone): the execution ended in Keel's
  failure path, whose last state is a Fail state, and RedriveExecution restarts an execution from the
  state that ended it, which would fail again. A new execution starts with the original event (the
  rule's input), under a name derived from the event and the failed execution, and takes the failed
  claim over in its prologue;
- the claim is still `running`, held by this execution: it timed out, was aborted, or failed where no
  failure path runs. It may have acted part way, so it continues where it stopped: RedriveExecution
  (Standard workflows, executions that stopped within the last 14 days:
  https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html), same execution, same
  claim. Where RedriveExecution is refused (not redrivable: too old, an express workflow) or not
  available (the local cloud: moto does not implement it), the claim is released for this execution
  only and a new execution starts from the beginning, as above; the output says which, and why.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain import event_claim
from infra import names
from keel.ops.session import OpsSession, aws_call

UNSUCCESSFUL = ("FAILED", "TIMED_OUT", "ABORTED")
# RedriveExecution reaches executions that stopped in the last 14 days (the page above).
REDRIVE_WINDOW = timedelta(days=14)


def rerun_name(event_id: str, failed_execution: str) -> str:
    """Unique per failed execution (names are unique per state machine for 90 days), so a second
    `redrive --failed` of the same execution is refused by Step Functions rather than run twice."""
    suffix = hashlib.sha256(failed_execution.encode()).hexdigest()[:10]
    return ("rerun-" + re.sub(r"[^A-Za-z0-9_-]", "-", event_id))[:69] + "-" + suffix


def rerun_failed(session: OpsSession, automation: str, *, since: datetime | None, dry_run: bool) -> dict[str, Any]:
    arn = session.state_machine_arn(automation)
    since = since or datetime.now(UTC) - REDRIVE_WINDOW
    sfn = session.client("stepfunctions")
    claims = Table(names.table(session.environment, "idempotency"), session.client("dynamodb"))
    failed: list[dict[str, Any]] = []
    with aws_call(f"list the unsuccessful executions of {automation}"):
        for status in UNSUCCESSFUL:
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter=status):
                failed += [execution for execution in page["executions"] if (execution.get("stopDate") or since) >= since]
    rows = [
        _rerun_one(session, automation, arn, claims, execution, dry_run=dry_run)
        for execution in sorted(failed, key=lambda e: e["startDate"])
    ]
    return {"automation": automation, "dry_run": dry_run, "since": since.isoformat(timespec="seconds"), "executions": rows}


@dataclass(frozen=True)
class Rerun:
    """One unsuccessful execution and what running its event again needs."""

    session: OpsSession
    automation: str
    state_machine_arn: str
    claims: Table
    execution_arn: str
    event_id: str
    # The execution's input: the event exactly as the rule delivered it.
    original: str

    @property
    def sfn(self) -> Any:
        return self.session.client("stepfunctions")


def _rerun_one(
    session: OpsSession, automation: str, arn: str, claims: Table, execution: dict[str, Any], *, dry_run: bool
) -> dict[str, Any]:
    execution_arn = execution["executionArn"]
    with aws_call(f"describe execution {execution_arn}"):
        original = session.client("stepfunctions").describe_execution(executionArn=execution_arn).get("input", "")
    row: dict[str, Any] = {"execution": execution["name"], "was": execution["status"], "event_id": None}
    event_id = _event_id(original)
    if event_id is None:
        return row | {"status": "skipped", "how": "its input is not an event with an id"}
    row["event_id"] = event_id
    with aws_call(f"read the claim of event {event_id}"):
        claim = event_claim.read_claim(claims, automation, event_id)
    if claim is not None and claim.get("execution") != execution_arn:
        holder = str(claim.get("execution")).rsplit(":", 1)[-1]
        return row | {"status": "already-rerun", "how": f"execution {holder} ran it again"}
    rerun = Rerun(session, automation, arn, claims, execution_arn, event_id, original)
    if claim is not None and claim.get("status") == event_claim.RUNNING:
        return row | _continue(rerun, dry_run=dry_run)
    if dry_run:
        return row | {"status": "would-restart", "how": "a new execution with the original event"}
    return row | _start(rerun, "Keel's failure path released its claim")


def _continue(rerun: Rerun, *, dry_run: bool) -> dict[str, Any]:
    """An execution that stopped holding its claim: redrive it, or restart it where that cannot be done."""
    if dry_run:
        return {"status": "would-redrive", "how": "RedriveExecution, or a new execution where it is refused"}
    refused = _redrive(rerun.sfn, rerun.execution_arn)
    if refused is None:
        return {"status": "redriven", "how": "RedriveExecution: it continues from the state that stopped it"}
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    with aws_call(f"release the claim of event {rerun.event_id}"):
        released = event_claim.release(rerun.claims, rerun.automation, rerun.event_id, rerun.execution_arn, now)
    if not released:
        return {"status": "already-rerun", "how": "its claim changed hands while this ran"}
    return _start(rerun, refused)


# How the local cloud answers an operation moto does not implement (keel/local/moto_patches.py), in
# process or through its endpoint.
UNKNOWN_OPERATION = ("UnknownOperationException", "InvalidAction")
NOT_IMPLEMENTED = "RedriveExecution is not available here (the local cloud does not implement it)"


def _redrive(sfn: Any, execution_arn: str) -> str | None:
    """None when redriven; otherwise why not (refused, or not implemented where this runs)."""
    from botocore.exceptions import ClientError

    try:
        sfn.redrive_execution(executionArn=execution_arn)
    except NotImplementedError:
        return NOT_IMPLEMENTED
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code in UNKNOWN_OPERATION:
            return NOT_IMPLEMENTED
        if int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500:
            return f"RedriveExecution is not available here ({code})"
        return f"RedriveExecution refused it: {code}: {error.response.get('Error', {}).get('Message', '')}"
    return None


def _start(rerun: Rerun, why: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    name = rerun_name(rerun.event_id, rerun.execution_arn)
    try:
        # Through the live alias, as the rule starts the event: a fix promoted since runs it.
        started = rerun.sfn.start_execution(
            stateMachineArn=names.live_alias_arn(rerun.state_machine_arn), name=name, input=rerun.original
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code == "ExecutionAlreadyExists":
            return {"status": "already-rerun", "how": f"execution {name} ran it again"}
        return {"status": "failed", "how": f"{code}: {error.response.get('Error', {}).get('Message', '')}"}
    return {"status": "restarted", "how": f"{why}; new execution {started['executionArn'].rsplit(':', 1)[-1]}"}


def _event_id(original: str) -> str | None:
    try:
        event = json.loads(original)
    except json.JSONDecodeError:
        return None
    event_id = event.get("id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) and event_id else None
