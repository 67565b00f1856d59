"""The guardrails before any action: override, cooldown, blast radius, approval policy, dry run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.check_guardrails.logic import Dependencies, Result, check_and_record, evaluate
from functions.shared.domain.context import KeelContext
from functions.shared.domain.decisions import Decision, DecisionRecord
from functions.shared.domain.overrides import Override
from functions.shared.remediation.plan import Plan, PlanInput
from tests.support.keel_context import keel_fields

NOW = datetime(2026, 11, 22, 3, 20, tzinfo=UTC)
RESOURCE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:now"


def keel(**changes: Any) -> KeelContext:
    base = keel_fields(
        automation="alarm_remediation",
        approval_timeout_seconds=1800,
        definition_hash="sha256:def",
        limits={"max_concurrency": 5, "max_actions_per_window": 3, "window_minutes": 60},
    )
    return KeelContext.model_validate(base | changes)


def plan(**changes: Any) -> Plan:
    base: dict[str, Any] = {
        "runbook": "ecs-5xx-restart",
        "catalog_version": "2026.11.2",
        "description": "restart",
        "action": "ecs_force_new_deployment",
        "resource": RESOURCE,
        "target": {"cluster": "orders", "service": "orders-api"},
        "risk": "medium",
        "approval": "policy",
        "cooldown_minutes": 30,
        "verify": {"kind": "alarm_ok", "wait_seconds": 300, "alarm": "orders-api-5xx"},
        "trigger": "CloudWatch alarm orders-api-5xx entered ALARM",
        "region": "eu-west-1",
        "account": "111111111111",
    }
    return Plan.model_validate(base | changes)


@dataclass
class FakeDecisions:
    """The decision log in memory: the same queries check_guardrails makes on the decisions table."""

    records: list[DecisionRecord] = field(default_factory=list)

    def record(self, decision: Decision) -> DecisionRecord:
        return self.add(decision, NOW)

    def add(self, decision: Decision, at: datetime) -> DecisionRecord:
        record = DecisionRecord(
            seq=len(self.records) + 1,
            recorded_at=at.isoformat(timespec="milliseconds"),
            prev_hash="0",
            hash="1",
            decision=decision,
        )
        self.records.append(record)
        return record

    def last_action_on_resource(self, resource: str, since: datetime, *, other_than: str | None = None) -> DecisionRecord | None:
        cutoff = since.isoformat(timespec="milliseconds")
        return next(
            (
                r
                for r in reversed(self.records)
                if r.decision.resource == resource
                and r.recorded_at >= cutoff
                and r.decision.outcome in ("taken", "planned")
                and not r.decision.dry_run
                and r.decision.execution_arn != other_than
            ),
            None,
        )

    def actions_in_window(self, automation: str, since: datetime, at_most: int | None = None) -> list[DecisionRecord]:
        cutoff = since.isoformat(timespec="milliseconds")
        taken = [
            r
            for r in reversed(self.records)
            if r.decision.automation == automation and r.recorded_at >= cutoff and r.decision.outcome == "taken"
        ]
        return taken[:at_most]


@dataclass
class FakeOverrides:
    disabled: dict[tuple[str, str | None], Override] = field(default_factory=dict)

    def disable(self, automation: str, runbook: str | None = None) -> None:
        self.disabled[(automation, runbook)] = Override(
            automation=automation,
            runbook=runbook,
            disabled=True,
            changed_by="arn:aws:iam::1:user/alice",
            changed_at=NOW,
            reason="noisy deploy in progress",
        )

    def disabling(self, automation: str, runbook: str) -> Override | None:
        return self.disabled.get((automation, None)) or self.disabled.get((automation, runbook))


def taken(resource: str = RESOURCE, *, dry_run: bool = False, automation: str = "alarm_remediation") -> Decision:
    return Decision(
        automation=automation,
        automation_version="1.0.0",
        environment="dev",
        event_id="earlier-event",
        execution_arn="arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:earlier",
        step="Act",
        action="ecs_force_new_deployment",
        outcome="planned" if dry_run else "taken",
        reason="earlier",
        resource=resource,
        dry_run=dry_run,
        input_digest="sha256:0",
    )


def task(
    context: KeelContext | None = None, runbook_plan: Plan | None = None, *, execution: str = EXECUTION, event_id: str = "evt"
) -> PlanInput:
    """check_guardrails' input: the default plan in the default context unless given."""
    return PlanInput(
        event_id=event_id,
        execution=execution,
        keel=keel() if context is None else context,
        step="CheckGuardrails",
        plan=plan() if runbook_plan is None else runbook_plan,
    )


