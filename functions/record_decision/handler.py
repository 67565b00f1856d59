"""Lambda entry point for record_decision."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.record_decision import logic
from functions.shared.adapters.dynamodb import Table
from functions.shared.contract import Field
from functions.shared.decisions import Advice, DecisionLog, Outcome
from functions.shared.handler import task_handler
from functions.shared.models import TaskInput
from functions.shared.settings import DecisionSettings, settings_reader


class RecordInput(TaskInput):
    step: str = Field(min_length=1)
    action: str = Field(min_length=1)
    outcome: Outcome
    reason: str = Field(min_length=1)
    rule: str | None = None
    resource: str | None = None
    # What triggered the workflow, in words (e.g. "CloudWatch alarm api-5xx entered ALARM").
    trigger: str | None = None
    # What the decision was made on; only its digest is stored.
    evidence: Any = None
    versions: dict[str, str] = Field(default_factory=dict)
    advice: Advice | None = None
    approved_by: str | None = None
    approval_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


settings = settings_reader(DecisionSettings)


@cache
def decision_log() -> DecisionLog:
    return DecisionLog(Table(settings().keel_decisions_table))


@task_handler(RecordInput)
def lambda_handler(task: RecordInput, _context: Any) -> dict[str, Any]:
    record = logic.record_decision(
        keel=task.keel,
        event_id=task.event_id,
        execution=task.execution,
        step=task.step,
        action=task.action,
        outcome=task.outcome,
        reason=task.reason,
        rule=task.rule,
        resource=task.resource,
        trigger=task.trigger,
        evidence=task.evidence,
        versions=task.versions,
        advice=task.advice,
        approved_by=task.approved_by,
        approval_id=task.approval_id,
        details=task.details,
        code_version=settings().keel_code_version,
        log=decision_log(),
    )
    return {"seq": record.seq, "hash": record.hash, "outcome": record.decision.outcome}
