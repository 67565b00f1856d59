"""function.yaml statements: a wildcard resource needs a reason and a condition, or unscopable actions."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from infra.constructs.function import nag_resource
from infra.function_spec import UNSCOPABLE_ACTIONS, Statement

TAGGED = {"StringEquals": {"aws:ResourceTag/keel:remediation": "enabled"}}
REASON = "Only instances their owners tagged keel:remediation=enabled"
INSTANCES = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"


def statement(**fields: Any) -> Statement:
    return Statement.model_validate(fields)


def test_a_tag_bounded_wildcard_with_a_reason_is_accepted() -> None:
    # Given a reboot on any instance, bounded by the opt-in tag / When declared / Then it is kept as written
    declared = statement(actions=["ec2:RebootInstances"], resources=[INSTANCES], conditions=TAGGED, reason=REASON)
    assert declared.conditions == TAGGED


def test_unscopable_actions_may_use_star_with_a_reason() -> None:
    # Given EC2 Describe actions, which support no resource-level permissions / When declared on "*" / Then accepted
    declared = statement(actions=["ec2:DescribeInstances", "ec2:DescribeSnapshots"], resources=["*"], reason=REASON)
    assert set(declared.actions) <= UNSCOPABLE_ACTIONS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"actions": ["ec2:RebootInstances"], "resources": [INSTANCES], "conditions": TAGGED}, "say why in `reason`"),
        ({"actions": ["ec2:RebootInstances"], "resources": [INSTANCES], "reason": REASON}, "bound it with `conditions`"),
        ({"actions": ["ec2:RebootInstances"], "resources": ["*"], "reason": REASON}, "ec2:RebootInstances must name resources"),
        (
            {"actions": ["ec2:DescribeInstances"], "resources": ["*"], "conditions": TAGGED, "reason": REASON},
            "alone and without conditions",
        ),
        (
            {"actions": ["ec2:RebootInstances"], "resources": ["arn:aws:*:*:*:*"], "conditions": TAGGED, "reason": REASON},
            "resource part",
        ),
        (
            {
                "actions": ["ec2:RebootInstances"],
                "resources": [INSTANCES],
                "conditions": {"StringEquals": {"aws:SourceIp": "1.2.3.4"}},
                "reason": REASON,
            },
            "does not scope a resource",
        ),
        (
            {"actions": ["ec2:RebootInstances"], "resources": [INSTANCES], "conditions": {"StringEquals": {}}, "reason": REASON},
            "at least one",
        ),
        (
            {
                "actions": ["ec2:RebootInstances"],
                "resources": [INSTANCES],
                "conditions": {"not an operator": {}},
                "reason": REASON,
            },
            "at least one",
        ),
        (
            {
                "actions": ["ec2:RebootInstances"],
                "resources": [INSTANCES],
                "conditions": {"Equals!": {"aws:ResourceTag/a": "b"}},
                "reason": REASON,
            },
            "not an IAM condition operator",
        ),
        (
            {"actions": ["ec2:RebootInstances"], "resources": [INSTANCES], "conditions": TAGGED, "reason": "because"},
            "at least 20",
        ),
        (
            {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::bucket/key"], "reason": REASON},
            "named resources need neither",
        ),
    ],
    ids=[
        "no-reason",
        "no-condition",
        "star-for-scopable",
        "star-with-condition",
        "wildcard-service",
        "non-scoping-key",
        "empty-keys",
        "empty-operator",
        "bad-operator",
        "vague-reason",
        "reason-without-wildcard",
    ],
)
def test_unbounded_or_unexplained_wildcards_are_refused(fields, message) -> None:
    # Given a statement that grants more than it explains / When declared / Then it is refused, saying why
    with pytest.raises(ValidationError, match=message):
        statement(**fields)


def test_nag_finding_ids_spell_pseudo_parameters_in_angle_brackets() -> None:
    # Given a resource with CloudFormation pseudo parameters / When spelled as cdk-nag does / Then they are <...>
    assert nag_resource(INSTANCES) == "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*"


GROUPS_ONLY = {"StringEquals": {**TAGGED["StringEquals"], "ec2:Attribute": "GroupId"}}
OWN_TAG_KEYS = {**TAGGED, "ForAllValues:StringEquals": {"aws:TagKeys": ["keel:original-groups"]}}


def test_isolation_statements_that_say_what_they_change_are_accepted() -> None:
    # Given ModifyInstanceAttribute limited to GroupId, and CreateTags limited to one tag key / When declared
    modify = statement(actions=["ec2:ModifyInstanceAttribute"], resources=[INSTANCES], conditions=GROUPS_ONLY, reason=REASON)
    tags = statement(actions=["ec2:CreateTags"], resources=[INSTANCES], conditions=OWN_TAG_KEYS, reason=REASON)

    # Then both are kept as written
    assert modify.conditions == GROUPS_ONLY
    assert tags.conditions == OWN_TAG_KEYS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"actions": ["ec2:ModifyInstanceAttribute"], "conditions": TAGGED},
            "ec2:ModifyInstanceAttribute on '.*instance/\\*' could change any attribute of the instance",
        ),
        ({"actions": ["ec2:CreateTags"], "conditions": TAGGED}, "ec2:CreateTags on '.*instance/\\*' could write any tag"),
        (
            {"actions": ["ec2:ModifyInstanceAttribute", "ec2:RebootInstances"], "conditions": GROUPS_ONLY},
            "ec2:Attribute is in the request context of ec2:Modify...Attribute actions only: on ec2:RebootInstances",
        ),
        (
            {"actions": ["ec2:CreateTags"], "conditions": {"StringEquals": {**TAGGED["StringEquals"], "aws:TagKeys": "keel:x"}}},
            "aws:TagKeys holds every tag key of the request: use ForAllValues:StringEquals",
        ),
    ],
    ids=["modify-any-attribute", "tag-any-key", "attribute-on-another-action", "tag-keys-single-valued"],
)
def test_a_statement_that_could_change_more_than_it_says_is_refused(fields: dict[str, Any], message: str) -> None:
    # Given a statement on opted-in instances that does not say what it changes / When declared / Then one line says why
    with pytest.raises(ValidationError, match=message):
        statement(resources=[INSTANCES], reason=REASON, **fields)
