"""cdk-nag on every synth, and the one way to acknowledge a finding: on one resource, with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def enable_checks(scope: IConstruct) -> None:
    """AwsSolutions and Serverless packs; any unacknowledged finding fails synth."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), ServerlessChecks(scope))


def acknowledge(resource: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one rule on one resource. The reason must say why it is right for this resource."""
    if len(reason) < 20:
        raise ValueError(f"acknowledgment of {rule} needs a specific reason, got '{reason}'")
    Validations.of(resource).acknowledge(Acknowledgment(id=rule, reason=reason))
