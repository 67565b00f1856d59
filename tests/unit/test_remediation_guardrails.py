"""The guardrails before any action: override, cooldown, blast radius, approval policy, dry run.

The cooldown and blast radius are decided by the limits table's conditional writes; here an
in-memory fake of it keeps the same rules (a lease or slot is free when absent, past its end, or
already the asker's), so the logic's decisions can be read one by one. The same rules against
DynamoDB (moto), under concurrency, are tests/functional/test_limits_concurrency.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.check_guardrails.logic import Dependencies, Result, check_and_record, evaluate
from functions.shared.domain.context import KeelContext
from functions.shared.domain.decisions import Decision, DecisionRecord
from functions.shared.domain.limits import Full, Held, Lease, SlotPool, cooldown_key, epoch_ms
from functions.shared.domain.overrides import Override
from functions.shared.remediation.plan import Plan, PlanInput
from tests.support.keel_context import keel_fields

NOW = datetime(2026, 11, 22, 3, 20, tzinfo=UTC)
RESOURCE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:now"
EARLIER = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:earlier"


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
    """The decision log in memory: what check_guardrails records."""

    records: list[DecisionRecord] = field(default_factory=list)

    def record(self, decision: Decision) -> DecisionRecord:
        record = DecisionRecord(
            seq=len(self.records) + 1,
            recorded_at=NOW.isoformat(timespec="milliseconds"),
            prev_hash="0",
            hash="1",
            decision=decision,
        )
        self.records.append(record)
        return record

    def record_all(self, decisions: Sequence[Decision]) -> list[DecisionRecord]:
        return [self.record(decision) for decision in decisions]


@dataclass
class FakeLimits:
    """The limits table in memory, with the conditional writes' rules: an item is taken when absent,
    past its `until`, or already the asker's."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    released: list[tuple[dict[str, str], str]] = field(default_factory=list)

    def hold(self, key: dict[str, str], holder: str, until: datetime, **about: Any) -> None:
        self.items[(key["pk"], key["sk"])] = {**about, "holder": holder, "until": epoch_ms(until)}

    def hold_cooldown(self, resource: str, holder: str, now: datetime, hold: timedelta, about: dict[str, Any]) -> Lease | Held:
        return self._take(cooldown_key(resource), holder, now, hold, about)

    def cooldown_holder(self, resource: str, holder: str, now: datetime) -> Held | None:
        key = cooldown_key(resource)
        item = self.items.get((key["pk"], key["sk"]))
        if item is None or item["until"] <= epoch_ms(now) or item["holder"] == holder:
            return None
        return self._held(item)

    def take_slot(self, pool: SlotPool, holder: str, now: datetime) -> Lease | Full:
        for sk in pool.slot_keys():
            taken = self._take({"pk": pool.pk, "sk": sk}, holder, now, pool.hold, pool.about)
            if isinstance(taken, Lease):
                return taken
        return Full(self.slots_in_use(pool, now))

    def slots_in_use(self, pool: SlotPool, now: datetime) -> list[Held]:
        items = [self.items.get((pool.pk, sk)) for sk in pool.slot_keys()]
        return [self._held(item) for item in items if item is not None and item["until"] > epoch_ms(now)]

    def release(self, ref: dict[str, str], holder: str) -> bool:
        self.released.append((ref, holder))
        item = self.items.get((ref["pk"], ref["sk"]))
        if item is None or item["holder"] != holder:
            return False
        del self.items[(ref["pk"], ref["sk"])]
        return True

    def _take(self, key: dict[str, str], holder: str, now: datetime, hold: timedelta, about: dict[str, Any]) -> Lease | Held:
        item = self.items.get((key["pk"], key["sk"]))
        if item is not None and item["until"] > epoch_ms(now) and item["holder"] != holder:
            return self._held(item)
        self.hold(key, holder, now + hold, **about)
        return Lease(pk=key["pk"], sk=key["sk"], holder=holder, until=epoch_ms(now + hold))

    @staticmethod
    def _held(item: dict[str, Any]) -> Held:
        about = {key: value for key, value in item.items() if key not in ("holder", "until")}
        return Held(holder=item["holder"], until=item["until"], about=about)


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


def guard(
    limits: FakeLimits | None = None, overrides: FakeOverrides | None = None, log: FakeDecisions | None = None, at: datetime = NOW
) -> Dependencies:
    """The limits table, overrides and decision log (empty unless given), at NOW."""
    return Dependencies(
        log=FakeDecisions() if log is None else log,
        overrides=FakeOverrides() if overrides is None else overrides,
        limits=FakeLimits() if limits is None else limits,
        clock=lambda: at,
        code_version="sha256:code",
    )


def check_recorded(log: FakeDecisions, limits: FakeLimits, *, keel: KeelContext, execution: str) -> Result:
    """check_and_record of the default plan at NOW, with no overrides."""
    return check_and_record(task(keel, execution=execution), guard(limits, log=log))


