"""After an action: did it work? Reads the alarm or the resource, and records resolved or unresolved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.resources import Alarms, Ec2Instances, EcsServices, IamKeys, SqsQueues
from functions.shared.domain.decisions import Outcome, Recorder
from functions.shared.remediation.plan import Plan, PlanInput
from functions.shared.remediation.recording import plan_decision, record_summary
from functions.shared.runtime.contract import Field, field_validator
from functions.shared.runtime.errors import NotFoundError

ORIGINAL_GROUPS_TAG = "keel:original-groups"


class VerifyInput(PlanInput):
    # What the action returned (its details, e.g. the quarantine group).
    action: dict[str, Any] = Field(default_factory=dict)

    @field_validator("action")
    @classmethod
    def _details_are_an_object(cls, action: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(action.get("details", {}), dict):
            raise ValueError("details: Input should be a valid dictionary")
        return action


@dataclass(frozen=True)
class Readers:
    alarms: Alarms
    ecs: EcsServices
    ec2: Ec2Instances
    sqs: SqsQueues
    iam: IamKeys


@dataclass(frozen=True)
class Dependencies:
    readers: Readers
    log: Recorder
    # Which code decided: the deployment package's digest.
    code_version: str


@dataclass(frozen=True)
class Check:
    resolved: bool
    observed: str


def alarm_ok(plan: Plan, _action: dict[str, Any], readers: Readers) -> Check:
    name = plan.verify.alarm or ""
    state, reason = readers.alarms.state(name)
    return Check(state == "OK", f"alarm {name} is {state}" + (f": {reason}" if reason else ""))


def service_stable(plan: Plan, _action: dict[str, Any], readers: Readers) -> Check:
    cluster, service = plan.target["cluster"], plan.target["service"]
    state = readers.ecs.describe(cluster, service)
    observed = (
        f"ECS service {cluster}/{service}: {state.running}/{state.desired} tasks running, {state.deployments} deployment(s)"
    )
    return Check(state.stable, observed)


def instance_running(plan: Plan, _action: dict[str, Any], readers: Readers) -> Check:
    instance_id = plan.target["instance_id"]
    healthy, observed = readers.ec2.status_ok(instance_id)
    return Check(healthy, f"EC2 instance {instance_id}: {observed}")


def queue_drained(plan: Plan, _action: dict[str, Any], readers: Readers) -> Check:
    queue = plan.target["queue"]
    depth = readers.sqs.depth(readers.sqs.url(queue))
    return Check(depth == 0, f"{queue} holds {depth} message(s)")


def instance_isolated(plan: Plan, action: dict[str, Any], readers: Readers) -> Check:
    instance_id = plan.target["instance_id"]
    quarantine = action.get("details", {}).get("quarantine_group")
    instance = readers.ec2.describe(instance_id)
    kept = bool(instance.tags.get(ORIGINAL_GROUPS_TAG))
    observed = f"EC2 instance {instance_id} is in {' '.join(instance.groups) or 'no group'}; original groups tagged: {kept}"
    return Check(quarantine is not None and instance.groups == [quarantine], observed)


def access_key_inactive(plan: Plan, _action: dict[str, Any], readers: Readers) -> Check:
    user, key = plan.target["user_name"], plan.target["access_key_id"]
    status = readers.iam.status(user, key)
    return Check(status == "Inactive", f"access key {key} of {user} is {status}")


CHECKS: dict[str, Callable[[Plan, dict[str, Any], Readers], Check]] = {
    "alarm_ok": alarm_ok,
    "service_stable": service_stable,
    "instance_running": instance_running,
    "queue_drained": queue_drained,
    "instance_isolated": instance_isolated,
    "access_key_inactive": access_key_inactive,
}


def verify(plan: Plan, action: dict[str, Any], readers: Readers) -> Check:
    return CHECKS[plan.verify.kind](plan, action, readers)


def verify_and_record(task: VerifyInput, deps: Dependencies) -> dict[str, Any]:
    """Check the plan's verification and record `resolved` or `unresolved` with what was seen, or
    `not_found` when what it checks (the resource, its alarm) no longer exists."""
    verdict: Outcome
    try:
        check = verify(task.plan, task.action, deps.readers)
        verdict = "resolved" if check.resolved else "unresolved"
    except NotFoundError as gone:
        check, verdict = Check(False, f"it no longer exists: {gone}"), "not_found"
    record = deps.log.record(
        plan_decision(
            task,
            action=f"verify:{task.plan.verify.kind}",
            outcome=verdict,
            reason=f"{check.observed} after {task.plan.verify.wait_seconds} s",
            code_version=deps.code_version,
            details={"observed": check.observed},
        )
    )
    return {"resolved": check.resolved, "verdict": verdict, "observed": check.observed, "decision": record_summary(record)}
