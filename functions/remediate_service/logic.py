"""Service remediation actions: restart or scale out an ECS service, reboot an instance, redrive a DLQ."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.resources import Ec2Instances, EcsServices, SqsQueues
from functions.shared.domain.decisions import Recorder
from functions.shared.remediation.plan import ActInput, ActionResult, Plan
from functions.shared.remediation.recording import record_action, record_not_found
from functions.shared.runtime.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class Services:
    ecs: EcsServices
    ec2: Ec2Instances
    sqs: SqsQueues


@dataclass(frozen=True)
class Dependencies:
    # The AWS resources it acts on.
    services: Services
    log: Recorder
    # Which code acted: the deployment package's digest.
    code_version: str


def force_new_deployment(plan: Plan, services: Services) -> ActionResult:
    cluster, service = plan.target["cluster"], plan.target["service"]
    before = services.ecs.describe(cluster, service)
    services.ecs.force_new_deployment(cluster, service)
    return ActionResult(
        changed=True,
        summary=f"started a new deployment of ECS service {cluster}/{service} ({before.running}/{before.desired} tasks running)",
        details={"task_definition": before.task_definition, "running_before": before.running, "desired": before.desired},
    )


def scale_out(plan: Plan, services: Services) -> ActionResult:
    cluster, service = plan.target["cluster"], plan.target["service"]
    increment, ceiling = int(plan.parameters.get("increment", 1)), int(plan.parameters.get("max_count", 0))
    if increment < 1 or ceiling < 1:
        raise InvalidInputError(f"runbook {plan.runbook}: ecs_scale_out needs increment >= 1 and max_count >= 1")
    before = services.ecs.describe(cluster, service)
    after = min(before.desired + increment, ceiling)
    if after <= before.desired:
        return ActionResult(
            changed=False,
            summary=f"ECS service {cluster}/{service} already runs {before.desired} tasks, at or above the ceiling {ceiling}",
            details={"desired_before": before.desired, "max_count": ceiling},
        )
    services.ecs.set_desired_count(cluster, service, after)
    return ActionResult(
        changed=True,
        summary=f"scaled ECS service {cluster}/{service} out from {before.desired} to {after} tasks (ceiling {ceiling})",
        details={"desired_before": before.desired, "desired_after": after, "max_count": ceiling},
        undo={
            "how": f"set the desired count back to {before.desired}",
            "command": f"aws ecs update-service --cluster {cluster} --service {service} --desired-count {before.desired}",
        },
    )


def reboot(plan: Plan, services: Services) -> ActionResult:
    instance_id = plan.target["instance_id"]
    instance = services.ec2.describe(instance_id)
    services.ec2.reboot(instance_id)
    return ActionResult(
        changed=True,
        summary=f"rebooted EC2 instance {instance_id} (was {instance.state})",
        details={"state_before": instance.state},
    )


def redrive(plan: Plan, services: Services) -> ActionResult:
    dlq = plan.target["queue"]
    limit = int(plan.parameters.get("max_messages", 100))
    dlq_url = services.sqs.url(dlq)
    source_url = services.sqs.source_of(dlq_url)
    moved = services.sqs.move(dlq_url, source_url, limit)
    source = source_url.rsplit("/", 1)[-1]
    return ActionResult(
        changed=moved > 0,
        summary=f"moved {moved} message(s) from {dlq} back to {source}" if moved else f"{dlq} was already empty",
        details={"moved": moved, "source_queue": source, "max_messages": limit},
    )


ACTIONS: dict[str, Callable[[Plan, Services], ActionResult]] = {
    "ecs_force_new_deployment": force_new_deployment,
    "ecs_scale_out": scale_out,
    "ec2_reboot": reboot,
    "sqs_redrive": redrive,
}


def act(plan: Plan, services: Services) -> ActionResult:
    if plan.action not in ACTIONS:
        raise InvalidInputError(
            f"plan.action: remediate_service does not carry out {plan.action} (it does: {', '.join(sorted(ACTIONS))})"
        )
    return ACTIONS[plan.action](plan, services)


def act_and_record(task: ActInput, deps: Dependencies) -> dict[str, Any]:
    """Carry out the plan, then record what was done (`taken`, or `skipped` when nothing changed), or
    `not_found` when the target no longer exists (the only NotFoundError here: recording comes after)."""
    try:
        result = act(task.plan, deps.services)
    except NotFoundError as gone:
        return record_not_found(task, gone, deps.log, deps.code_version)
    return record_action(task, result, deps.log, deps.code_version)
