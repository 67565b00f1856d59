"""Approval requests in the approvals table: created by request_approval, answered by `keel ops`.

One item per request, pk `approval#<id>` / sk `request`. The id is derived from the execution and
the state that asked, so a retried request updates its own item (with the new task token) instead
of creating a second one. Answering is a conditional update from pending, so two operators cannot
both answer, and an expired request cannot be approved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from functions.shared.adapters.dynamodb import Table
from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import ConflictError, InvalidInputError, NotFoundError

Status = Literal["pending", "approved", "rejected", "expired"]
PURGE_AFTER = timedelta(days=90)
BY_STATUS = "by_status"


class ApprovalRequest(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    approval_id: str
    automation: str
    automation_version: str
    environment: str
    event_id: str
    execution_arn: str
    step: str
    action: str
    resource: str | None = None
    risk: str
    why: str
    details: dict[str, Any] = Field(default_factory=dict)
    approvers: list[str]
    escalation: str
    requested_at: datetime
    expires_at: datetime
    status: Status = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class Answer:
    approved: bool
    decided_by: str
    reason: str


def approval_id(execution_arn: str, step: str) -> str:
    return "ap-" + hashlib.sha256(f"{execution_arn}|{step}".encode()).hexdigest()[:16]


def _key(approval: str) -> dict[str, str]:
    return {"pk": f"approval#{approval}", "sk": "request"}


class ApprovalStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def save_request(self, request: ApprovalRequest, task_token: str) -> None:
        """Store (or, on a retry of the same step, refresh) a pending request with its task token."""
        item = {
            **_key(request.approval_id),
            **request.model_dump(mode="json", exclude_none=True),
            "task_token": task_token,
            "purge_at": int((request.expires_at + PURGE_AFTER).timestamp()),
        }
        self.table.transact_write(
            [{"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk) OR #s = :pending", **_pending_names()}}]
        )

    def get(self, approval: str) -> tuple[ApprovalRequest, str]:
        """The request and its task token."""
        item = self.table.get(_key(approval))
        if item is None:
            raise NotFoundError(f"no approval request '{approval}'")
        return _request(item), str(item["task_token"])

    def pending(self) -> list[ApprovalRequest]:
        items = self.table.query("#s = :pending", {":pending": "pending"}, index=BY_STATUS, names={"#s": "status"})
        return [_request(item) for item in items]

    def answer(self, approval: str, answer: Answer, now: datetime) -> tuple[ApprovalRequest, str]:
        """Move a pending, unexpired request to approved or rejected; returns it and its token."""
        if not answer.reason.strip():
            raise InvalidInputError("an approval or rejection needs a reason")
        request, token = self.get(approval)
        if request.status != "pending":
            raise ConflictError(f"approval '{approval}' was already {request.status} by {request.decided_by}")
        if request.expired(now):
            # Whether its workflow escalated is the workflow's to say (it may have failed or been stopped).
            raise ConflictError(
                f"approval '{approval}' expired at {request.expires_at.isoformat()}; its workflow no longer waits for an answer"
            )
        status = "approved" if answer.approved else "rejected"
        self.table.transact_write(
            [
                {
                    "Update": {
                        "Key": _key(approval),
                        "UpdateExpression": "SET #s = :status, decided_by = :by, decided_at = :at, reason = :reason",
                        "ConditionExpression": "#s = :pending",
                        "ExpressionAttributeValues": {
                            ":status": status,
                            ":by": answer.decided_by,
                            ":at": now.isoformat(),
                            ":reason": answer.reason,
                            ":pending": "pending",
                        },
                        "ExpressionAttributeNames": {"#s": "status"},
                    }
                }
            ]
        )
        decided = request.model_copy(
            update={"status": status, "decided_by": answer.decided_by, "decided_at": now, "reason": answer.reason}
        )
        return decided, token

    def mark_expired(self, approval: str, now: datetime, *, force: bool = False) -> ApprovalRequest:
        """Expire a pending request; `force` also expires one whose answer came after its task was gone."""
        request, _token = self.get(approval)
        if request.status == "pending" or force:
            condition = "attribute_exists(pk)" if force else "#s = :pending"
            values = {":expired": "expired", ":at": now.isoformat()} | ({} if force else {":pending": "pending"})
            self.table.transact_write(
                [
                    {
                        "Update": {
                            "Key": _key(approval),
                            "UpdateExpression": "SET #s = :expired, decided_at = :at",
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": values,
                            "ExpressionAttributeNames": {"#s": "status"},
                        }
                    }
                ]
            )
            return request.model_copy(update={"status": "expired", "decided_at": now})
        return request


def _pending_names() -> dict[str, Any]:
    return {"ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":pending": "pending"}}


def _request(item: dict[str, Any]) -> ApprovalRequest:
    fields = {key: value for key, value in item.items() if key in ApprovalRequest.model_fields}
    return ApprovalRequest.model_validate(fields)
