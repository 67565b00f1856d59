"""function.yaml S3 statements: object-level access bounded by a folder in the ARN or by S3's own condition keys."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from infra.constructs.function import _declared_wildcards
from infra.function_spec import FunctionSpec, Statement, bounded_by_its_arn

REASON = "Writes the nightly export files of this automation only"
BUCKET = "arn:${AWS::Partition}:s3:::keel-${AWS::AccountId}-exports"
TAGGED_OBJECTS = {"StringEquals": {"s3:ExistingObjectTag/keel:export": "true"}}


def statement(**fields: Any) -> Statement:
    return Statement.model_validate(fields)


ACCEPTED = {
    "folder-in-arn": {"actions": ["s3:PutObject", "s3:GetObject"], "resources": [f"{BUCKET}/exports/*"], "reason": REASON},
    "nested-folder": {"actions": ["s3:DeleteObject"], "resources": [f"{BUCKET}/exports/daily/*"], "reason": REASON},
    "folder-narrowed-by-request-tag": {
        "actions": ["s3:PutObject"],
        "resources": [f"{BUCKET}/exports/*"],
        "conditions": {"StringEquals": {"s3:RequestObjectTag/keel:export": "true"}},
        "reason": REASON,
    },
    "whole-bucket-by-object-tag": {
        "actions": ["s3:GetObject", "s3:GetObjectTagging"],
        "resources": [f"{BUCKET}/*"],
        "conditions": TAGGED_OBJECTS,
        "reason": REASON,
    },
    "list-by-prefix": {
        "actions": ["s3:ListBucket"],
        "resources": [BUCKET],
        "conditions": {"StringLike": {"s3:prefix": "exports/*"}, "StringEquals": {"s3:ResourceAccount": "${AWS::AccountId}"}},
    },
    "named-object": {"actions": ["s3:GetObject"], "resources": [f"{BUCKET}/config/settings.json"]},
}


@pytest.mark.parametrize("fields", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_bounded_s3_object_access_is_accepted(fields) -> None:
    # Given an S3 statement bounded by its ARN or by S3's condition keys / When declared / Then it is kept as written
    declared = statement(**fields)
    assert declared.resources == fields["resources"]
    assert declared.conditions == fields.get("conditions")


REFUSED = {
    "whole-bucket-unbounded": (
        {"actions": ["s3:GetObject"], "resources": [f"{BUCKET}/*"], "reason": REASON},
        "bound it with `conditions`",
    ),
    "partial-name": ({"actions": ["s3:GetObject"], "resources": [f"{BUCKET}/ex*"], "reason": REASON}, "bound it with"),
    "wildcard-before-the-end": (
        {"actions": ["s3:GetObject"], "resources": [f"{BUCKET}/*/exports/*"], "reason": REASON},
        "bound it with",
    ),
    "wildcard-bucket": (
        {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::keel-*/exports/*"], "reason": REASON},
        "bound it",
    ),
    "single-character-wildcard-in-folder": (
        {"actions": ["s3:GetObject"], "resources": [f"{BUCKET}/export?/*"], "reason": REASON},
        "bound it with",
    ),
    "folder-without-reason": ({"actions": ["s3:PutObject"], "resources": [f"{BUCKET}/exports/*"]}, "say why in `reason`"),
    "request-tag-alone": (
        {
            "actions": ["s3:PutObject"],
            "resources": [f"{BUCKET}/*"],
            "conditions": {"StringEquals": {"s3:RequestObjectTag/keel:export": "true"}},
            "reason": REASON,
        },
        "bound it with `conditions`",
    ),
    "object-tag-if-exists": (
        {
            "actions": ["s3:GetObject"],
            "resources": [f"{BUCKET}/*"],
            "conditions": {"StringEqualsIfExists": {"s3:ExistingObjectTag/keel:export": "true"}},
            "reason": REASON,
        },
        "bound it with `conditions`",
    ),
    "object-tag-negated": (
        {
            "actions": ["s3:GetObject"],
            "resources": [f"{BUCKET}/*"],
            "conditions": {"StringNotEquals": {"s3:ExistingObjectTag/keel:private": "true"}},
            "reason": REASON,
        },
        "bound it with `conditions`",
    ),
    "object-tag-on-put": (
        {
            "actions": ["s3:GetObject", "s3:PutObject"],
            "resources": [f"{BUCKET}/*"],
            "conditions": TAGGED_OBJECTS,
            "reason": REASON,
        },
        "S3 does not evaluate s3:ExistingObjectTag for s3:PutObject",
    ),
    "prefix-key-on-objects": (
        {
            "actions": ["s3:GetObject"],
            "resources": [f"{BUCKET}/*"],
            "conditions": {"StringLike": {"s3:prefix": "exports/*"}},
            "reason": REASON,
        },
        "s3:prefix bounds only s3:ListBucket",
    ),
    "other-s3-key": (
        {
            "actions": ["s3:PutObject"],
            "resources": [f"{BUCKET}/exports/*"],
            "conditions": {"StringEquals": {"s3:x-amz-acl": "private"}},
            "reason": REASON,
        },
        "'s3:x-amz-acl' does not scope a resource",
    ),
    "reason-on-named-object": (
        {"actions": ["s3:GetObject"], "resources": [f"{BUCKET}/config/settings.json"], "reason": REASON},
        "named resources need neither",
    ),
}


@pytest.mark.parametrize(("fields", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_unbounded_s3_access_is_refused(fields, message) -> None:
    # Given an S3 statement that reaches more than it says / When declared / Then it is refused, saying why
    with pytest.raises(ValidationError, match=message):
        statement(**fields)


@pytest.mark.parametrize(
    ("resource", "bounded"),
    [
        ("arn:aws:s3:::exports/daily/*", True),
        ("arn:${AWS::Partition}:s3:::keel-${AWS::AccountId}-exports/a/*", True),
        ("arn:aws:s3:::exports/*", False),
        ("arn:aws:s3:::exports//*", False),
        ("arn:aws:s3:::exports/daily*", False),
        ("arn:aws:s3:::exports/*/daily/*", False),
        ("arn:aws:s3:::export*/daily/*", False),
        ("arn:aws:sqs:eu-west-1:123456789012:exports/daily/*", False),
    ],
)
def test_only_a_named_bucket_and_folder_bound_a_wildcard_by_themselves(resource, bounded) -> None:
    # Given an ARN / When asked whether it bounds itself / Then only a final * after a named bucket and folder does
    assert bounded_by_its_arn(resource) is bounded


def test_a_folder_bounded_statement_is_acknowledged_with_its_reason() -> None:
    # Given a module writing exports under one folder, with no condition
    spec = FunctionSpec(
        module="write_export",
        description="Writes exports",
        memory_mb=256,
        timeout_seconds=30,
        permissions=[statement(**ACCEPTED["folder-in-arn"])],
    )

    # When its role's wildcard findings are acknowledged / Then the one IAM5 finding names the folder bound and the reason
    assert _declared_wildcards(spec) == {
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::keel-<AWS::AccountId>-exports/exports/*]": (
            f"write_export: s3:PutObject, s3:GetObject only on the keys under the folder its ARN names. {REASON}"
        )
    }
