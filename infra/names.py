"""The names Keel gives what it deploys: one place, so stacks find each other without exports.

An automation's stack reaches the platform's resources by these names (and the key's ARN through an
SSM parameter, the one platform value no name determines), never through CloudFormation exports:
an export in use locks the exporting stack, so one automation could block every platform update.
`keel ops`, the local cloud and the tests find the same resources through the same functions.
"""

from __future__ import annotations

import hashlib

# AWS's length limits on the names built here.
LAMBDA_FUNCTION_NAME = 64  # https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (FunctionName)
STACK_NAME = 128  # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html (StackName)
STATE_MACHINE_NAME = 80  # https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
RULE_NAME = 64  # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (Name)
QUEUE_NAME = 80  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html


def bounded(name: str, limit: int) -> str:
    """`name`, or its first characters and a digest of all of it when it is longer than `limit`."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def prefix(env: str) -> str:
    return f"keel-{env}"


# Stacks. CloudFormation stack names allow letters, digits and dashes only; automation names use
# underscores, which no owner or environment name contains, so the dashed form stays unique.
def platform_stack(env: str) -> str:
    return f"{prefix(env)}-platform"


def automation_stack(env: str, automation: str) -> str:
    return bounded(f"{prefix(env)}-automation-{automation.replace('_', '-')}", STACK_NAME)


def team_stack(env: str, owner: str) -> str:
    return bounded(f"{prefix(env)}-team-{owner}", STACK_NAME)


# Platform resources.
def event_bus(env: str) -> str:
    return prefix(env)


def schema_registry(env: str) -> str:
    return f"{prefix(env)}-events"


def event_schema(source: str, detail_type: str, major: int) -> str:
    """An event contract's version in the registry: app.accounts@UserSignedUp-v1."""
    return f"{source}@{detail_type.replace(' ', '')}-v{major}"


def key_alias(env: str) -> str:
    return f"alias/{prefix(env)}"


def key_arn_parameter(env: str) -> str:
    """The SSM parameter holding the platform key's ARN (a key's id is chosen by KMS, not by us)."""
    return f"/keel/{env}/platform/key-arn"


def table(env: str, purpose: str) -> str:
    return f"{prefix(env)}-{purpose}"


def oncall_topic(env: str, route: str) -> str:
    return f"{prefix(env)}-oncall-{route}"


def undelivered_pages_queue(env: str, route: str) -> str:
    return f"{prefix(env)}-oncall-{route}-undelivered"


def secret(env: str, name: str) -> str:
    return f"keel/{env}/{name}"


# An automation's resources.
def state_machine(env: str, automation: str) -> str:
    return f"{prefix(env)}-{automation}"


def function(env: str, automation: str, module: str) -> str:
    return bounded(f"{prefix(env)}-{automation}-{module}", LAMBDA_FUNCTION_NAME)


def platform_function(env: str, module: str) -> str:
    """A function of the platform stack (no automation's): `platform` is a reserved automation name."""
    return bounded(f"{prefix(env)}-platform-{module}", LAMBDA_FUNCTION_NAME)


def decision_anchor_parameter(env: str) -> str:
    """The SSM parameter holding the decision anchor bucket's name (S3 bucket names are global: CloudFormation picks it)."""
    return f"/keel/{env}/platform/decision-anchor-bucket"


def dead_letter_queue(env: str, automation: str) -> str:
    """The queue the automation's rule targets dead-letter events into (`keel ops redrive` replays it)."""
    return f"{state_machine(env, automation)}-dlq"


def rule(env: str, automation: str, kind: str) -> str:
    """An automation's EventBridge rule: kind is `events` (its pattern) or `schedule`."""
    return f"{state_machine(env, automation)}-{kind}"


def queue(env: str, automation: str, name: str) -> str:
    """One of the automation's own queues (manifest `queues:`)."""
    return f"{state_machine(env, automation)}-{name}"


def queue_dead_letters(env: str, automation: str, name: str) -> str:
    return f"{queue(env, automation, name)}-dlq"


def too_long(env: str, automation: str) -> list[str]:
    """The names of the automation's resources in env that AWS would refuse as too long (unbounded ones)."""
    limits = {
        state_machine(env, automation): STATE_MACHINE_NAME,
        rule(env, automation, "schedule"): RULE_NAME,
        dead_letter_queue(env, automation): QUEUE_NAME,
    }
    return [f"'{name}' is longer than AWS allows ({limit} characters)" for name, limit in limits.items() if len(name) > limit]


def dashboard(env: str, suffix: str) -> str:
    return f"{prefix(env)}-{suffix}"


# --- Safe change: versions, aliases, shadow runs -------------------------------------------------

# The alias every rule starts executions through; `keel ops rollback|promote` move it.
LIVE_ALIAS = "live"


def live_alias_arn(state_machine_arn: str) -> str:
    """Where an event starts an execution: the version its automation's events run on now."""
    return f"{state_machine_arn}:{LIVE_ALIAS}"


def shadow_state_machine(env: str, automation: str) -> str:
    """The state machine that runs a candidate version in forced dry run beside the live one."""
    return f"{state_machine(env, automation)}-shadow"


def live_version_parameter(env: str, automation: str) -> str:
    """The SSM parameter holding the state machine version ARN the live alias routes to."""
    return f"/keel/{env}/{automation}/live-version"
