"""call_api's decisions on each answer of an external API, with fakes for the API and its guards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.call_api.logic import CallInput, Dependencies, Guarded, call
from functions.shared.adapters.http_api import ApiRequest, ApiResponse
from functions.shared.domain.api_limits import Admission
from functions.shared.runtime.errors import DependencyError, TransientError
from tests.support.fake_dependencies import crm_settings
from tests.support.keel_context import keel_fields

NOW = 1_800_000_000.25
SETTINGS = crm_settings(breaker_failures=3, breaker_cooloff_seconds=30, max_wait_seconds=60)


@dataclass
class ScriptedApi:
    answers: list[ApiResponse | Exception]
    sent: list[ApiRequest] = field(default_factory=list)

    fresh: list[bool] = field(default_factory=list)

    def send(self, request: ApiRequest, *, fresh: bool = False) -> ApiResponse:
        self.sent.append(request)
        self.fresh.append(fresh)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class CountingLimiter:
    """Grants `free` calls, then asks for a wait of `wait` seconds each time."""

    free: int = 100
    wait: float = 0.5

    def take(self, now: float) -> float | None:
        if self.free:
            self.free -= 1
            return None
        return self.wait


@dataclass
class MemoryBreaker:
    failures_to_open: int = 3
    opened_until_ms: int | None = None
    failures: int = 0

    def admit(self, now_ms: int) -> Admission:
        if self.opened_until_ms is not None and self.opened_until_ms > now_ms:
            return Admission("refused", self.failures, self.opened_until_ms)
        return Admission("closed", self.failures)

    def succeeded(self, admission: Admission) -> None:
        self.failures = 0

    def failed(self, admission: Admission, now_ms: int) -> int | None:
        self.failures += 1
        if self.failures == self.failures_to_open:
            self.opened_until_ms = now_ms + 30_000
            return self.opened_until_ms
        return None


@dataclass
class World:
    api: ScriptedApi
    limiter: CountingLimiter = field(default_factory=CountingLimiter)
    breaker: MemoryBreaker = field(default_factory=MemoryBreaker)
    pages: list[tuple[str, str, str]] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    def deps(self) -> Dependencies:
        guarded = Guarded(SETTINGS, self.api, self.limiter, self.breaker)
        return Dependencies(
            apis=lambda _name: guarded,
            page=lambda *page: self.pages.append(page),
            clock=lambda: NOW,
            sleep=self.slept.append,
        )


def task(**changes: Any) -> CallInput:
    values = {
        "event_id": "evt-1",
        "execution": "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-user_onboarding:evt-1-1",
        "keel": keel_fields(automation="user_onboarding", oncall="support-oncall"),
        "step": "CreateContact",
        "api": "crm",
        "method": "POST",
        "path": "/contacts",
        "body": {"user_id": "usr_1"},
        "idempotency_key": "user_onboarding-usr_1-contact",
        **changes,
    }
    return CallInput.model_validate(values)


def test_a_2xx_answer_is_done_with_its_body_and_the_idempotency_key_sent() -> None:
    world = World(ScriptedApi([ApiResponse(201, {"id": "usr_1"})]))

    result = call(task(), world.deps())

    assert result == {"outcome": "done", "status": 201, "body": {"id": "usr_1"}, "waited_seconds": 0.0}
    assert world.api.sent[0].idempotency_key == "user_onboarding-usr_1-contact"


def test_a_429_is_a_wait_of_its_retry_after_counted_in_waited_seconds() -> None:
    world = World(ScriptedApi([ApiResponse(429, {"error": "slow down"}, retry_after="7")]))

    result = call(task(waited_seconds=3), world.deps())

    assert (result["outcome"], result["retry_after_seconds"], result["waited_seconds"]) == ("retry_later", 7, 10)
    assert world.breaker.failures == 0


def test_a_retry_after_as_an_http_date_is_the_seconds_until_then() -> None:
    world = World(ScriptedApi([ApiResponse(429, None, retry_after="Fri, 15 Jan 2027 08:00:12 GMT")]))

    result = call(task(), world.deps())

    # 2027-01-15T08:00:12Z is 11.75 s after NOW: Step Functions waits whole seconds, never fewer
    assert result["retry_after_seconds"] == 12


def test_waiting_past_max_wait_seconds_gives_up_saying_why() -> None:
    world = World(ScriptedApi([ApiResponse(429, None, retry_after="30")]))

    with pytest.raises(DependencyError, match=r"429 Too Many Requests; waiting 30 s more would pass its max_wait_seconds \(60 s"):
        call(task(waited_seconds=45), world.deps())


def test_a_5xx_raises_a_transient_error_for_the_workflows_retry_and_counts_toward_the_breaker() -> None:
    world = World(ScriptedApi([ApiResponse(503, {"error": "down"})]))

    with pytest.raises(TransientError, match=r"API 'crm' POST /contacts: 503"):
        call(task(), world.deps())
    assert world.breaker.failures == 1


def test_a_timeout_counts_toward_the_breaker_too() -> None:
    world = World(ScriptedApi([TransientError("API 'crm' POST /v2/contacts: no answer within its timeout")]))

    with pytest.raises(TransientError, match="no answer within its timeout"):
        call(task(), world.deps())
    assert world.breaker.failures == 1


def test_another_4xx_is_not_retried_and_names_the_answer() -> None:
    world = World(ScriptedApi([ApiResponse(422, {"error": "email is invalid"})]))

    with pytest.raises(DependencyError, match=r"API 'crm' POST /contacts: 422: \{\"error\": \"email is invalid\"\}"):
        call(task(), world.deps())
    assert world.breaker.failures == 0


def test_the_failure_that_opens_the_breaker_pages_the_on_call_route_once() -> None:
    world = World(ScriptedApi([ApiResponse(500, None)] * 4))

    for _ in range(3):
        with pytest.raises(TransientError):
            call(task(), world.deps())

    assert len(world.pages) == 1
    route, subject, message = world.pages[0]
    assert (route, subject) == ("support-oncall", "Circuit open: API crm (dev)")
    assert "failed 3 time(s) in a row" in message


def test_an_open_breaker_sends_nothing_and_waits_for_its_cool_off() -> None:
    world = World(ScriptedApi([]), breaker=MemoryBreaker(opened_until_ms=int(NOW * 1000) + 20_000))

    result = call(task(), world.deps())

    assert (result["outcome"], result["retry_after_seconds"]) == ("retry_later", 20)
    assert result["reason"].startswith("circuit open until ")
    assert world.api.sent == []


def test_the_rate_limit_waits_in_the_invocation_then_hands_the_wait_to_the_workflow() -> None:
    world = World(ScriptedApi([]), limiter=CountingLimiter(free=0, wait=0.5))

    result = call(task(), world.deps())

    assert sum(world.slept) == 10.0  # RATE_WAIT_SECONDS
    assert (result["outcome"], result["reason"]) == ("retry_later", "rate limit of 10/s")
    assert world.api.sent == []


def test_a_401_reads_the_credential_again_and_sends_once_more_within_the_rate_limit() -> None:
    world = World(ScriptedApi([ApiResponse(401, None), ApiResponse(201, {"id": "usr_1"})]), limiter=CountingLimiter(free=2))

    result = call(task(), world.deps())

    assert result["outcome"] == "done"
    assert world.api.fresh == [False, True]
    assert world.limiter.free == 0  # the second send took a rate slot of its own


def test_a_credential_refused_again_after_reading_it_afresh_is_not_retried() -> None:
    world = World(ScriptedApi([ApiResponse(401, None), ApiResponse(401, {"error": "unauthorized"})]))

    with pytest.raises(DependencyError, match=r"API 'crm' POST /contacts: 401"):
        call(task(), world.deps())
    assert world.api.fresh == [False, True]


@pytest.mark.parametrize("seconds", [0.0, 951_782_400.0, 1_800_000_000.4, 4_102_444_799.9])
def test_the_date_header_is_what_the_standard_library_writes(seconds: float) -> None:
    from email.utils import formatdate

    from functions.shared.adapters.http_api import http_date

    assert http_date(seconds) == formatdate(seconds, usegmt=True)
