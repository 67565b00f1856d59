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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from infra.errors import KeelConfigError, from_validation_error

# approvals_table_read: queries and reads only (the heartbeat counts waiting requests, and must not be able to forge one).
# confidential_write / confidential_read: PutItem / GetItem on the confidential store, one item at a time.
# limits_table: items read, written, updated and deleted one at a time, under conditions (no scans, no batches).
# decision_writer: hands decisions to the automation's one writer (lambda:InvokeFunction on its record_decision).
# decisions_append: the writer's own (record_decision only): reads and creates its automation's items in the
#   decisions table, under a dynamodb:LeadingKeys condition; no update, delete, batch or scan.
# decisions_read: reads (GetItem, Query on the table, no index) the decision chains of every automation,
#   under a dynamodb:LeadingKeys condition on the chains' partitions; no write of any kind.
# overrides_read: operators' `keel ops disable|enable` overrides, read only.
# models_read: its own automation's models and pointers in the model store (GetItem only, LeadingKeys).
# models_write: for each automation it `retrains`, that automation's decision chain (Query) and its models and
#   shadow pointer in the model store (GetItem, PutItem), all under dynamodb:LeadingKeys conditions.
# external_apis: the HTTPS APIs its automation declares (KEEL_APIS) and their credentials; with limits_table
#   (each API's rate limit and circuit breaker are items there) and oncall_topics (an opening breaker pages).
# oncall_topics_all: publishes to every on-call route of the environment, not only its automation's (the
#   monthly review sends each team its summary).
# kpis_read: what the KPIs of the environment's automations are read from (functions/shared/adapters/kpi_sources.py):
#   tag:GetResources and cloudwatch:GetMetricData (no resource-level permissions), DescribeAlarmHistory of
#   the environment's alarms, its state machines' executions and its functions' configuration (keel-<env>-*).
PlatformResource = Literal[
    "idempotency_table",
    "decision_writer",
    "decisions_append",
    "decisions_read",
    "approvals_table",
    "approvals_table_read",
    "limits_table",
    "overrides_read",
    "confidential_write",
    "confidential_read",
    "event_bus",
    "oncall_topics",
    "oncall_topics_all",
    "kpis_read",
    "external_apis",
    "models_read",
    "models_write",
]
# The module every automation records its decisions through (and the one that may write them).
DECISION_WRITER = "record_decision"
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
        # The API asks only for the permission, naming no resource, where GetAlarmMuteRule and
        # PutAlarmMuteRule name the mute rule and its alarms
        # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListAlarmMuteRules.html).
        "cloudwatch:ListAlarmMuteRules",
    }
)
# Condition keys that bound a wildcard resource to what a module may touch. S3 objects carry no
# aws:ResourceTag: their tags are s3:ExistingObjectTag/<key> ("Actions, resources, and condition keys
# for Amazon S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
SCOPING_CONDITION_KEYS = re.compile(
    r"^(aws:ResourceTag/.+|aws:RequestTag/.+|ec2:CreateAction|ecs:cluster|[a-z0-9-]+:ResourceTag/.+|s3:ExistingObjectTag/.+)$"
)
# Keys that narrow a statement further but do not by themselves bound which resources it reaches.
# s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys constrain the tags a PutObject writes, yet
# a PutObject may overwrite any key the resource covers; unlike aws:RequestTag on a create, which
# makes a new resource, they bound nothing already there. s3:prefix bounds what s3:ListBucket
# lists; s3:ResourceAccount pins a named bucket to this account. ec2:Attribute names the attribute
# an ec2:Modify...Attribute request changes, and aws:TagKeys the tag keys a tagging request writes.
NARROWING_CONDITION_KEYS = re.compile(
    r"^(s3:prefix|s3:RequestObjectTag/.+|s3:RequestObjectTagKeys|s3:ResourceAccount|ec2:Attribute|aws:TagKeys)$"
)
# Keys that are in the request context of some actions only: in a statement that also allows another
# action, a condition on them never holds for that action, so the statement silently allows less than
# it says. ec2:Attribute is set by the ec2:Modify...Attribute actions; ec2:CreateAction by ec2:CreateTags
# when it tags a resource as it is created; aws:TagKeys by the requests that write tags ("Actions,
# resources, and condition keys for Amazon EC2", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html;
# aws:TagKeys, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tagkeys).
ACTION_SCOPED_KEYS = {
    "ec2:Attribute": (re.compile(r"^ec2:Modify\w*Attribute$"), "ec2:Modify...Attribute"),
    "ec2:CreateAction": (re.compile(r"^ec2:CreateTags$"), "ec2:CreateTags"),
    "aws:TagKeys": (re.compile(r"^[a-z0-9-]+:(CreateTags|AddTags\w*|Tag[A-Z]\w*)$"), "tagging (CreateTags, TagResource, ...)"),
}
# Actions that can change far more than a runbook does, whatever resource they name: on those resources
# they must say what they change with one of these keys. ModifyInstanceAttribute changes any attribute of
# an instance (user data, instance type, its role's profile...) unless ec2:Attribute names one; CreateTags
# writes any tag (the opt-in tag itself included) unless aws:TagKeys lists the keys, or ec2:CreateAction
# allows tagging only while a resource is created.
MUST_NAME_WHAT_CHANGES = {
    ("ec2:ModifyInstanceAttribute", ":instance/"): (
        ("ec2:Attribute",),
        "could change any attribute of the instance (user data, instance type, ...): name the attributes it "
        "changes with an ec2:Attribute condition (GroupId for its security groups)",
    ),
    ("ec2:CreateTags", ""): (
        ("aws:TagKeys", "ec2:CreateAction"),
        "could write any tag, the opt-in tag included: list the tag keys it writes with "
        "ForAllValues:StringEquals aws:TagKeys, or allow tagging only on create with ec2:CreateAction",
    ),
}
# aws:TagKeys holds every key of the request: a single-valued operator compares only one of them.
MULTIVALUED_KEYS = frozenset({"aws:TagKeys"})
# Operators under which a missing key still allows: `...IfExists` and ForAllValues are true when the
# request lacks the key, and a negated operator allows everything but one value (IAM User Guide,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
# A key under one of them narrows; it does not bound.
NON_BOUNDING_OPERATOR = re.compile(r"^ForAllValues:|IfExists$|Not")
# S3 does not evaluate s3:ExistingObjectTag for these ("Tagging and access control policies",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html): a statement
# bounded by it would never allow them.
UNTAGGABLE_OBJECT_ACTIONS = frozenset({"s3:PutObject", "s3:DeleteObject"})
# arn:<partition>:s3:::<bucket>/<key>: an object, or objects where the key has a wildcard.
S3_OBJECT_ARN = re.compile(r"arn:[^:*?]+:s3:::(?P<bucket>[^/]+)/(?P<key>.+)")
ConditionValues = str | list[str]
Conditions = dict[str, dict[str, ConditionValues]]
# arn:partition:service:region:account:<resource>: the wildcard only in the resource part.
WILDCARD_IN_RESOURCE_PART = re.compile(r"arn:[^*:]+:[^*:]+:[^*:]*:[^*:]*:.*\*.*")