def guard(log: FakeDecisions | None = None, overrides: FakeOverrides | None = None) -> Dependencies:
    """The decision log and overrides (empty unless given), at NOW."""
    return Dependencies(
        log=FakeDecisions() if log is None else log,
        overrides=FakeOverrides() if overrides is None else overrides,
        clock=lambda: NOW,
        code_version="sha256:code",
    )


def check_recorded(log: FakeDecisions, *, keel: KeelContext, event_id: str, execution: str) -> Result:
    """check_and_record of the default plan at NOW, with no overrides."""
    return check_and_record(task(keel, execution=execution, event_id=event_id), guard(log))


def test_with_nothing_in_the_way_the_plan_proceeds_without_approval_in_dev() -> None:
    # Given a clean history in dev (approval never)
    # When the guardrails are evaluated
    result = evaluate(task(), guard())

    # Then every check passes, in order, and the plan proceeds
    assert result.verdict == "proceed"
    assert [check.name for check in result.checks] == ["override", "cooldown", "blast_radius", "approval_policy", "plan"]
    assert all(check.passed for check in result.checks)


@pytest.mark.parametrize(
    ("context", "runbook", "verdict"),
    [
        ({"environment": "prod", "approval_from_risk": "medium"}, {"risk": "medium"}, "approval"),
        ({"environment": "prod", "approval_from_risk": "medium"}, {"risk": "low"}, "proceed"),
        ({"environment": "staging", "approval_from_risk": "high"}, {"risk": "medium"}, "proceed"),
        ({"environment": "dev", "approval_from_risk": "never"}, {"risk": "critical"}, "proceed"),
        ({"environment": "dev", "approval_from_risk": "never"}, {"risk": "high", "approval": "always"}, "approval"),
        ({"environment": "prod", "approval_required": False}, {"risk": "critical"}, "proceed"),
    ],
    ids=["prod-medium", "prod-low", "staging-medium", "dev-critical", "runbook-always", "manifest-override"],
)
def test_the_environment_policy_decides_who_approves(context, runbook, verdict) -> None:
    # Given an environment policy and a runbook's risk / When evaluated / Then approval follows the policy
    result = evaluate(task(keel(**context), plan(**runbook)), guard())
    assert result.verdict == verdict


def test_an_earlier_action_on_the_resource_refuses_within_the_cooldown() -> None:
    # Given the same service restarted 10 minutes ago (runbook cooldown 30 minutes)
    log = FakeDecisions()
    log.add(taken(), NOW - timedelta(minutes=10))

    # When evaluated
    result = evaluate(task(), guard(log))

    # Then the cooldown refuses, naming the earlier execution, and later checks do not run
    assert (result.verdict, result.refused_by) == ("refused", "cooldown")
    assert (
        "execution arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:earlier" in result.checks[-1].reason
    )
    assert [check.name for check in result.checks] == ["override", "cooldown"]


def test_after_the_cooldown_or_on_another_resource_or_in_a_dry_run_the_action_may_repeat() -> None:
    # Given an action 40 minutes ago, one on another service now, and a dry-run plan now
    log = FakeDecisions()
    log.add(taken(), NOW - timedelta(minutes=40))
    log.add(taken("arn:aws:ecs:eu-west-1:111111111111:service/orders/other"), NOW)
    log.add(taken(dry_run=True), NOW - timedelta(minutes=1))

    # When evaluated / Then none of them holds the restart back
    assert evaluate(task(), guard(log)).verdict == "proceed"


def test_over_the_blast_radius_the_automation_stops_and_pages() -> None:
    # Given 3 actions on other resources in the last hour (cap 3 per 60 minutes), one older
    log = FakeDecisions()
    for minutes, name in ((5, "a"), (20, "b"), (59, "c"), (61, "d")):
        log.add(taken(f"arn:aws:ecs:eu-west-1:111111111111:service/x/{name}"), NOW - timedelta(minutes=minutes))

    # When evaluated
    result = evaluate(task(), guard(log))

    # Then it refuses, asks for a page, and says who is paged
    assert (result.verdict, result.refused_by) == ("refused", "blast_radius")
    assert result.as_output()["page"] is True
    assert (
        "already took 3 actions in the last 60 minutes (cap 3): it stops acting and pages platform-oncall"
        in result.checks[-1].reason
    )


