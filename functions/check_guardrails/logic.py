"""The guardrails every remediation passes before it acts, each one recorded as a decision.

In order: a manual override (automation or runbook disabled), the cooldown on the resource (no
repeat within the runbook's minutes), the blast radius (at most `max_actions_per_window` plans per
window per automation, waiting for approval or acted; over it, stop and page), the environment's
approval policy (or a runbook that always needs a human), and dry run (plan and record, act on
nothing). The first refusal ends the checks.

The cooldown and the blast radius are decided by conditional writes to the limits table
(functions/shared/domain/limits.py), not by reading earlier decisions: of two executions checking
the same resource at the same moment exactly one holds its cooldown lease, and of many racing for
the automation's last action slot exactly one takes it. A plan that passes holds both until its
cooldown ends (counted from the decision, plus the approval timeout when it waits for a person);
the workflow gives them back when the plan is rejected or its approval expires. A dry run takes
nothing: it looks at what is held and says what would happen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from functions.shared.domain.context import KeelContext
from functions.shared.domain.decisions import Outcome, Recorder
from functions.shared.domain.limits import Full, Held, Lease, SlotPool, at, blast_pool
from functions.shared.domain.overrides import Override
from functions.shared.remediation.plan import Plan, PlanInput
from functions.shared.remediation.recording import plan_decision
from functions.shared.runtime.clock import Clock

Verdict = Literal["proceed", "approval", "refused", "dry_run"]


class LimitKeeper(Protocol):
    """The limits table (LimitStore in production, an in-memory fake in unit tests)."""

    def hold_cooldown(
        self, resource: str, holder: str, now: datetime, hold: timedelta, about: dict[str, object]
    ) -> Lease | Held: ...

    def cooldown_holder(self, resource: str, holder: str, now: datetime) -> Held | None: ...

    def take_slot(self, pool: SlotPool, holder: str, now: datetime) -> Lease | Full: ...

    def slots_in_use(self, pool: SlotPool, now: datetime) -> list[Held]: ...

    def release(self, ref: dict[str, str], holder: str) -> bool: ...


class OverrideReader(Protocol):
    def disabling(self, automation: str, runbook: str) -> Override | None: ...


@dataclass(frozen=True)
class Dependencies:
    log: Recorder
    overrides: OverrideReader
    limits: LimitKeeper
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
    # What passing this check took (a cooldown lease, an action slot): given back if the plan is not carried out.
    held: Lease | None = None


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    checks: list[Check]
    approval_required: bool
    # Everything the plan holds, for the workflow to give back if it is rejected or its approval expires.
    held: list[Lease] = field(default_factory=list)

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
            "held": [lease.ref for lease in self.held],
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


@dataclass(frozen=True)
class Guarding:
    """What the limit checks need: the plan, who asks, when, and whether anything is taken."""

    task: PlanInput
    limits: LimitKeeper
    now: datetime
    approval_required: bool

    @property
    def holder(self) -> str:
        return self.task.execution

    @property
    def dry_run(self) -> bool:
        return self.task.keel.dry_run


def check_cooldown(guarding: Guarding) -> Check:
    """One lease per resource: this execution takes it, or another execution holds it."""
    plan, keel = guarding.task.plan, guarding.task.keel
    if plan.cooldown_minutes == 0:
        return Check("cooldown", True, f"runbook {plan.runbook} has no cooldown", {})
    # Held from the decision until the cooldown after the latest moment the action can run.
    hold = timedelta(minutes=plan.cooldown_minutes)
    if guarding.approval_required:
        hold += timedelta(seconds=keel.approval_timeout_seconds)
    if guarding.dry_run:
        other = guarding.limits.cooldown_holder(plan.resource, guarding.holder, guarding.now)
        if other is None:
            return Check("cooldown", True, f"nothing holds {plan.resource} (dry run: no lease taken)", {})
        return _cooldown_refusal(plan, other)
    about: dict[str, object] = {"automation": keel.automation, "runbook": plan.runbook, "action": plan.action}
    taken = guarding.limits.hold_cooldown(plan.resource, guarding.holder, guarding.now, hold, about)
    if isinstance(taken, Held):
        return _cooldown_refusal(plan, taken)
    return Check(
        "cooldown",
        True,
        f"{plan.resource} is this execution's until {at(taken.until)} (runbook {plan.runbook}: "
        f"{plan.cooldown_minutes} minutes between actions)",
        {"cooldown_until": at(taken.until)},
        held=taken,
    )


def _cooldown_refusal(plan: Plan, held: Held) -> Check:
    who = f"{held.about.get('automation', 'an automation')} (execution {held.holder})"
    return Check(
        "cooldown",
        False,
        f"{who} holds {plan.resource} until {at(held.until)} for {held.about.get('action', 'an action')}; "
        f"runbook {plan.runbook} waits {plan.cooldown_minutes} minutes between actions",
        {"held_by": held.holder, "held_until": at(held.until)},
    )


def check_blast_radius(guarding: Guarding) -> Check:
    """The automation's action slots: a plan takes one for the window, waiting for approval or not."""
    keel, plan = guarding.task.keel, guarding.task.plan
    limits = keel.limits
    about: dict[str, object] = {"automation": keel.automation, "runbook": plan.runbook, "resource": plan.resource}
    pool = blast_pool(keel.automation, limits.max_actions_per_window, timedelta(minutes=limits.window_minutes), about)
    cap = f"{limits.max_actions_per_window} per {limits.window_minutes} minutes"
    if guarding.dry_run:
        in_use = guarding.limits.slots_in_use(pool, guarding.now)
        if len(in_use) < pool.size:
            return Check("blast_radius", True, f"{len(in_use)} of {cap} planned or taken (dry run: no slot taken)", {})
        return _blast_refusal(keel, Full(in_use))
    taken = guarding.limits.take_slot(pool, guarding.holder, guarding.now)
    if isinstance(taken, Full):
        return _blast_refusal(keel, taken)
    return Check(
        "blast_radius",
        True,
        f"an action slot of {cap} is this plan's until {at(taken.until)}",
        {"slot": taken.sk, "max_actions_per_window": limits.max_actions_per_window},
        held=taken,
    )


