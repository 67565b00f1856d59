"""What a function module declares beside its code (functions/<module>/function.yaml).

The declaration is the module's whole contract with the platform: its size, its time budget, which
platform resources it touches and which AWS actions it needs. The role is built from this and
nothing else, so least privilege is reviewed where the code lives.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from infra.errors import KeelConfigError, from_validation_error

# approvals_table_read: queries and reads only (the heartbeat counts waiting requests, and must not be able to forge one).
PlatformResource = Literal[
    "idempotency_table", "decisions_table", "approvals_table", "approvals_table_read", "event_bus", "oncall_topics"
]
Effects = Literal["read_only", "idempotent", "not_idempotent"]
MODULE_NAME = r"^[a-z][a-z0-9_]{1,62}$"
SPEC_FILE = "function.yaml"


# Actions that support no resource-level permissions (AWS Service Authorization Reference: their
# "Resource types" column is empty), so the only possible resource is "*". Exact names, no patterns:
# a module may declare them on "*" with a reason; any other action on "*" is refused.
UNSCOPABLE_ACTIONS = frozenset(
    {
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
    }
)
# Condition keys that narrow a wildcard resource to what a module may touch.
SCOPING_CONDITION_KEYS = re.compile(
    r"^(aws:ResourceTag/.+|aws:RequestTag/.+|ec2:CreateAction|ecs:cluster|[a-z0-9-]+:ResourceTag/.+)$"
)
ConditionValues = str | list[str]
# arn:partition:service:region:account:<resource>: the wildcard only in the resource part.
WILDCARD_IN_RESOURCE_PART = re.compile(r"arn:[^*:]+:[^*:]+:[^*:]*:[^*:]*:.*\*.*")


class Statement(BaseModel):
    """One IAM statement. Named resources need nothing else; a wildcard needs a reason and either a
    scoping condition (tag, name prefix) or actions that support no resource-level permissions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[str] = Field(min_length=1)
    # IAM condition block: operator -> condition key -> value(s), e.g.
    # {StringEquals: {"aws:ResourceTag/keel:remediation": "enabled"}}.
    conditions: dict[str, dict[str, ConditionValues]] | None = None
    # Why the wildcard is needed and what bounds it: becomes the cdk-nag acknowledgment's reason.
    reason: str | None = Field(default=None, min_length=20)
    # Resource ARNs may use ${AWS::Region}, ${AWS::AccountId} and ${AWS::Partition}. Validated last,
    # knowing the actions, conditions and reason (field order is validation order).
    resources: list[str] = Field(min_length=1)

    @field_validator("actions")
    @classmethod
    def _no_wildcard_action(cls, actions: list[str]) -> list[str]:
        for action in actions:
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action):
                raise ValueError(f"'{action}' must name one action as service:Action (no wildcards)")
        return actions

    @field_validator("conditions")
    @classmethod
    def _scoping_conditions(
        cls, conditions: dict[str, dict[str, ConditionValues]] | None
    ) -> dict[str, dict[str, ConditionValues]] | None:
        if conditions is None:
            return None
        if not conditions or not all(conditions.values()):
            raise ValueError("conditions must name at least one operator with at least one condition key")
        for operator, keys in conditions.items():
            if not re.fullmatch(r"(ForAllValues:|ForAnyValue:)?[A-Z][A-Za-z]+(IfExists)?", operator):
                raise ValueError(f"'{operator}' is not an IAM condition operator")
            for key in keys:
                if not SCOPING_CONDITION_KEYS.fullmatch(key):
                    raise ValueError(f"'{key}' does not scope a resource (use aws:ResourceTag/..., aws:RequestTag/..., ...)")
        return conditions

    @field_validator("resources")
    @classmethod
    def _wildcards_are_bounded(cls, resources: list[str], info: ValidationInfo) -> list[str]:
        actions, conditions, reason = (info.data.get(key) for key in ("actions", "conditions", "reason"))
        wildcards = [resource for resource in resources if "*" in resource]
        if not wildcards:
            if conditions is not None or reason is not None:
                raise ValueError("conditions and reason are for wildcard resources; named resources need neither")
            return resources
        if reason is None:
            raise ValueError(f"'{wildcards[0]}' contains a wildcard: say why in `reason` (it becomes the nag acknowledgment)")
        if "*" in resources:
            _check_unscopable(actions or [], resources, conditions)
            return resources
        for resource in wildcards:
            if not WILDCARD_IN_RESOURCE_PART.fullmatch(re.sub(r"\$\{[^}]+\}", "x", resource)):
                raise ValueError(f"'{resource}': a wildcard belongs in the resource part (service, region and account named)")
        if conditions is None:
            raise ValueError(
                f"'{wildcards[0]}' contains a wildcard: bound it with `conditions` (e.g. aws:ResourceTag/...) "
                "or name the resources"
            )
        return resources


def _check_unscopable(actions: list[str], resources: list[str], conditions: object) -> None:
    unscopable = sorted(set(actions) - UNSCOPABLE_ACTIONS)
    if unscopable or len(resources) > 1 or conditions is not None:
        raise ValueError(
            f"resource '*' is only for actions that support no resource-level permissions "
            f"({', '.join(sorted(UNSCOPABLE_ACTIONS))}), alone and without conditions; "
            f"{', '.join(unscopable) or 'these actions'} must name resources or use a condition"
        )


class FunctionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    module: str = Field(pattern=MODULE_NAME)
    description: str = Field(min_length=1, max_length=256)
    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1, le=900)
    reserved_concurrency: int | None = Field(default=None, ge=1)
    # Whether a timed-out invocation may be repeated: read_only and idempotent modules are retried
    # after a timeout; a not_idempotent one may have acted, so its timeout goes to the failure path.
    effects: Effects = "not_idempotent"
    platform_access: list[PlatformResource] = Field(default_factory=list)
    permissions: list[Statement] = Field(default_factory=list)

    @property
    def handler(self) -> str:
        return f"functions.{self.module}.handler.lambda_handler"


def load_function_specs(functions_dir: Path) -> dict[str, FunctionSpec]:
    """Every module under functions/ that has a function.yaml, by module name."""
    specs: dict[str, FunctionSpec] = {}
    for spec_path in sorted(functions_dir.glob(f"*/{SPEC_FILE}")):
        module = spec_path.parent.name
        if not (spec_path.parent / "handler.py").is_file():
            raise KeelConfigError(spec_path, "module", f"functions/{module}/handler.py is missing")
        try:
            raw = yaml.safe_load(spec_path.read_text()) or {}
            specs[module] = FunctionSpec(module=module, **raw)
        except yaml.YAMLError as error:
            raise KeelConfigError(spec_path, "(document)", f"cannot read YAML: {error}") from error
        except ValidationError as error:
            raise from_validation_error(spec_path, error) from error
    return specs
