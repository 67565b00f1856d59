"""Containment actions for security findings: isolate an EC2 instance, deactivate an IAM access key.

Isolation snapshots every volume first (evidence survives whatever comes next), writes the
instance's original security groups onto the instance as a tag (undo data that survives with the
resource), then replaces its groups with the VPC's quarantine group. A retry of the same execution
reuses its snapshots and finds its own tag, so it neither snapshots twice nor loses the original
groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.resources import Ec2Instances, IamKeys
from functions.shared.domain.decisions import Recorder
from functions.shared.remediation.plan import OPT_IN_TAG, ActInput, ActionResult, Plan
from functions.shared.remediation.recording import record_action, record_not_found
from functions.shared.runtime.errors import InvalidInputError, NotFoundError

ORIGINAL_GROUPS_TAG = "keel:original-groups"
ISOLATED_BY_TAG = "keel:isolated-by"


@dataclass(frozen=True)
class Services:
    ec2: Ec2Instances
    iam: IamKeys


@dataclass(frozen=True)
class Dependencies:
    # The AWS resources it acts on.
    services: Services
    log: Recorder
    # Which code acted: the deployment package's digest.
    code_version: str


def execution_name(execution: str) -> str:
    return execution.rsplit(":", 1)[-1][:256]


def isolate(plan: Plan, execution: str, services: Services) -> ActionResult:
    ec2 = services.ec2
    instance_id = plan.target["instance_id"]
    instance = ec2.describe(instance_id)
    quarantine = ec2.quarantine_group(instance.vpc_id, str(plan.parameters.get("quarantine_tag", "keel:quarantine")))
    name = execution_name(execution)
    if instance.groups == [quarantine] and instance.tags.get(ISOLATED_BY_TAG) != name:
        return ActionResult(
            changed=False,
            summary=f"EC2 instance {instance_id} is already in quarantine group {quarantine}",
            details={"quarantine_group": quarantine, "isolated_by": instance.tags.get(ISOLATED_BY_TAG, "unknown")},
        )
    retried = instance.groups == [quarantine]
    original = instance.tags.get(ORIGINAL_GROUPS_TAG, "").split() if retried else instance.groups
    made = ec2.snapshots_of(name)
    snapshots = {
        volume: made.get(volume)
        or ec2.snapshot(
            volume,
            f"Keel evidence: {instance_id} before isolation ({plan.runbook}, {name})",
            {OPT_IN_TAG: "enabled", "keel:execution": name, "keel:instance": instance_id, "keel:runbook": plan.runbook},
        )
        for volume in instance.volumes
    }
    if not retried:
        ec2.tag(instance_id, {ORIGINAL_GROUPS_TAG: " ".join(original), ISOLATED_BY_TAG: name})
        ec2.set_groups(instance_id, [quarantine])
    groups = " ".join(original)
    return ActionResult(
        changed=True,
        summary=(
            f"isolated EC2 instance {instance_id}: snapshots {', '.join(snapshots.values()) or 'none (no volumes)'} first, "
            f"then security groups {groups} replaced by quarantine group {quarantine}"
        ),
        details={
            "snapshots": snapshots,
            "original_groups": original,
            "quarantine_group": quarantine,
            "vpc": instance.vpc_id,
        },
        undo={
            "how": f"put {instance_id} back in its original security groups (also in its {ORIGINAL_GROUPS_TAG} tag)",
            "original_groups": original,
            "command": f"aws ec2 modify-instance-attribute --instance-id {instance_id} --groups {groups}",
        },
    )


def deactivate_key(plan: Plan, _execution: str, services: Services) -> ActionResult:
    user, key = plan.target["user_name"], plan.target["access_key_id"]
    status = services.iam.status(user, key)
    if status == "Inactive":
        return ActionResult(changed=False, summary=f"access key {key} of IAM user {user} was already inactive", details={})
    services.iam.set_status(user, key, "Inactive")
    return ActionResult(
        changed=True,
        summary=f"deactivated access key {key} of IAM user {user} (was {status})",
        details={"access_key_id": key, "user": user, "status_before": status},
        undo={
            "how": f"reactivate {key} once the user's credentials are known to be safe (better: rotate it)",
            "command": f"aws iam update-access-key --user-name {user} --access-key-id {key} --status Active",
        },
    )


ACTIONS: dict[str, Callable[[Plan, str, Services], ActionResult]] = {
    "ec2_isolate": isolate,
    "iam_deactivate_access_key": deactivate_key,
}


def act(plan: Plan, execution: str, services: Services) -> ActionResult:
    if plan.action not in ACTIONS:
        raise InvalidInputError(
            f"plan.action: contain_threat does not carry out {plan.action} (it does: {', '.join(sorted(ACTIONS))})"
        )
    return ACTIONS[plan.action](plan, execution, services)


def act_and_record(task: ActInput, deps: Dependencies) -> dict[str, Any]:
    """Carry out the plan, then record what was done (`taken`, or `skipped` when nothing changed), or
    `not_found` when the target no longer exists (the only NotFoundError here: recording comes after)."""
    try:
        result = act(task.plan, task.execution, deps.services)
    except NotFoundError as gone:
        return record_not_found(task, gone, deps.log, deps.code_version)
    return record_action(task, result, deps.log, deps.code_version)
