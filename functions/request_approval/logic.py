"""Ask for a human decision: store the request with its task token, then notify the approvers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Protocol

from functions.shared.approvals import ApprovalRequest, approval_id
from functions.shared.models import KeelContext


class RequestStore(Protocol):
    def save_request(self, request: ApprovalRequest, task_token: str) -> None: ...


class Notify(Protocol):
    def publish(self, route: str, subject: str, message: str) -> str: ...


def request_approval(
    *,
    keel: KeelContext,
    event_id: str,
    execution: str,
    step: str,
    action: str,
    resource: str | None,
    risk: str,
    why: str,
    details: dict[str, Any],
    task_token: str,
    now: datetime,
    store: RequestStore,
    notify: Notify,
) -> ApprovalRequest:
    request = ApprovalRequest(
        approval_id=approval_id(execution, step),
        automation=keel.automation,
        automation_version=keel.version,
        environment=keel.environment,
        event_id=event_id,
        execution_arn=execution,
        step=step,
        action=action,
        resource=resource,
        risk=risk,
        why=why,
        details=details,
        approvers=keel.approvers,
        escalation=keel.escalation,
        requested_at=now,
        expires_at=now + timedelta(seconds=keel.approval_timeout_seconds),
    )
    store.save_request(request, task_token)
    subject = f"[Keel {keel.environment}] Approval needed: {keel.automation} wants to {action}" + (
        f" {resource}" if resource else ""
    )
    message = approval_message(request, keel)
    for route in keel.approvers:
        notify.publish(route, subject, message)
    return request


def approval_message(request: ApprovalRequest, keel: KeelContext) -> str:
    """Everything an approver needs to decide, and the commands that answer (run as printed by a test)."""
    env = request.environment
    lines = [
        f"{request.automation} {request.automation_version} ({env}) asks for approval.",
        "",
        f"Action:     {request.action}",
        f"Resource:   {request.resource or '-'}",
        f"Risk:       {request.risk}",
        f"Why:        {request.why}",
        f"Details:    {json.dumps(request.details, sort_keys=True)}",
        f"Event:      {request.event_id}",
        f"Execution:  {request.execution_arn}",
        f"Expires:    {request.expires_at.isoformat()} (then it escalates to {request.escalation})",
        "",
        f'Approve:    {keel.ops_command("approve", request.approval_id)} --reason "..."',
        f'Reject:     {keel.ops_command("reject", request.approval_id)} --reason "..."',
        f"Explain:    {keel.ops_command('explain', request.execution_arn)}",
    ]
    return "\n".join(lines)
