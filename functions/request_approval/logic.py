"""Ask for a human decision: store the request with its task token, then notify the approvers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Protocol

from functions.shared.domain.approvals import ApprovalRequest, approval_id
from functions.shared.domain.context import KeelContext, TaskInput
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import ConfigDict, Field, Model


class Request(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str = Field(min_length=1)
    resource: str | None = None
    risk: Literal["low", "medium", "high", "critical"]
    why: str = Field(min_length=1)
    details: dict[str, Any] = Field(default_factory=dict)


class ApprovalInput(TaskInput):
    task_token: str = Field(min_length=1)
    # The state asking, from $$.State.Name: with the execution it identifies the request.
    step: str = Field(min_length=1)
    request: Request


class RequestStore(Protocol):
    def save_request(self, request: ApprovalRequest, task_token: str) -> None: ...


class Notify(Protocol):
    def publish(self, route: str, subject: str, message: str) -> str: ...


@dataclass(frozen=True)
class Dependencies:
    store: RequestStore
    # The on-call routes' topics: each approver route is told.
    notify: Notify
    clock: Clock


def request_approval(task: ApprovalInput, deps: Dependencies) -> ApprovalRequest:
    keel, asked, now = task.keel, task.request, deps.clock()
    request = ApprovalRequest(
        approval_id=approval_id(task.execution, task.step),
        automation=keel.automation,
        automation_version=keel.version,
        environment=keel.environment,
        event_id=task.event_id,
        execution_arn=task.execution,
        step=task.step,
        action=asked.action,
        resource=asked.resource,
        risk=asked.risk,
        why=asked.why,
        details=asked.details,
        approvers=keel.approvers,
        escalation=keel.escalation,
        requested_at=now,
        expires_at=now + timedelta(seconds=keel.approval_timeout_seconds),
    )
    deps.store.save_request(request, task.task_token)
    subject = f"[Keel {keel.environment}] Approval needed: {keel.automation} wants to {asked.action}" + (
        f" {asked.resource}" if asked.resource else ""
    )
    message = approval_message(request, keel)
    for route in keel.approvers:
        deps.notify.publish(route, subject, message)
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
