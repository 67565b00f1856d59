"""Lambda entry point for check_event: parse, call logic.check, return its output."""

from __future__ import annotations

from typing import Any

from functions.check_event import logic
from functions.shared.runtime.handler import task_handler


@task_handler(logic.CheckInput)
def lambda_handler(task: logic.CheckInput, _context: Any) -> dict[str, Any]:
    return logic.check(task)