def blast_pool_of(automation: str = "alarm_remediation") -> str:
    return f"blast#{automation}"


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


def test_another_execution_holding_the_resource_refuses_within_the_cooldown() -> None:
    # Given an earlier execution that holds the service's cooldown lease for another 20 minutes
    limits = FakeLimits()
    limits.hold(cooldown_key(RESOURCE), EARLIER, NOW + timedelta(minutes=20), automation="alarm_remediation", action="restart")

    # When evaluated
    result = evaluate(task(), guard(limits))

    # Then the cooldown refuses, naming the holder and when its lease ends, and later checks do not run
    assert (result.verdict, result.refused_by) == ("refused", "cooldown")
    assert f"alarm_remediation (execution {EARLIER}) holds {RESOURCE} until 2026-11-22T03:40:00+00:00" in result.checks[-1].reason
    assert [check.name for check in result.checks] == ["override", "cooldown"]


def test_a_passed_plan_holds_the_cooldown_for_its_minutes_plus_the_approval_timeout_when_it_waits() -> None:
    # Given prod, where this plan waits for a person (approval timeout 30 minutes, cooldown 30 minutes)
    limits = FakeLimits()

    # When evaluated
    result = evaluate(task(keel(environment="prod", approval_from_risk="medium")), guard(limits))

    # Then the lease lasts until the latest moment the action can run plus its cooldown
    assert result.verdict == "approval"
    assert limits.items[("cooldown#" + RESOURCE, "lease")]["until"] == epoch_ms(NOW + timedelta(minutes=60))
    assert {lease.pk for lease in result.held} == {"cooldown#" + RESOURCE, blast_pool_of()}


def test_after_the_lease_ends_or_on_another_resource_the_action_may_repeat() -> None:
    # Given a lease on the service that ended a minute ago, and one held on another service now
    limits = FakeLimits()
    limits.hold(cooldown_key(RESOURCE), EARLIER, NOW - timedelta(minutes=1))
    limits.hold(cooldown_key(RESOURCE + "-other"), EARLIER, NOW + timedelta(minutes=30))

    # When evaluated / Then neither holds the restart back
    assert evaluate(task(), guard(limits)).verdict == "proceed"


def test_the_same_execution_asking_again_keeps_what_it_holds_and_another_is_held_back() -> None:
    # Given a plan that passed (a retried task asks again; another execution asks for the same service)
    limits = FakeLimits()
    first = evaluate(task(), guard(limits))

    # When the same execution and then another one are evaluated
    again = evaluate(task(), guard(limits))
    other = evaluate(task(execution=EXECUTION + "-other"), guard(limits))

    # Then the retry still proceeds with the same slot, and the other execution is refused
    assert (first.verdict, again.verdict) == ("proceed", "proceed")
    assert [lease.sk for lease in again.held] == [lease.sk for lease in first.held]
    assert (other.verdict, other.refused_by) == ("refused", "cooldown")


def test_a_plan_without_a_cooldown_takes_no_lease() -> None:
    # Given a runbook with no cooldown / When evaluated / Then it passes and holds only its action slot
    limits = FakeLimits()
    result = evaluate(task(runbook_plan=plan(cooldown_minutes=0)), guard(limits))
    assert result.verdict == "proceed"
    assert [lease.pk for lease in result.held] == [blast_pool_of()]


def test_over_the_blast_radius_the_automation_stops_pages_and_gives_its_cooldown_back() -> None:
    # Given the automation's 3 action slots held by plans on other services (cap 3 per 60 minutes)
    limits = FakeLimits()
    for index, name in enumerate("abc"):
        limits.hold({"pk": blast_pool_of(), "sk": f"slot#{index:04d}"}, f"{EARLIER}-{name}", NOW + timedelta(minutes=10 + index))

    # When evaluated
    result = evaluate(task(), guard(limits))

    # Then it refuses, asks for a page, says when the next slot frees, and holds nothing on the service
    assert (result.verdict, result.refused_by) == ("refused", "blast_radius")
    assert result.as_output()["page"] is True
    assert (
        "already planned or took 3 actions in the last 60 minutes (cap 3; the next slot frees at 2026-11-22T03:30:00+00:00): "
        "it stops acting and pages platform-oncall" in result.checks[-1].reason
    )
    assert ("cooldown#" + RESOURCE, "lease") not in limits.items
    assert result.held == []


