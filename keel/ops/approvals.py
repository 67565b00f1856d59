"""Pending approvals, and answering one: the workflow resumes (or takes its rejection path)."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any, Literal

from functions.shared.domain.approvals import Answer, ApprovalRequest
from functions.shared.domain.decisions import Decision, digest
from keel.ops.session import OpsError, OpsSession, aws_call

# Step Functions' answers for a token whose task is gone: it timed out (and escalated) or ended.
GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


class Undelivered(OpsError):
    """The answer is stored but did not reach the workflow: `gone` when it no longer waits for one."""

    def __init__(self, message: str, *, gone: bool) -> None:
        super().__init__(message)
        self.gone = gone


def pending(session: OpsSession, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    with aws_call("list pending approvals"):
        requests = session.approvals.pending()
    return [
        {
            "approval_id": request.approval_id,
            "automation": request.automation,
            "action": request.action,
            "resource": request.resource,
            "risk": request.risk,
            "requested": request.requested_at.isoformat(timespec="seconds"),
            "expires": request.expires_at.isoformat(timespec="seconds"),
            "state": "expired" if request.expired(now) else "waiting",
            "why": request.why,
        }
        for request in sorted(requests, key=lambda request: request.requested_at)
    ]


def answer(
    session: OpsSession,
    approval: str,
    *,
    approved: bool,
    reason: str,
    values: dict[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the answer in the approvals table and the decision record, then resume the workflow with it.

    `values` (`keel ops approve ID --set key=value`) go into the task output under "values", for
    workflows that ask the approver to choose (e.g. a ticket's category); when the request lists
    `choices` in its details, only those keys and values are accepted."""
    now = now or datetime.now(UTC)
    values = values or {}
    if values:
        with aws_call(f"read approval {approval}"):
            pending_request, _token = session.approvals.get(approval)
        check_values(pending_request, values, approved=approved)
    decided_by = session.caller()
    with aws_call(f"answer approval {approval}"):
        request, token = session.approvals.answer(approval, Answer(approved=approved, decided_by=decided_by, reason=reason), now)
    outcome: Literal["approved", "rejected"] = "approved" if approved else "rejected"
    details = {"risk": request.risk, "requested_because": request.why, **({"values": values} if values else {})}
    recorded = functools.partial(_record_answer, session, request, decided_by=decided_by, details=details)
    # On record before the workflow resumes: its next decision is chained after the answer, never before.
    # Should recording fail, the workflow is resumed all the same: the answer is stored and cannot be given
    # twice, so a workflow not told now would wait until it escalates.
    record, unrecorded = None, None
    try:
        record = recorded(stage="answer", outcome=outcome, reason=reason)
    except OpsError as error:
        unrecorded = error
    try:
        _resume(session, request, token, values)
    except Undelivered as error:
        if record is None:
            lost = f"approval '{approval}' was {outcome} but neither recorded ({unrecorded}) nor delivered ({error})"
            raise OpsError(lost) from None
        recorded(stage="delivery", outcome="expired" if error.gone else "failed", reason=f"the answer was not delivered: {error}")
        raise
    if record is None:
        raise OpsError(f"approval '{approval}' was {outcome} and its workflow resumed, but {unrecorded}")
    return {
        "approval_id": approval,
        "outcome": outcome,
        "decided_by": decided_by,
        "execution_arn": request.execution_arn,
        "seq": record.seq,
    }


def _record_answer(
    session: OpsSession,
    request: ApprovalRequest,
    *,
    stage: Literal["answer", "delivery"],
    outcome: Literal["approved", "rejected", "expired", "failed"],
    reason: str,
    decided_by: str,
    details: dict[str, Any],
) -> Any:
    with aws_call("record the answer in the decision record"):
        return session.decisions.record(
            Decision(
                automation=request.automation,
                automation_version=request.automation_version,
                environment=request.environment,
                event_id=request.event_id,
                execution_arn=request.execution_arn,
                step=f"{request.step}:{stage}",
                action=request.action,
                outcome=outcome,
                reason=reason,
                resource=request.resource,
                input_digest=digest(request.details),
                approved_by=decided_by,
                approval_id=request.approval_id,
                details=details,
            )
        )


def check_values(request: ApprovalRequest, values: dict[str, str], *, approved: bool) -> None:
    """Answers given with --set: only on approval, and within the request's `choices` when it lists them."""
    if not approved:
        raise OpsError("--set goes with approve: a rejection carries only its reason")
    choices = request.details.get("choices")
    if not isinstance(choices, dict):
        return
    for key, value in values.items():
        if key not in choices:
            raise OpsError(f"approval '{request.approval_id}' asks for no '{key}' (it accepts: {', '.join(sorted(choices))})")
        if value not in choices[key]:
            raise OpsError(f"'{value}' is not a choice for {key} (choices: {', '.join(choices[key])})")


def _resume(session: OpsSession, request: ApprovalRequest, token: str, values: dict[str, str]) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    answer: dict[str, Any] = {
        "approved": request.status == "approved",
        "approval_id": request.approval_id,
        "decided_by": request.decided_by,
        "reason": request.reason,
    }
    if values:
        answer["values"] = values
    sfn = session.client("stepfunctions")
    try:
        if request.status == "approved":
            sfn.send_task_success(taskToken=token, output=json.dumps(answer))
        else:
            sfn.send_task_failure(taskToken=token, error="ApprovalRejected", cause=json.dumps(answer))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in GONE:
            with aws_call(f"mark approval {request.approval_id} expired"):
                session.approvals.mark_expired(request.approval_id, datetime.now(UTC), force=True)
            raise Undelivered(
                f"approval '{request.approval_id}' expired: its workflow is no longer waiting ({code})", gone=True
            ) from None
        raise Undelivered(f"cannot resume the workflow of {request.approval_id}: {code}", gone=False) from None
    except BotoCoreError as error:  # no answer from the endpoint, a read timeout: the token may still be live
        raise Undelivered(f"cannot resume the workflow of {request.approval_id}: {error}", gone=False) from None
