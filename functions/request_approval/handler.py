"""Lambda entry point for request_approval, invoked with .waitForTaskToken."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.request_approval import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.notify import Notifier
from functions.shared.domain.approvals import ApprovalStore
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_approvals_table: str
    keel_oncall_topics: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        store=ApprovalStore(Table(settings().keel_approvals_table)), notify=Notifier(settings().keel_oncall_topics), clock=utc_now
    )


@task_handler(logic.ApprovalInput)
def lambda_handler(task: logic.ApprovalInput, _context: Any) -> dict[str, Any]:
    request = logic.request_approval(task, dependencies())
    return {"approval_id": request.approval_id, "expires_at": request.expires_at.isoformat()}