def test_plans_waiting_for_approval_count_towards_the_blast_radius() -> None:
    # Given prod, where every plan waits for a person, and a cap of 3
    limits = FakeLimits()
    prod = keel(environment="prod", approval_from_risk="medium")

    # When 4 plans on 4 services are evaluated, none answered yet
    results = [
        evaluate(task(prod, plan(resource=f"{RESOURCE}-{n}"), execution=f"{EXECUTION}-{n}"), guard(limits)) for n in range(4)
    ]

    # Then 3 wait for approval and the fourth is refused by the blast radius
    assert [result.verdict for result in results] == ["approval", "approval", "approval", "refused"]
    assert results[-1].refused_by == "blast_radius"


def test_a_slot_given_back_or_past_its_window_is_taken_again() -> None:
    # Given a cap of 3: two slots held, one given back by a rejected plan, one whose window ended
    limits = FakeLimits()
    prod = keel(environment="prod", approval_from_risk="medium")
    held = [evaluate(task(prod, plan(resource=f"{RESOURCE}-{n}"), execution=f"{EXECUTION}-{n}"), guard(limits)) for n in range(3)]
    rejected = next(lease for lease in held[0].held if lease.pk == blast_pool_of())
    limits.release(rejected.ref, f"{EXECUTION}-0")

    # When two more plans come, the second an hour later
    now = evaluate(task(prod, plan(resource=f"{RESOURCE}-3"), execution=f"{EXECUTION}-3"), guard(limits))
    later = evaluate(
        task(prod, plan(resource=f"{RESOURCE}-4"), execution=f"{EXECUTION}-4"), guard(limits, at=NOW + timedelta(minutes=61))
    )

    # Then the first takes the slot given back and the second one whose window ended
    assert (now.verdict, later.verdict) == ("approval", "approval")
    assert next(lease.sk for lease in now.held if lease.pk == blast_pool_of()) == rejected.sk


def test_another_automation_slots_do_not_count_towards_this_blast_radius() -> None:
    # Given 3 slots of security_finding_response held
    limits = FakeLimits()
    for index in range(3):
        limits.hold(
            {"pk": blast_pool_of("security_finding_response"), "sk": f"slot#{index:04d}"}, EARLIER, NOW + timedelta(hours=1)
        )

    # When alarm_remediation evaluates / Then its own pool is empty
    assert evaluate(task(), guard(limits)).verdict == "proceed"


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


def test_a_dry_run_plans_and_records_but_takes_and_acts_on_nothing() -> None:
    # Given dry run in prod, where the plan would need approval
    log, limits = FakeDecisions(), FakeLimits()

    # When checked and recorded
    result = check_recorded(
        log, limits, keel=keel(dry_run=True, environment="prod", approval_from_risk="medium"), execution=EXECUTION
    )

    # Then the verdict is dry_run, each guardrail and the plan are recorded as dry run, and nothing is held
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
    assert (limits.items, result.held) == ({}, [])


def test_a_dry_run_says_what_a_held_resource_or_a_full_blast_radius_would_do() -> None:
    # Given a lease held on the service by another execution
    limits = FakeLimits()
    limits.hold(cooldown_key(RESOURCE), EARLIER, NOW + timedelta(minutes=5), automation="alarm_remediation")

    # When a dry run is evaluated / Then it is refused as the real plan would be
    result = evaluate(task(keel(dry_run=True)), guard(limits))
    assert (result.verdict, result.refused_by) == ("refused", "cooldown")


def test_a_refusal_is_recorded_with_the_resource_and_the_runbook() -> None:
    # Given a cooldown lease held by another execution
    log, limits = FakeDecisions(), FakeLimits()
    limits.hold(cooldown_key(RESOURCE), EARLIER, NOW + timedelta(minutes=29), automation="alarm_remediation")

    # When checked and recorded
    result = check_recorded(log, limits, keel=keel(), execution=EXECUTION)

    # Then the refusal is on the record, for the resource, with the holder, and the output says which guardrail refused
    refusal = log.records[-1].decision
    assert (refusal.action, refusal.outcome, refusal.resource) == ("guardrail:cooldown", "refused", RESOURCE)
    assert refusal.details == {"held_by": EARLIER, "held_until": "2026-11-22T03:49:00+00:00"}
    assert result.as_output()["refused_by"] == "cooldown"
    assert result.as_output()["page"] is False
    assert result.as_output()["held"] == []


def test_a_passed_plan_is_recorded_as_planned_and_says_what_it_holds() -> None:
    # Given a plan that passes its guardrails
    log, limits = FakeDecisions(), FakeLimits()

    # When checked and recorded
    result = check_recorded(log, limits, keel=keel(), execution=EXECUTION)

    # Then the plan is on the record, and the output names what the workflow gives back if it does not act
    assert result.verdict == "proceed"
    assert (log.records[-1].decision.action, log.records[-1].decision.outcome) == ("ecs_force_new_deployment", "planned")
    assert result.as_output()["held"] == [
        {"pk": "cooldown#" + RESOURCE, "sk": "lease"},
        {"pk": blast_pool_of(), "sk": result.held[1].sk},
    ]
