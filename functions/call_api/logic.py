"""Call an external API once, within its rate limit and circuit breaker, and say what the workflow does next.

The answer is `done` (2xx, with the body) or `retry_later` (429 with its Retry-After, or the breaker open
until its cool-off ends): the workflow waits that long in a Wait state, on its own clock, and calls again,
passing back `waited_seconds`. Waiting in the workflow costs nothing on AWS and is virtual in the local
cloud. Once the waits would pass the API's max_wait_seconds, the call gives up with a DependencyError
that says why (the failure path records it). 5xx answers and timeouts raise TransientError, which the
workflow's Retry backs off with full jitter; other 4xx raise DependencyError, which nothing retries.
Each 5xx or timeout counts toward the breaker; the call that opens it pages the automation's on-call route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from functions.shared.adapters.http_api import ApiRequest, ApiResponse, ApiSettings
from functions.shared.domain.api_limits import Admission
from functions.shared.domain.context import TaskInput
from functions.shared.runtime.contract import Field
from functions.shared.runtime.errors import ConfigurationError, DependencyError, TransientError

# Real seconds one invocation waits for the rate limit before handing the wait to the workflow.
RATE_WAIT_SECONDS = 10.0
# Without a usable Retry-After, a 429 waits this long.
DEFAULT_RETRY_AFTER = 1.0


class CallInput(TaskInput):
    step: str = Field(min_length=1)
    api: str = Field(min_length=1)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/[\x21-\x7e]*$", max_length=2048)
    body: dict[str, Any] | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)
    # What earlier tries of this call waited in the workflow (Retry-After, an open breaker).
    waited_seconds: float = Field(default=0.0, ge=0)


class Api(Protocol):
    def send(self, request: ApiRequest, *, fresh: bool = False) -> ApiResponse: ...


class Limiter(Protocol):
    def take(self, now: float) -> float | None: ...


class Breaker(Protocol):
    def admit(self, now_ms: int) -> Admission: ...

    def succeeded(self, admission: Admission) -> None: ...

    def failed(self, admission: Admission, now_ms: int) -> int | None: ...


@dataclass(frozen=True)
class Guarded:
    """One API with what guards it."""

    settings: ApiSettings
    api: Api
    limiter: Limiter
    breaker: Breaker


@dataclass(frozen=True)
class Dependencies:
    apis: Callable[[str], Guarded]
    page: Callable[[str, str, str], object]  # (route, subject, message)
    clock: Callable[[], float]  # epoch seconds
    sleep: Callable[[float], None]


@dataclass(frozen=True)
class Sent:
    admission: Admission
    response: ApiResponse


@dataclass(frozen=True)
class NotSent:
    """Held back: `seconds` to wait, and why."""

    seconds: float
    why: str


def call(task: CallInput, deps: Dependencies) -> dict[str, Any]:
    guarded = deps.apis(task.api)
    request = ApiRequest(task.method, task.path, task.body, task.idempotency_key)
    sent = _send(task, request, guarded, deps, fresh=False)
    if isinstance(sent, Sent) and sent.response.status == 401:
        # The credential may have been rotated since it was cached: read it again, send once more.
        guarded.breaker.succeeded(sent.admission)
        sent = _send(task, request, guarded, deps, fresh=True)
    if isinstance(sent, NotSent):
        return _retry_later(task, guarded, sent.seconds, sent.why)
    return _answered(task, guarded, sent, deps.clock())


def _answered(task: CallInput, guarded: Guarded, sent: Sent, now: float) -> dict[str, Any]:
    # The API answered: whatever it said, it is up.
    guarded.breaker.succeeded(sent.admission)
    response = sent.response
    if response.status == 429:
        wait = response.retry_after_seconds(now)
        return _retry_later(task, guarded, DEFAULT_RETRY_AFTER if wait is None else max(wait, 0.0), "429 Too Many Requests")
    if response.status >= 400:
        raise DependencyError(f"API '{task.api}' {task.method} {task.path}: {response.status}: {response.excerpt()}")
    return {"outcome": "done", "status": response.status, "body": response.body, "waited_seconds": task.waited_seconds}


def _send(task: CallInput, request: ApiRequest, guarded: Guarded, deps: Dependencies, *, fresh: bool) -> Sent | NotSent:
    """A rate slot first, then the breaker's leave, then the request: a call held back by the rate limit
    is asked again whether the breaker opened meanwhile. 5xx and timeouts count toward the breaker."""
    granted = _rate_slot(guarded.limiter, deps)
    if granted is None:
        return NotSent(DEFAULT_RETRY_AFTER, f"rate limit of {guarded.settings.rate_limit_per_second}/s")
    admission = guarded.breaker.admit(_ms(deps.clock()))
    if admission.kind == "refused":
        until = datetime.fromtimestamp(admission.until_ms / 1000, tz=UTC).isoformat(timespec="seconds")
        return NotSent(max(1.0, admission.until_ms / 1000 - deps.clock()), f"circuit open until {until}")
    try:
        response = guarded.api.send(replace(request, originated_at=granted), fresh=fresh)
        if response.status >= 500:
            raise TransientError(f"API '{task.api}' {task.method} {task.path}: {response.status}: {response.excerpt()}")
    except TransientError:
        _failed(task, guarded, admission, deps)
        raise
    return Sent(admission, response)


def _rate_slot(limiter: Limiter, deps: Dependencies) -> float | None:
    """Wait (real time, in this invocation) for a rate slot, at most RATE_WAIT_SECONDS; when it was granted."""
    waited = 0.0
    while True:
        now = deps.clock()
        wait = limiter.take(now)
        if wait is None:
            return now
        if waited + wait > RATE_WAIT_SECONDS:
            return None
        deps.sleep(wait)
        waited += wait


def _failed(task: CallInput, guarded: Guarded, admission: Admission, deps: Dependencies) -> None:
    opened = guarded.breaker.failed(admission, _ms(deps.clock()))
    if opened is None:
        return
    until = datetime.fromtimestamp(opened / 1000, tz=UTC).isoformat(timespec="seconds")
    settings = guarded.settings
    deps.page(
        task.keel.oncall,
        f"Circuit open: API {task.api} ({task.keel.environment})",
        f"API '{task.api}' failed {settings.breaker_failures} time(s) in a row ({task.method} {task.path} from "
        f"{task.keel.automation}, execution {task.execution}). Calls to it stop until {until}, then one probe decides "
        "whether it closes; executions wait for it within the API's max_wait_seconds.",
    )


def _retry_later(task: CallInput, guarded: Guarded, seconds: float, why: str) -> dict[str, Any]:
    seconds = round(seconds, 3)
    waited = task.waited_seconds + seconds
    if waited > guarded.settings.max_wait_seconds:
        raise DependencyError(
            f"API '{task.api}' {task.method} {task.path}: {why}; waiting {seconds:g} s more would pass its "
            f"max_wait_seconds ({guarded.settings.max_wait_seconds} s, {task.waited_seconds:g} s waited)"
        )
    # Step Functions' Wait takes whole seconds (SecondsPath): round up so the wait is never short.
    whole = max(1, int(-(-seconds // 1)))
    return {"outcome": "retry_later", "retry_after_seconds": whole, "reason": why, "waited_seconds": task.waited_seconds + whole}


def unknown_api(name: str, declared: list[str]) -> ConfigurationError:
    return ConfigurationError(f"API '{name}' is not one this automation declares (apis: {', '.join(declared) or 'none'})")


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
