"""What the action modules share: carry out the plan, then record what was done (outcome `taken`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.decisions import DecisionLog
from functions.shared.remediation import ActInput, ActionResult, record_action, record_summary
from functions.shared.settings import DecisionSettings, settings_reader

settings = settings_reader(DecisionSettings)


@cache
def decision_log() -> DecisionLog:
    return DecisionLog(Table(settings().keel_decisions_table))


def act_and_record(task: ActInput, act: Callable[[], ActionResult]) -> dict[str, Any]:
    result = act()
    approval = task.approval or {}
    record = record_action(
        task=task,
        result=result,
        approved_by=approval.get("decided_by"),
        approval_id=approval.get("approval_id"),
        code_version=settings().keel_code_version,
        log=decision_log(),
    )
    return {**result.model_dump(mode="json"), "decision": record_summary(record)}
