"""cdk-nag on every synth, and the one way to acknowledge a finding: on one resource, with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def enable_checks(scope: IConstruct) -> None:
    """AwsSolutions and Serverless packs; any unacknowledged finding fails synth."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), ServerlessChecks(scope))


def acknowledge(resource: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one rule on one resource. The reason must say why it is right for this resource."""
    acknowledge_all(resource, {rule: reason})


def acknowledge_all(resource: IConstruct, findings: Mapping[str, str]) -> None:
    """Acknowledge several rules (rule -> reason) on one resource, in one call: each call crosses to
    the CDK's JavaScript process, and a catalog of 300 automations makes thousands (measured: a third
    of the acknowledgments' synth time went to one call per rule)."""
    for rule, reason in findings.items():
        if len(reason) < 20:
            raise ValueError(f"acknowledgment of {rule} needs a specific reason, got '{reason}'")
    Validations.of(resource).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule, reason in findings.items()))


def nag_resource_of(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells a resource (an ARN, maybe built of tokens) in a finding id: a Ref as <Id>,
    a GetAtt as <Id.Attribute>, joined parts in order."""
    return _spelled(Stack.of(scope).resolve(value))


def _spelled(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{'.'.join(argument)}>"
        if function == "Fn::Join":
            return str(argument[0]).join(_spelled(part) for part in argument[1])
    raise ValueError(f"cannot spell {value!r} as cdk-nag does")
