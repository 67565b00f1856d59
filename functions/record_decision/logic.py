"""Record a decision made in a workflow (a Choice, an approval, an escalation) on the chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Advice, DecisionRecord, Outcome, Recorder, decision_in, digest
from functions.shared.runtime.contract import ConfigDict, Field, Model, model_validator


class StepFailure(Model):
    """A caught error as Step Functions hands it on ($.error): its name and its cause."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    error: str = Field(alias="Error", min_length=1)
    cause: str | None = Field(default=None, alias="Cause")

    def summary(self) -> str:
        """`Error: message`; a Lambda error's cause is its JSON error payload, whose message is what a person needs."""
        if not self.cause:
            return self.error
        try:
            payload = json.loads(self.cause)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes: the cause as it is
            return f"{self.error}: {self.cause}"
        message = payload.get("errorMessage") if isinstance(payload, dict) else None
        return f"{self.error}: {message if isinstance(message, str) and message else self.cause}"


class RecordInput(TaskInput):
    step: str = Field(min_length=1)
    action: str = Field(min_length=1)
    outcome: Outcome
    # Why, in words; a failure's reason is its error's summary (Keel's failure path passes `failure`).
    reason: str | None = Field(default=None, min_length=1)
    failure: StepFailure | None = None
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

    @model_validator(mode="after")
    def _reason_or_failure(self) -> RecordInput:
        if (self.reason is None) == (self.failure is None):
            raise ValueError("reason: give a reason, or the failure it comes from, not both")
        return self

    @property
    def why(self) -> str:
        if self.failure is not None:
            return self.failure.summary()
        return self.reason or ""


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
        reason=task.why,
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
