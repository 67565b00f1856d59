"""Lambda entry point for seal_confidential."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.seal_confidential import logic
from functions.shared.adapters.confidential_store import ConfidentialStore
from functions.shared.adapters.dynamodb import Table
from functions.shared.runtime.clock import utc_now
from functions.shared.runtime.contract import Field
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_confidential_table: str
    keel_confidential_retention_days: int = Field(ge=1)


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        store=ConfidentialStore(Table(settings().keel_confidential_table)),
        clock=utc_now,
        retention_days=settings().keel_confidential_retention_days,
    )


@task_handler(logic.SealInput)
def lambda_handler(task: logic.SealInput, _context: Any) -> dict[str, Any]:
    return logic.seal(task, dependencies())
