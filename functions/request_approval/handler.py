"""Lambda entry point for request_approval, invoked with .waitForTaskToken."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from functions.request_approval import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.notify import Notifier
from functions.shared.approvals import ApprovalStore
from functions.shared.contract import ConfigDict, Field, Model
from functions.shared.handler import task_handler
from functions.shared.models import TaskInput
from functions.shared.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_approvals_table: str
    keel_oncall_topics: str


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


settings = settings_reader(Settings)


@cache
def store() -> ApprovalStore:
    return ApprovalStore(Table(settings().keel_approvals_table))


@cache
def notifier() -> Notifier:
    return Notifier(settings().keel_oncall_topics)


@task_handler(ApprovalInput)
def lambda_handler(task: ApprovalInput, _context: Any) -> dict[str, Any]:
    request = logic.request_approval(
        keel=task.keel,
        event_id=task.event_id,
        execution=task.execution,
        step=task.step,
        action=task.request.action,
        resource=task.request.resource,
        risk=task.request.risk,
        why=task.request.why,
        details=task.request.details,
        task_token=task.task_token,
        now=datetime.now(UTC),
        store=store(),
        notify=notifier(),
    )
    return {"approval_id": request.approval_id, "expires_at": request.expires_at.isoformat()}
