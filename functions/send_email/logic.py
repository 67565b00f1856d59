"""Send one email of a workflow (a welcome, a follow-up), at most once per recipient and message.

The message's key (automation, message, recipient) is claimed in the idempotency table before SES is
asked: a re-delivered event, a second signup of the same user or a retried invocation finds the claim
and sends nothing. If SES then fails, the claim is given back so a retry can send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from functions.shared.domain.context import TaskInput
from functions.shared.runtime.contract import ConfigDict, Field, Model

# A sent marker outlives any retry or redelivery of its workflow (days).
MARKER_DAYS = 30

TEMPLATES = {
    "welcome": ("Welcome, {name}", "Hello {name},\n\nyour account is ready. Sign in to get started.\n"),
    "follow_up": ("Still there, {name}?", "Hello {name},\n\nyou have not signed in yet. Your account is waiting.\n"),
}


class Recipient(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: str = Field(min_length=1, max_length=128)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    name: str = Field(min_length=1, max_length=128)


class EmailInput(TaskInput):
    step: str = Field(min_length=1)
    message: Literal["welcome", "follow_up"]
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    to: Recipient


class Markers(Protocol):
    def claim(self, key: str, expires: int) -> bool: ...

    def release(self, key: str) -> None: ...


class Mailer(Protocol):
    def send(self, sender: str, to: str, subject: str, body: str) -> str: ...


@dataclass(frozen=True)
class Dependencies:
    markers: Markers
    mailer: Mailer
    clock: Callable[[], float]


def send(task: EmailInput, deps: Dependencies) -> dict[str, Any]:
    key = f"email#{task.keel.automation}#{task.message}#{task.to.user_id}"
    if not deps.markers.claim(key, int(deps.clock()) + MARKER_DAYS * 86_400):
        return {"message": task.message, "sent": False, "reason": "already sent"}
    subject, body = (part.format(name=task.to.name) for part in TEMPLATES[task.message])
    try:
        message_id = deps.mailer.send(task.sender, task.to.email, subject, body)
    except BaseException:
        deps.markers.release(key)
        raise
    return {"message": task.message, "sent": True, "message_id": message_id}
