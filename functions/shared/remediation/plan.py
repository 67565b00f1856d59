"""The plan a runbook makes, the task inputs that carry it, and what an action reports.

match_runbook turns an alarm or a finding into a Plan; check_guardrails decides whether it may run;
remediate_service / contain_threat carry it out; verify_remediation checks that it worked. The plan
travels through the workflow's state as JSON, so every task sees exactly what was decided, and
checks it again: its target holds what its action and its verification read, in the form AWS gives
those names (target values come from external events), and its parameters are the action's own.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from functions.shared.domain.context import REGION, Contract, TaskInput
from functions.shared.runtime.contract import Field, ValidationError, ValidationInfo, field_validator
from functions.shared.runtime.parsing import shown, where

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
# What each action needs to know about its resource.
ACTION_TARGET: dict[str, frozenset[str]] = {
    "ecs_force_new_deployment": frozenset({"cluster", "service"}),
    "ecs_scale_out": frozenset({"cluster", "service"}),
    "ec2_reboot": frozenset({"instance_id"}),
    "sqs_redrive": frozenset({"queue"}),
    "ec2_isolate": frozenset({"instance_id"}),
    "iam_deactivate_access_key": frozenset({"user_name", "access_key_id"}),
}
# What each verification reads of the target (alarm_ok reads verify.alarm instead).
VERIFY_TARGET: dict[str, frozenset[str]] = {
    "alarm_ok": frozenset(),
    "service_stable": frozenset({"cluster", "service"}),
    "instance_running": frozenset({"instance_id"}),
    "queue_drained": frozenset({"queue"}),
    "instance_isolated": frozenset({"instance_id"}),
    "access_key_inactive": frozenset({"user_name", "access_key_id"}),
}
# Each target value in the form AWS gives it:
# ECS clusterName / serviceName (CreateCluster, CreateService): up to 255 letters, digits, hyphens, underscores.
#   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html
# EC2 instance ids: "i-" and 8 or 17 hex characters. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html
# SQS queue names: up to 80 letters, digits, hyphens, underscores; a FIFO queue's ends in ".fifo".
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
# IAM UserName: 1-128 of [\w+=,.@-]; AccessKeyId: 16-128 of [\w]. https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html
TARGET_FORMATS: dict[str, tuple[str, str]] = {
    "cluster": (r"[A-Za-z0-9_-]{1,255}", "ECS cluster name"),
    "service": (r"[A-Za-z0-9_-]{1,255}", "ECS service name"),
    "instance_id": (r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?", "EC2 instance id"),
    "queue": (r"[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo", "SQS queue name"),
    "user_name": (r"[A-Za-z0-9_+=,.@-]{1,128}", "IAM user name"),
    "access_key_id": (r"[A-Za-z0-9_]{16,128}", "IAM access key id"),
}
# An AWS account id is 12 digits.
ACCOUNT = r"^[0-9]{12}$"


class Verification(Contract):
    kind: VerificationKind
    # How long to let the action take effect before checking.
    wait_seconds: int = Field(ge=0, le=3600)
    # CloudWatch alarm names are 1 to 255 characters (DescribeAlarms AlarmNames).
    alarm: str | None = Field(default=None, min_length=1, max_length=255)


class NoParameters(Contract):
    """An action that takes no parameters."""


class ScaleOutParameters(Contract):
    increment: int = Field(default=1, ge=1)
    max_count: int = Field(ge=1)


class RedriveParameters(Contract):
    max_messages: int = Field(default=100, ge=1)


class IsolateParameters(Contract):
    # A tag key: at most 128 characters.
    quarantine_tag: str = Field(default="keel:quarantine", min_length=1, max_length=128)


PARAMETERS: dict[str, type[Contract]] = {
    "ecs_force_new_deployment": NoParameters,
    "ecs_scale_out": ScaleOutParameters,
    "ec2_reboot": NoParameters,
    "sqs_redrive": RedriveParameters,
    "ec2_isolate": IsolateParameters,
    "iam_deactivate_access_key": NoParameters,
}


def target_problems(action: str | None, target: dict[str, str]) -> list[str]:
    """What is wrong with a target for an action (None: the action is not known, only the values are checked)."""
    missing = ACTION_TARGET[action] - set(target) if action is not None else frozenset()
    found = [f"{name}: Field required by {action}" for name in sorted(missing)]
    for name, value in target.items():
        if name not in TARGET_FORMATS:
            found.append(f"{shown(name)} is not a target any action reads ({', '.join(sorted(TARGET_FORMATS))})")
            continue
        pattern, what = TARGET_FORMATS[name]
        if re.fullmatch(pattern, value) is None:
            found.append(f"{name}: {shown(value)} is not a valid {what}")
    return found


def parameter_problems(action: str, parameters: dict[str, Any]) -> list[str]:
    try:
        PARAMETERS[action].model_validate(parameters)
    except ValidationError as error:
        return [f"{where(item['loc'])}: {item['msg']}" for item in error.errors()]
    return []


class Plan(Contract):
    """What a runbook says to do about one alarm or finding."""

    runbook: str = Field(min_length=1)
    catalog_version: str = Field(min_length=1)
    description: str
    action: ActionName
    # The ARN the action touches: cooldowns and the decision record are keyed on it (a DynamoDB
    # index key: at most 2,048 bytes, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html).
    resource: str = Field(min_length=1, max_length=2048)
    target: dict[str, str]
    parameters: dict[str, Any] = Field(default_factory=dict)
    risk: Risk
    # "always": a human approves in every environment; "policy": the environment's policy decides.
    approval: Literal["policy", "always"]
    # The runbook catalog's bound (functions/match_runbook/catalog.py): a week at most.
    cooldown_minutes: int = Field(ge=0, le=7 * 24 * 60)
    verify: Verification
    trigger: str
    region: str = Field(pattern=REGION)
    account: str = Field(pattern=ACCOUNT)

    @property
    def rule(self) -> str:
        return f"runbook {self.runbook} (catalog {self.catalog_version})"

    @field_validator("target")
    @classmethod
    def _target_fits_the_action(cls, target: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        problems = target_problems(info.data.get("action"), target)
        if problems:
            raise ValueError("; ".join(problems))
        return target

    @field_validator("parameters")
    @classmethod
    def _parameters_fit_the_action(cls, parameters: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        action = info.data.get("action")
        problems = parameter_problems(action, parameters) if action is not None else []
        if problems:
            raise ValueError(f"{'; '.join(problems)} ({action})")
        return parameters

    @field_validator("verify")
    @classmethod
    def _verification_can_read(cls, verify: Verification, info: ValidationInfo) -> Verification:
        if verify.kind == "alarm_ok" and verify.alarm is None:
            raise ValueError("alarm: Field required by alarm_ok")
        missing = VERIFY_TARGET[verify.kind] - set(info.data.get("target", VERIFY_TARGET[verify.kind]))
        if missing:
            raise ValueError(f"{verify.kind} reads target {', '.join(sorted(missing))}, which the plan's target does not hold")
        return verify


class PlanInput(TaskInput):
    step: str = Field(min_length=1)
    plan: Plan


class ActionResult(Contract):
    """What an action did: recorded in the decision and handed to verification."""

    changed: bool
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)
    # How to reverse it, when it can be: a description and the command an operator runs.
    undo: dict[str, Any] | None = None


class ActInput(PlanInput):
    # The approval's answer when one was asked for ($.approval: approved, approval_id, decided_by).
    approval: dict[str, Any] | None = None
