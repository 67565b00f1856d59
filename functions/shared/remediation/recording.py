"""How remediation goes on the record: a decision about a plan (the runbook is its rule, the plan its
evidence), and the action an act module took, with who approved it and how to undo it."""

from __future__ import annotations

from typing import Any

from functions.shared.domain.decisions import Decision, DecisionRecord, Outcome, Recorder, decision_in, digest
from functions.shared.remediation.plan import ActInput, ActionResult, PlanInput
from functions.shared.runtime.errors import NotFoundError


def plan_decision(
    task: PlanInput,
    *,
    action: str,
    outcome: Outcome,
    reason: str,
    code_version: str,
    step: str | None = None,
    details: dict[str, Any] | None = None,
) -> Decision:
    """A decision about the task's plan; `step` when the task records several (one per guardrail)."""
    plan = task.plan
    return decision_in(
        task,
        step=step or task.step,
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


def record_action(task: ActInput, result: ActionResult, log: Recorder, code_version: str) -> dict[str, Any]:
    """Record what an act module did (`taken`, or `skipped` when nothing changed); returns the task's
    output: the result and the decision's summary."""
    approval = task.approval or {}
    decision = plan_decision(
        task,
        action=task.plan.action,
        outcome="taken" if result.changed else "skipped",
        reason=result.summary,
        code_version=code_version,
        details={**result.details, "target": task.plan.target, **({"undo": result.undo} if result.undo else {})},
    )
    record = log.record(
        decision.model_copy(update={"approved_by": approval.get("decided_by"), "approval_id": approval.get("approval_id")})
    )
    return {**result.model_dump(mode="json"), "outcome": decision.outcome, "decision": record_summary(record)}


def record_not_found(task: ActInput, gone: NotFoundError, log: Recorder, code_version: str) -> dict[str, Any]:
    """Record that the plan's target no longer exists (`not_found`): nothing was changed, and the
    workflow tells the owner and ends, instead of failing and paging. Same output shape as an action."""
    reason = f"nothing changed, the target no longer exists: {gone}"
    decision = plan_decision(
        task,
        action=task.plan.action,
        outcome="not_found",
        reason=reason,
        code_version=code_version,
        details={"target": task.plan.target},
    )
    record = log.record(decision)
    result = ActionResult(changed=False, summary=reason, details={"target": task.plan.target})
    return {**result.model_dump(mode="json"), "outcome": "not_found", "decision": record_summary(record)}
