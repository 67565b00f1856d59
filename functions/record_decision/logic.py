"""Record a decision made in a workflow (a Choice, an approval, an escalation) on the chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Advice, DecisionRecord, Outcome, Recorder, decision_in, digest
from functions.shared.runtime.contract import Field


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


@dataclass(frozen=True)
class Dependencies:
    log: Recorder
    # Which code decided: the deployment package's digest.
    code_version: str


def record_decision(task: RecordInput, deps: Dependencies) -> DecisionRecord:
    decision = decision_in(
        task,
        step=task.step,
        action=task.action,
        outcome=task.outcome,
        reason=task.reason,
        rule=task.rule,
        resource=task.resource,
        trigger=task.trigger,
        input_digest=digest(task.evidence),
        code_version=deps.code_version,
        versions=task.versions,
        advice=task.advice,
        approved_by=task.approved_by,
        approval_id=task.approval_id,
        details=task.details,
    )
    return deps.log.record(decision)
