"""The plan a runbook makes, the task inputs that carry it, and what an action reports.

match_runbook turns an alarm or a finding into a Plan; check_guardrails decides whether it may run;
remediate_service / contain_threat carry it out; verify_remediation checks that it worked. The plan
travels through the workflow's state as JSON, so every task sees exactly what was decided.
"""

from __future__ import annotations

from typing import Any, Literal

from functions.shared.domain.context import Contract, TaskInput
from functions.shared.runtime.contract import Field

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