class Statement(BaseModel):
    """One IAM statement. Named resources need nothing else (a condition may narrow them); a wildcard
    needs a reason and either a bounding condition (tag, object tag), an S3 key prefix that bounds it
    in the ARN itself, or actions that support no resource-level permissions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[str] = Field(min_length=1)
    # IAM condition block: operator -> condition key -> value(s), e.g.
    # {StringEquals: {"aws:ResourceTag/keel:remediation": "enabled"}}.
    conditions: Conditions | None = None
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
    def _scoping_conditions(cls, conditions: Conditions | None) -> Conditions | None:
        if conditions is None:
            return None
        if not conditions or not all(conditions.values()):
            raise ValueError("conditions must name at least one operator with at least one condition key")
        for operator, keys in conditions.items():
            if not re.fullmatch(r"(ForAllValues:|ForAnyValue:)?[A-Z][A-Za-z]+(IfExists)?", operator):
                raise ValueError(f"'{operator}' is not an IAM condition operator")
            for key in keys:
                if not (SCOPING_CONDITION_KEYS.fullmatch(key) or NARROWING_CONDITION_KEYS.fullmatch(key)):
                    raise ValueError(
                        f"'{key}' does not scope a resource (use aws:ResourceTag/..., aws:RequestTag/..., "
                        "s3:ExistingObjectTag/..., s3:prefix, ...)"
                    )
        return conditions

    @field_validator("resources")
    @classmethod
    def _wildcards_are_bounded(cls, resources: list[str], info: ValidationInfo) -> list[str]:
        actions, conditions, reason = (info.data.get(key) for key in ("actions", "conditions", "reason"))
        if conditions is not None:
            _check_s3_conditions(actions or [], resources, conditions)
            _check_action_scoped_keys(actions or [], conditions)
        _check_names_what_changes(actions or [], resources, conditions)
        wildcards = [resource for resource in resources if "*" in resource]
        if not wildcards:
            if reason is not None:
                raise ValueError("a reason is for wildcard resources; named resources need neither a reason nor a condition")
            return resources
        if reason is None:
            raise ValueError(f"'{wildcards[0]}' contains a wildcard: say why in `reason` (it becomes the nag acknowledgment)")
        if "*" in resources:
            _check_unscopable(actions or [], resources, conditions)
            return resources
        for resource in wildcards:
            if not WILDCARD_IN_RESOURCE_PART.fullmatch(_plain(resource)):
                raise ValueError(f"'{resource}': a wildcard belongs in the resource part (service, region and account named)")
        unbounded = [resource for resource in wildcards if not bounded_by_its_arn(resource)]
        if unbounded and not _bounds(conditions):
            raise ValueError(
                f"'{unbounded[0]}' contains a wildcard: bound it with `conditions` (e.g. aws:ResourceTag/..., "
                "s3:ExistingObjectTag/...) or name the resources (S3 objects: a named bucket and folder, bucket/prefix/*)"
            )
        return resources


def _plain(resource: str) -> str:
    """The ARN with its ${AWS::...} pseudo parameters as plain text, so only real wildcards remain."""
    return re.sub(r"\$\{[^}]+\}", "x", resource)


def bounded_by_its_arn(resource: str) -> bool:
    """An S3 object ARN whose one wildcard is a final `*` after a named bucket and a folder, e.g.
    arn:aws:s3:::reports/exports/*. It reaches only the keys under that folder of that bucket: the
    place the bucket's owner chose for the module, bounded as tightly as objects whose keys are data
    (a new key per run) can be, so it needs no condition. A partial name (bucket/ex*) or a wildcard
    before the end (bucket/*/exports/*) reaches whatever keys happen to match, and needs one."""
    match = S3_OBJECT_ARN.fullmatch(_plain(resource))
    if match is None or not match["key"].endswith("/*"):
        return False
    folder = match["key"][:-1]
    return not re.search(r"[*?]", match["bucket"] + folder) and bool(folder.strip("/"))


def _bounds(conditions: Conditions | None) -> bool:
    """Whether a condition limits the statement to resources that carry a mark (a tag, an object tag)."""
    return any(
        SCOPING_CONDITION_KEYS.fullmatch(key)
        for operator, keys in (conditions or {}).items()
        if not NON_BOUNDING_OPERATOR.search(operator)
        for key in keys
    )


def _check_s3_conditions(actions: list[str], resources: list[str], conditions: Conditions) -> None:
    keys = {key for keyed in conditions.values() for key in keyed}
    objects = [resource for resource in resources if S3_OBJECT_ARN.fullmatch(_plain(resource))]
    if "s3:prefix" in keys and objects:
        raise ValueError(
            f"s3:prefix bounds only s3:ListBucket on a bucket's ARN, not '{objects[0]}': "
            "put the prefix in the object ARN instead (bucket/prefix/*)"
        )
    untaggable = sorted(UNTAGGABLE_OBJECT_ACTIONS & set(actions))
    if untaggable and any(key.startswith("s3:ExistingObjectTag/") for key in keys):
        raise ValueError(
            f"S3 does not evaluate s3:ExistingObjectTag for {', '.join(untaggable)}, so this statement would never "
            "allow it: bound writes and deletes by a folder in the ARN (bucket/prefix/*)"
        )


def _check_action_scoped_keys(actions: list[str], conditions: Conditions) -> None:
    for operator, keys in conditions.items():
        for key in keys:
            if key in MULTIVALUED_KEYS and not operator.startswith(("ForAllValues:", "ForAnyValue:")):
                raise ValueError(
                    f"{key} holds every tag key of the request: use ForAllValues:StringEquals (each key one of these), "
                    f"not {operator}"
                )
            if key not in ACTION_SCOPED_KEYS:
                continue
            pattern, kind = ACTION_SCOPED_KEYS[key]
            others = [action for action in actions if not pattern.fullmatch(action)]
            if others:
                raise ValueError(
                    f"{key} is in the request context of {kind} actions only: on {others[0]} the condition never "
                    f"holds, so the statement would never allow it; give {others[0]} a statement of its own"
                )


def _check_names_what_changes(actions: list[str], resources: list[str], conditions: Conditions | None) -> None:
    keys = {key for operator, keyed in (conditions or {}).items() if not operator.startswith("Not") for key in keyed}
    for (action, resource_part), (names, problem) in MUST_NAME_WHAT_CHANGES.items():
        reached = [resource for resource in resources if resource_part in resource or resource == "*"]
        if action in actions and reached and not keys & set(names):
            raise ValueError(f"{action} on '{reached[0]}' {problem}")


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
    # The automations whose advisor this module retrains (with models_write): it reads their decisions and
    # writes their models.
    retrains: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _retrains_with_models_write(self) -> FunctionSpec:
        # After the model: a default (no `retrains`) is not validated field by field.
        writes = "models_write" in self.platform_access
        if writes and not self.retrains:
            raise ValueError("models_write needs `retrains`: the automations whose decisions it reads and models it writes")
        if self.retrains and not writes:
            raise ValueError("`retrains` is for modules with models_write in platform_access")
        for name in self.retrains:
            if not re.fullmatch(r"[a-z][a-z0-9_]{2,48}", name):
                raise ValueError(f"retrains: '{name}' is not an automation name")
        return self

    @property
    def handler(self) -> str:
        return f"functions.{self.module}.handler.lambda_handler"

    @field_validator("platform_access")
    @classmethod
    def _one_writer(cls, access: list[PlatformResource], info: ValidationInfo) -> list[PlatformResource]:
        if "decisions_append" in access and info.data.get("module") != DECISION_WRITER:
            raise ValueError(
                f"decisions_append is {DECISION_WRITER}'s alone (the one writer of the decision record); "
                "hand decisions to it with decision_writer"
            )
        if "external_apis" in access and not {"limits_table", "oncall_topics"} <= set(access):
            raise ValueError(
                "external_apis needs limits_table (each API's rate limit and circuit breaker live there) "
                "and oncall_topics (a breaker that opens pages the owner)"
            )
        return access


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
