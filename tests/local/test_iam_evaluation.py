"""IAM's decision from a role's policies: explicit deny, allow, implicit deny, wildcards, boundaries,
and the optimistic reading of what the local cloud cannot evaluate (conditions, unknown resources)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keel.local.iam_evaluation import Permission, Verdict, decide, documents

TABLE = "arn:aws:dynamodb:eu-west-1:111111111111:table/keel-dev-decisions"
OTHER_TABLE = "arn:aws:dynamodb:eu-west-1:111111111111:table/keel-dev-approvals"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def verdict(permission: Permission, *policies: dict[str, Any], boundary: dict[str, Any] | None = None) -> Verdict:
    return decide(permission, list(policies), boundary).verdict


def test_an_action_on_a_named_resource_is_allowed_only_there() -> None:
    role = policy(allow(["dynamodb:GetItem", "dynamodb:PutItem"], [TABLE, f"{TABLE}/index/*"]))

    assert verdict(Permission("dynamodb:PutItem", TABLE), role) is Verdict.ALLOWED
    assert verdict(Permission("dynamodb:Query", f"{TABLE}/index/by_action_on"), role) is Verdict.IMPLICIT_DENY
    assert verdict(Permission("dynamodb:GetItem", f"{TABLE}/index/by_action_on"), role) is Verdict.ALLOWED
    assert verdict(Permission("dynamodb:PutItem", OTHER_TABLE), role) is Verdict.IMPLICIT_DENY
    assert verdict(Permission("dynamodb:DeleteItem", TABLE), role) is Verdict.IMPLICIT_DENY


def test_actions_match_without_case_resources_with_it_and_both_take_wildcards() -> None:
    role = policy(allow("DynamoDB:get*", "arn:aws:dynamodb:eu-west-1:111111111111:table/keel-dev-a????????"))
    short = policy(allow("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:111111111111:table/keel-dev-a???????"))

    assert verdict(Permission("dynamodb:GetItem", OTHER_TABLE), role) is Verdict.ALLOWED
    assert verdict(Permission("dynamodb:GetItem", OTHER_TABLE), short) is Verdict.IMPLICIT_DENY  # one ? is one character
    assert verdict(Permission("dynamodb:GetItem", TABLE), role) is Verdict.IMPLICIT_DENY
    assert verdict(Permission("dynamodb:GetItem", OTHER_TABLE.upper()), role) is Verdict.IMPLICIT_DENY
    assert verdict(Permission("dynamodb:PutItem", OTHER_TABLE), role) is Verdict.IMPLICIT_DENY


def test_brackets_in_a_resource_are_literal_not_character_classes() -> None:
    role = policy(allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:queue[1]"))

    assert verdict(Permission("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:queue[1]"), role) is Verdict.ALLOWED
    assert verdict(Permission("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:queue1"), role) is Verdict.IMPLICIT_DENY


def test_an_explicit_deny_in_any_policy_wins_over_every_allow() -> None:
    allows = policy(allow("dynamodb:*", "*"))
    denies = policy(deny("dynamodb:DeleteItem", TABLE))

    assert verdict(Permission("dynamodb:DeleteItem", TABLE), allows, denies) is Verdict.EXPLICIT_DENY
    assert verdict(Permission("dynamodb:DeleteItem", OTHER_TABLE), allows, denies) is Verdict.ALLOWED


def test_not_action_and_not_resource_invert_their_match() -> None:
    role = policy(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "sqs:*", "NotResource": "arn:aws:sqs:eu-west-1:111111111111:keel-*"},
    )

    assert verdict(Permission("dynamodb:PutItem", TABLE), role) is Verdict.ALLOWED
    assert verdict(Permission("iam:UpdateAccessKey", "arn:aws:iam::111111111111:user/alice"), role) is Verdict.IMPLICIT_DENY
    assert verdict(Permission("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:keel-dev-q"), role) is Verdict.ALLOWED
    assert verdict(Permission("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:other"), role) is Verdict.EXPLICIT_DENY


def test_a_condition_is_taken_to_hold_for_an_allow_and_not_for_a_deny() -> None:
    tagged = {"StringEquals": {"aws:ResourceTag/keel:remediation": "enabled"}}
    role = policy(
        allow("ecs:UpdateService", "arn:aws:ecs:eu-west-1:111111111111:service/*/*", Condition=tagged),
        deny("ecs:DeleteService", "*", Condition=tagged),
        allow("ecs:DeleteService", "*"),
    )
    service = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"

    assert verdict(Permission("ecs:UpdateService", service), role) is Verdict.ALLOWED
    assert verdict(Permission("ecs:DeleteService", service), role) is Verdict.ALLOWED


def test_an_unknown_resource_lets_any_statement_naming_the_action_apply() -> None:
    role = policy(allow("ec2:RebootInstances", "arn:aws:ec2:eu-west-1:111111111111:instance/*"))

    assert verdict(Permission("ec2:RebootInstances", None), role) is Verdict.ALLOWED
    assert verdict(Permission("ec2:StopInstances", None), role) is Verdict.IMPLICIT_DENY


def test_a_permissions_boundary_must_allow_the_action_too() -> None:
    role = policy(allow("dynamodb:*", "*"))
    boundary = policy(allow("dynamodb:GetItem", "*"))
    denying_boundary = policy(allow("*", "*"), deny("dynamodb:GetItem", TABLE))

    assert verdict(Permission("dynamodb:GetItem", TABLE), role, boundary=boundary) is Verdict.ALLOWED
    refused = decide(Permission("dynamodb:PutItem", TABLE), [role], boundary)
    assert (refused.verdict, refused.policy_type) == (Verdict.IMPLICIT_DENY, "permissions boundary")
    assert verdict(Permission("dynamodb:GetItem", TABLE), role, boundary=denying_boundary) is Verdict.EXPLICIT_DENY
    assert verdict(Permission("dynamodb:GetItem", TABLE), policy(), boundary=boundary) is Verdict.IMPLICIT_DENY


@pytest.mark.parametrize("statement", [allow("sns:Publish", "*"), [allow("sns:Publish", "*")]])
def test_policies_as_moto_keeps_them_text_or_parsed_with_one_statement_or_a_list(statement: Any) -> None:
    document = {"Version": "2012-10-17", "Statement": statement}

    for kept in documents([json.dumps(document), document]):
        assert verdict(Permission("sns:Publish", "arn:aws:sns:eu-west-1:111111111111:t"), kept) is Verdict.ALLOWED


def test_no_policy_allows_nothing() -> None:
    assert verdict(Permission("sts:AssumeRole", "arn:aws:iam::111111111111:role/r")) is Verdict.IMPLICIT_DENY
