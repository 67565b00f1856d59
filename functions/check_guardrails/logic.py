"""The guardrails every remediation passes before it acts, each one recorded as a decision.

In order: a manual override (automation or runbook disabled), the cooldown on the resource (no
repeat within the runbook's minutes: earlier decisions limit what happens next), the blast radius
(at most `max_actions_per_window` actions per window per automation; over it, stop and page), the
environment's approval policy (or a runbook that always needs a human), and dry run (plan and
record, act on nothing). The first refusal ends the checks. A plan that passes is recorded as
planned, which holds the resource's cooldown against other executions from that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from functions.shared.domain.context import KeelContext
from functions.shared.domain.decisions import Decision, DecisionRecord, Outcome
from functions.shared.domain.overrides import Override
from functions.shared.remediation.plan import Plan, PlanInput
from functions.shared.remediation.recording import plan_decision
from functions.shared.runtime.clock import Clock

Verdict = Literal["proceed", "approval", "refused", "dry_run"]


class DecisionReader(Protocol):
    def record(self, decision: Decision) -> DecisionRecord: ...

    def last_action_on_resource(
        self, resource: str, since: datetime, *, other_than: str | None = None
    ) -> DecisionRecord | None: ...

    def actions_in_window(self, automation: str, since: datetime, at_most: int | None = None) -> list[DecisionRecord]: ...


class OverrideReader(Protocol):
    def disabling(self, automation: str, runbook: str) -> Override | None: ...


@dataclass(frozen=True)
class Dependencies:
    log: DecisionReader
    overrides: OverrideReader
    clock: Clock
    # Which code decided: the deployment package's digest.
    code_version: str


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str
    details: dict[str, object]
    # Over the blast radius: a person must look, now.
    page: bool = False


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    checks: list[Check]
    approval_required: bool

    @property
    def refused_by(self) -> str | None:
        return next((check.name for check in self.checks if not check.passed), None)

    def as_output(self) -> dict[str, object]:
        refusal = next((check for check in self.checks if not check.passed), None)
        return {
            "verdict": self.verdict,
            "approval_required": self.approval_required,
            "refused_by": self.refused_by,
            "reason": refusal.reason if refusal else "every guardrail passed",
            "page": any(check.page for check in self.checks),
            "checks": [{"name": check.name, "passed": check.passed, "reason": check.reason} for check in self.checks],
        }


def check_override(keel: KeelContext, plan: Plan, overrides: OverrideReader) -> Check:
    found = overrides.disabling(keel.automation, plan.runbook)
    if found is None:
        return Check("override", True, f"neither {keel.automation} nor runbook {plan.runbook} is disabled", {})
    return Check(
        "override",
        False,
        f"{found.scope} disabled by {found.changed_by} at {found.changed_at.isoformat(timespec='seconds')}: {found.reason}",
        {"disabled_by": found.changed_by, "override_reason": found.reason},
    )


def check_cooldown(plan: Plan, execution: str, log: DecisionReader, now: datetime) -> Check:
    """Real actions (taken, or planned by a workflow that passed its guardrails) of other executions."""
    since = now - timedelta(minutes=plan.cooldown_minutes)
    last = log.last_action_on_resource(plan.resource, since, other_than=execution)
    if last is None:
        return Check("cooldown", True, f"no action on {plan.resource} in the last {plan.cooldown_minutes} minutes", {})
    return Check(
        "cooldown",
        False,
        f"{last.decision.automation} already took {last.decision.action} on {plan.resource} at {last.recorded_at} "
        f"(execution {last.decision.execution_arn}); runbook {plan.runbook} waits {plan.cooldown_minutes} minutes "
        "between actions",
        {"last_action_at": last.recorded_at, "last_execution": last.decision.execution_arn},
    )


def check_blast_radius(keel: KeelContext, log: DecisionReader, now: datetime) -> Check:
    limits = keel.limits
    window_start = now - timedelta(minutes=limits.window_minutes)
    taken = log.actions_in_window(keel.automation, window_start, at_most=limits.max_actions_per_window)
    details: dict[str, object] = {"actions_in_window": len(taken), "max_actions_per_window": limits.max_actions_per_window}
    if len(taken) < limits.max_actions_per_window:
        return Check(
            "blast_radius",
            True,
            f"{len(taken)} of at most {limits.max_actions_per_window} actions in the last {limits.window_minutes} minutes",
            details,
        )
    return Check(
        "blast_radius",
        False,
        f"{keel.automation} already took {len(taken)} actions in the last {limits.window_minutes} minutes "
        f"(cap {limits.max_actions_per_window}): it stops acting and pages {keel.oncall}",
        details,
        page=True,
    )


def check_approval(keel: KeelContext, plan: Plan) -> Check:
    if plan.approval == "always":
        reason = f"runbook {plan.runbook} always needs a human to approve ({plan.action}, risk {plan.risk})"
        needed = True
    elif keel.approval_required is not None:
        needed = keel.approval_required
        reason = f"the manifest sets approval_required={needed} in {keel.environment}"
    else:
        needed = keel.needs_approval(plan.risk)
        policy = "never" if keel.approval_from_risk == "never" else f"from risk {keel.approval_from_risk}"
        verdict = "needs" if needed else "needs no"
        reason = f"{keel.environment} requires approval {policy}: risk {plan.risk} {verdict} approval"
    return Check("approval_policy", True, reason, {"approval_required": needed, "risk": plan.risk})


def evaluate(task: PlanInput, deps: Dependencies) -> Result:
    """Every guardrail in order, up to the first refusal."""
    keel, plan, now = task.keel, task.plan, deps.clock()
    checks: list[Check] = []
    steps: list[Callable[[], Check]] = [
        lambda: check_override(keel, plan, deps.overrides),
        lambda: check_cooldown(plan, task.execution, deps.log, now),
        lambda: check_blast_radius(keel, deps.log, now),
        lambda: check_approval(keel, plan),
    ]
    for step in steps:
        check = step()
        checks.append(check)
        if not check.passed:
            return Result("refused", checks, approval_required=False)
    approval_required = bool(checks[-1].details["approval_required"])
    if keel.dry_run:
        mode = "would ask for approval, then act" if approval_required else "would act"
        checks.append(Check("dry_run", True, f"dry run in {keel.environment}: plan recorded, nothing changed ({mode})", {}))
        return Result("dry_run", checks, approval_required)
    # The plan goes on the record now, so the cooldown holds for other executions while this one
    # waits for its approval or acts.
    next_step = "waits for approval, then acts" if approval_required else "acts now"
    checks.append(Check("plan", True, f"every guardrail passed: {keel.automation} {next_step}", {}))
    return Result("approval" if approval_required else "proceed", checks, approval_required)


def check_and_record(task: PlanInput, deps: Dependencies) -> Result:
    """Evaluate, then record one decision per guardrail (and the plan itself in a dry run)."""
    plan = task.plan
    result = evaluate(task, deps)
    for check in result.checks:
        outcome: Outcome
        action: str
        if check.name in ("dry_run", "plan"):
            outcome, action = "planned", plan.action
        else:
            outcome, action = ("passed" if check.passed else "refused"), f"guardrail:{check.name}"
        deps.log.record(
            plan_decision(
                task,
                step=f"{task.step}:{check.name}",
                action=action,
                outcome=outcome,
                reason=check.reason,
                code_version=deps.code_version,
                details={**check.details, "target": plan.target, "parameters": plan.parameters}
                if check.name == "dry_run"
                else check.details,
            )
        )
    return result
