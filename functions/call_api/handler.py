"""Lambda entry point for call_api: parse, call logic.call, return what the workflow does next."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from functions.call_api import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.http_api import HttpApi, api_catalog
from functions.shared.adapters.notify import Notifier
from functions.shared.adapters.secrets import SecretReader
from functions.shared.domain.api_limits import BreakerPolicy, CircuitBreaker, RateLimiter
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import ApiClientSettings, settings_reader


class Settings(ApiClientSettings):
    keel_secrets: str
    keel_limits_table: str
    keel_oncall_topics: str


settings = settings_reader(Settings)


@cache
def _secrets() -> SecretReader:
    return SecretReader(settings().keel_secrets)


@cache
def guarded(name: str) -> logic.Guarded:
    """One API's client and guards, made once per execution environment."""
    apis = api_catalog(settings().keel_apis, settings().keel_api_endpoints)
    if name not in apis:
        raise logic.unknown_api(name, sorted(apis))
    api, table = apis[name], Table(settings().keel_limits_table)
    return logic.Guarded(
        settings=api,
        api=HttpApi(name, api, _secrets(), ca_bundle=settings().keel_api_ca_bundle),
        limiter=RateLimiter(table, name, api.rate_limit_per_second),
        breaker=CircuitBreaker(table, name, BreakerPolicy(api.breaker_failures, api.breaker_cooloff_seconds)),
    )


@cache
def dependencies() -> logic.Dependencies:
    notifier = Notifier(settings().keel_oncall_topics)
    return logic.Dependencies(apis=guarded, page=notifier.publish, clock=time.time, sleep=time.sleep)


@task_handler(logic.CallInput)
def lambda_handler(task: logic.CallInput, _context: Any) -> dict[str, Any]:
    return logic.call(task, dependencies())
