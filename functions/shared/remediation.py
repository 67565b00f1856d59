"""Contracts shared by the remediation modules: the plan a runbook makes, and how actions record.

match_runbook turns an alarm or a finding into a Plan; check_guardrails decides whether it may run;
remediate_service / contain_threat carry it out; verify_remediation checks that it worked. The plan
travels through the workflow's state as JSON, so every task sees exactly what was decided.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from functions.shared.contract import Field
from functions.shared.decisions import Decision, DecisionRecord, Outcome, decision_in, digest
from functions.shared.models import Contract, KeelContext, TaskInput

Risk = Literal["low", "medium", "high", "critical"]
ActionName = Literal[
    "ecs_force_new_deployment",
    "ecs_scale_out",
    "ec2_reboot",
    "sqs_redrive",
    "ec2_isolate",
    "iam_deactivate_access_key",
]
VerificationKind = Literal[
    "alarm_ok", "service_stable", "instance_running", "queue_drained", "instance_isolated", "access_key_inactive"
]
# The tag a resource (or alarm) carries to opt in: the action roles can touch nothing else.
OPT_IN_TAG = "keel:remediation"


class Verification(Contract):
    kind: VerificationKind
    # How long to let the action take effect before checking.
    wait_seconds: int = Field(ge=0, le=3600)
    alarm: str | None = None


class Plan(Contract):
    """What a runbook says to do about one alarm or finding."""

    runbook: str
    catalog_version: str
    description: str
    action: ActionName
    # The ARN the action touches: cooldowns and the decision record are keyed on it.
    resource: str
    target: dict[str, str]
    parameters: dict[str, Any] = Field(default_factory=dict)
    risk: Risk
    # "always": a human approves in every environment; "policy": the environment's policy decides.
    approval: Literal["policy", "always"]
    cooldown_minutes: int = Field(ge=0)
    verify: Verification
    trigger: str
    region: str
    account: str

    @property
    def rule(self) -> str:
        return f"runbook {self.runbook} (catalog {self.catalog_version})"


class PlanInput(TaskInput):
    step: str = Field(min_length=1)
    plan: Plan


def plan_decision(
    *,
    keel: KeelContext,
    event_id: str,
    execution: str,
    step: str,
    plan: Plan,
    action: str,
    outcome: Outcome,
    reason: str,
    code_version: str,
    details: dict[str, Any] | None = None,
    dry_run: bool | None = None,
) -> Decision:
    """A decision about a plan, with the runbook as its rule and the plan as its evidence."""
    return decision_in(
        keel,
        event_id=event_id,
        execution_arn=execution,
        dry_run=dry_run,
        step=step,
        action=action,
        outcome=outcome,
        reason=reason,
        rule=plan.rule,
        resource=plan.resource,
        trigger=plan.trigger,
        input_digest=digest(plan.model_dump(mode="json")),
        code_version=code_version,
        versions={"runbooks": plan.catalog_version},
        details=details or {},
    )


def record_summary(record: DecisionRecord) -> dict[str, Any]:
    return {"seq": record.seq, "hash": record.hash, "outcome": record.decision.outcome}


class ActionResult(Contract):
    """What an action did: recorded in the decision and handed to verification."""

    changed: bool
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)
    # How to reverse it, when it can be: a description and the command an operator runs.
    undo: dict[str, Any] | None = None


class Recorder(Protocol):
    def record(self, decision: Decision) -> DecisionRecord: ...


def record_action(
    *,
    task: PlanInput,
    result: ActionResult,
    approved_by: str | None,
    approval_id: str | None,
    code_version: str,
    log: Recorder,
) -> DecisionRecord:
    decision = plan_decision(
        keel=task.keel,
        event_id=task.event_id,
        execution=task.execution,
        step=task.step,
        plan=task.plan,
        action=task.plan.action,
        outcome="taken" if result.changed else "skipped",
        reason=result.summary,
        code_version=code_version,
        details={**result.details, "target": task.plan.target, **({"undo": result.undo} if result.undo else {})},
    )
    return log.record(decision.model_copy(update={"approved_by": approved_by, "approval_id": approval_id}))


class ActInput(PlanInput):
    # The approval's answer when one was asked for ($.approval: approved, approval_id, decided_by).
    approval: dict[str, Any] | None = None