def test_another_automation_actions_do_not_count_towards_this_blast_radius() -> None:
    # Given 3 actions of security_finding_response in the window
    log = FakeDecisions()
    for name in ("a", "b", "c"):
        log.add(taken(f"arn:x:{name}", automation="security_finding_response"), NOW)

    # When alarm_remediation evaluates / Then its own window is empty
    assert evaluate(task(), guard(log)).verdict == "proceed"


@pytest.mark.parametrize("runbook", [None, "ecs-5xx-restart"], ids=["automation", "runbook"])
def test_a_manual_override_refuses_first(runbook) -> None:
    # Given alarm_remediation (or this runbook) disabled by an operator
    overrides = FakeOverrides()
    overrides.disable("alarm_remediation", runbook)

    # When evaluated
    result = evaluate(task(), guard(overrides=overrides))

    # Then the override refuses before anything else, with who and why
    assert (result.verdict, result.refused_by, len(result.checks)) == ("refused", "override", 1)
    assert "disabled by arn:aws:iam::1:user/alice" in result.checks[0].reason
    assert result.checks[0].reason.endswith("noisy deploy in progress")


def test_another_runbook_disabled_does_not_stop_this_one() -> None:
    # Given only the scale-out runbook disabled / When the restart runbook is evaluated / Then it proceeds
    overrides = FakeOverrides()
    overrides.disable("alarm_remediation", "ecs-cpu-scale-out")
    assert evaluate(task(), guard(overrides=overrides)).verdict == "proceed"


def test_a_dry_run_plans_and_records_but_acts_on_nothing() -> None:
    # Given dry run in prod, where the plan would need approval
    log = FakeDecisions()

    # When checked and recorded
    result = check_recorded(
        log,
        keel=keel(dry_run=True, environment="prod", approval_from_risk="medium"),
        event_id="evt-1",
        execution="arn:aws:states:eu-west-1:1:execution:m:dry",
    )

    # Then the verdict is dry_run, each guardrail and the plan are recorded, and the plan is marked dry run
    assert result.verdict == "dry_run"
    recorded = [(r.decision.step, r.decision.action, r.decision.outcome, r.decision.dry_run) for r in log.records]
    assert recorded == [
        ("CheckGuardrails:override", "guardrail:override", "passed", True),
        ("CheckGuardrails:cooldown", "guardrail:cooldown", "passed", True),
        ("CheckGuardrails:blast_radius", "guardrail:blast_radius", "passed", True),
        ("CheckGuardrails:approval_policy", "guardrail:approval_policy", "passed", True),
        ("CheckGuardrails:dry_run", "ecs_force_new_deployment", "planned", True),
    ]
    assert "would ask for approval, then act" in log.records[-1].decision.reason
    assert log.records[-1].decision.rule == "runbook ecs-5xx-restart (catalog 2026.11.2)"
    assert log.records[-1].decision.versions == {"runbooks": "2026.11.2"}


def test_a_refusal_is_recorded_with_the_resource_and_the_runbook() -> None:
    # Given a cooldown in force
    log = FakeDecisions()
    log.add(taken(), NOW - timedelta(minutes=1))

    # When checked and recorded
    result = check_recorded(log, keel=keel(), event_id="evt-2", execution="arn:aws:states:eu-west-1:1:execution:m:second")

    # Then the refusal is on the record, for the resource, and the output says which guardrail refused
    refusal = log.records[-1].decision
    assert (refusal.action, refusal.outcome, refusal.resource) == ("guardrail:cooldown", "refused", RESOURCE)
    assert result.as_output()["refused_by"] == "cooldown"
    assert result.as_output()["page"] is False


def test_a_passed_plan_is_recorded_as_planned_and_holds_the_cooldown_for_others_not_for_itself() -> None:
    # Given a plan that passes its guardrails and is recorded
    log = FakeDecisions()
    first = check_recorded(log, keel=keel(), event_id="evt-1", execution=EXECUTION)

    # When the same execution checks again (a retry), and another execution checks the same resource
    again = evaluate(task(), guard(log))
    other = evaluate(task(execution=EXECUTION + "-other"), guard(log))

    # Then the plan is on the record, the retry still proceeds, and the other execution is held back
    assert first.verdict == "proceed"
    assert (log.records[-1].decision.action, log.records[-1].decision.outcome) == ("ecs_force_new_deployment", "planned")
    assert again.verdict == "proceed"
    assert (other.verdict, other.refused_by) == ("refused", "cooldown")
