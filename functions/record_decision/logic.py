"""Append a decision to the automation's chain: the automation's one writer.

Two kinds of input: a workflow's own decision (a Choice, an approval, Keel's failure path: a task with
the standard header), and a decision another module of the same automation made and hands over
(functions/shared/adapters/decision_writer.py). Either way only this automation's chain is written:
the role allows no other (a dynamodb:LeadingKeys condition), and a handed decision of another automation
is refused here with a reason rather than by IAM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import (
    MAX_BATCH,
    Advice,
    Decision,
    DecisionRecord,
    Outcome,
    Recorder,
    decision_in,
    digest,
)
from functions.shared.domain.reasons import short_reason
from functions.shared.runtime.contract import ConfigDict, Field, Model, model_validator
from functions.shared.runtime.errors import InvalidInputError


class StepFailure(Model):
    """A caught error as Step Functions hands it on ($.error): its name and its cause."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    error: str = Field(alias="Error", min_length=1)
    cause: str | None = Field(default=None, alias="Cause")

    def summary(self) -> str:
        """`Error: message`, short, without the stack trace or file paths a cause may carry (a Lambda
        error's cause is its JSON error payload: its errorMessage is what a person needs, its
        stackTrace stays in the execution's history)."""
        if not self.cause:
            return short_reason(self.error)
        try:
            payload = json.loads(self.cause)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes: the cause as it is
            return short_reason(f"{self.error}: {self.cause}")
        if not isinstance(payload, dict):
            return short_reason(f"{self.error}: {self.cause}")
        message = payload.get("errorMessage")
        return short_reason(f"{self.error}: {message}" if isinstance(message, str) and message.strip() else self.error)


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


class HandedDecision(Model):
    """Decisions another module of this automation made in one step, handed over whole to be appended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    handed: list[Decision] = Field(min_length=1, max_length=MAX_BATCH)


class Versions(Protocol):
    def of(self, execution_arn: str) -> tuple[str | None, str | None]: ...


@dataclass(frozen=True)
class Dependencies:
    log: Recorder
    # Which code decided: the deployment package's digest.
    code_version: str
    # The automation this writer appends for: its role reaches this automation's chain alone.
    automation: str
    # The state machine version and alias an execution runs on (functions/shared/adapters/executions.py).
    versions: Versions


def with_versions(decision: Decision, deps: Dependencies) -> Decision:
    """The decision with the state machine version and alias of its execution (an operator's move of an
    alias is no execution: it names the alias itself)."""
    if ":execution:" not in decision.execution_arn:
        return decision
    version, alias = deps.versions.of(decision.execution_arn)
    return decision.model_copy(update={"state_machine_version": version, "state_machine_alias": alias})


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
    # The task comes from the automation's own state machine, the one that may invoke this writer.
    return deps.log.record(with_versions(decision, deps))


def record_handed(task: HandedDecision, deps: Dependencies) -> list[DecisionRecord]:
    """A module's own decisions, as it made them (its code version included), if they are this automation's."""
    for index, decision in enumerate(task.handed):
        if decision.automation != deps.automation:
            raise InvalidInputError(
                f"HandedDecision: handed[{index}].automation: this writer records {deps.automation}'s decisions only, "
                f"not {decision.automation}'s"
            )
    return deps.log.record_all([with_versions(decision, deps) for decision in task.handed])