def _blast_refusal(keel: KeelContext, full: Full) -> Check:
    limits = keel.limits
    return Check(
        "blast_radius",
        False,
        f"{keel.automation} already planned or took {len(full.held)} actions in the last {limits.window_minutes} minutes "
        f"(cap {limits.max_actions_per_window}; the next slot frees at {at(full.next_free)}): it stops acting and "
        f"pages {keel.oncall}",
        {"actions_in_window": len(full.held), "max_actions_per_window": limits.max_actions_per_window},
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
    """Every guardrail in order, up to the first refusal; what a refused plan took is given back."""
    keel, plan = task.keel, task.plan
    approval = check_approval(keel, plan)
    guarding = Guarding(task, deps.limits, deps.clock(), bool(approval.details["approval_required"]))
    checks: list[Check] = []
    steps: list[Callable[[], Check]] = [
        lambda: check_override(keel, plan, deps.overrides),
        lambda: check_cooldown(guarding),
        lambda: check_blast_radius(guarding),
        lambda: approval,
    ]
    for step in steps:
        check = step()
        checks.append(check)
        if not check.passed:
            # Refused: this plan will not act, so nothing it took may hold others back.
            for taken in _held(checks):
                deps.limits.release(taken.ref, task.execution)
            return Result("refused", checks, approval_required=False)
    if keel.dry_run:
        mode = "would ask for approval, then act" if guarding.approval_required else "would act"
        checks.append(Check("dry_run", True, f"dry run in {keel.environment}: plan recorded, nothing changed ({mode})", {}))
        return Result("dry_run", checks, guarding.approval_required)
    next_step = "waits for approval, then acts" if guarding.approval_required else "acts now"
    checks.append(Check("plan", True, f"every guardrail passed: {keel.automation} {next_step}", {}))
    verdict: Verdict = "approval" if guarding.approval_required else "proceed"
    return Result(verdict, checks, guarding.approval_required, held=_held(checks))


def _held(checks: list[Check]) -> list[Lease]:
    return [check.held for check in checks if check.held is not None]


def check_and_record(task: PlanInput, deps: Dependencies) -> Result:
    """Evaluate, then record one decision per guardrail (and the plan itself in a dry run)."""
    plan = task.plan
    result = evaluate(task, deps)
    decisions = []
    for check in result.checks:
        outcome: Outcome
        action: str
        if check.name in ("dry_run", "plan"):
            outcome, action = "planned", plan.action
        else:
            outcome, action = ("passed" if check.passed else "refused"), f"guardrail:{check.name}"
        decisions.append(
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
    # All of them in one append: one turn at the chain's head per execution, not one per guardrail.
    deps.log.record_all(decisions)
    return result
