"""Lambda entry point for limit_slots."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.limit_slots import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.limits import LimitStore
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_limits_table: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(slots=LimitStore(Table(settings().keel_limits_table)), clock=utc_now)


@task_handler(logic.SlotsInput)
def lambda_handler(task: logic.SlotsInput, _context: Any) -> dict[str, Any]:
    return logic.apply(task, dependencies())
