"""Every cdk-nag acknowledgment on a role, read against the statements it covers: what a reason names
is in the statement, what the statement allows is in the reason, and a reason that says the role only
reads covers no write."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import template_checks as checks
from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from infra.constructs.function import nag_resource
from infra.nag import _spelled

# An IAM action, not a condition key (aws:..., or a service key followed by / or =, or one of these).
ACTION = re.compile(r"\b(?!aws:)[a-z0-9-]+:[A-Z][A-Za-z0-9*]*(?![A-Za-z0-9*/=])")
CONDITION_KEYS = {"ec2:Attribute", "ec2:CreateAction", "kms:ViaService", "s3:ResourceAccount", "s3:RequestObjectTagKeys"}
# A condition as the acknowledgment spells it: "<operator> <key>=<value>".
CONDITION = re.compile(r"\b((?:ForAllValues:|ForAnyValue:)?(?:String|Arn|Bool|Numeric|Date|IpAddress)\w*) ([\w:/.-]+)=")
READ_ONLY = re.compile(r"\b(read-only|reads only)\b", re.IGNORECASE)
READ_VERBS = re.compile(r"^[a-z0-9-]+:(Get|List|Describe|Query|Scan|BatchGet|Receive)\w*$")
FINDING = re.compile(r"^AwsSolutions-IAM5\[(Resource|Action)::(.+)\]$")


@dataclass(frozen=True)
class Acknowledged:
    path: str
    rule: str
    reason: str
    # The statements of the role the acknowledgment is on.
    statements: list[dict[str, Any]]


def spelled(resource: Any) -> str:
    """A statement's resource as cdk-nag spells it in a finding id."""
    if isinstance(resource, dict) and "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], str):
        return nag_resource(resource["Fn::Sub"])
    return _spelled(resource)


def role_statements(stacks: dict[str, dict[str, Any]], role: iam.Role) -> list[dict[str, Any]]:
    template = stacks[Stack.of(role).stack_name]
    logical_id = Stack.of(role).resolve(role.role_name)["Ref"]
    return [
        statement
        for owner, statement in checks.identity_policy_statements(template)
        if logical_id in checks.referenced_ids(template["Resources"][owner].get("Properties", {}).get("Roles", []))
        or owner == logical_id
    ]


def acknowledgments(synthesized: Any, env: str) -> list[Acknowledged]:
    stacks = {template_name: template for template_name, template in synthesized.stacks[env].items()}
    found = []
    for stack in synthesized.keel.environments[env].all():
        for construct in stack.node.find_all():
            if not isinstance(construct, iam.Role):
                continue
            for entry in construct.node.metadata:
                if entry.type == "aws:cdk:acknowledged-rules":
                    statements = role_statements(stacks, construct)
                    found += [
                        Acknowledged(construct.node.path, rule.removeprefix("Annotation::"), reason, statements)
                        for rule, reason in entry.data.items()
                    ]
    return found


def actions_on(statements: list[dict[str, Any]], resource: str) -> list[dict[str, Any]]:
    return [s for s in statements if any(spelled(r) == resource for r in checks.as_list(s["Resource"]))]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_role_acknowledgment_says_what_its_statements_allow(synthesized, env) -> None:
    # Given every acknowledgment on a role of the environment, with that role's statements
    found = [ack for ack in acknowledgments(synthesized, env) if ack.rule.startswith("AwsSolutions-IAM5")]
    assert found

    for ack in found:
        # When the statements the finding is about are those on the resource it names
        kind, subject = FINDING.fullmatch(ack.rule).groups()  # type: ignore[union-attr]
        assert kind == "Resource", f"{ack.path}: {ack.rule} acknowledges a wildcard action: {ack.reason}"
        covered = actions_on(ack.statements, subject)
        allowed = {action for statement in covered for action in checks.as_list(statement["Action"])}

        # Then the finding covers a statement the role has (no stale acknowledgment) ...
        assert covered, f"{ack.path}: {ack.rule} covers no statement of the role"
        # ... every action the reason names is allowed there, and every action allowed there is named
        named = set(ACTION.findall(ack.reason)) - CONDITION_KEYS
        if not subject.endswith("-??????"):
            assert named <= allowed, f"{ack.path}: {ack.rule} names {sorted(named - allowed)}, not in its statements"
            assert allowed <= named, f"{ack.path}: {ack.rule} does not say it allows {sorted(allowed - named)}"
        # ... every condition key=value it names is a condition of one of those statements
        for operator, key in CONDITION.findall(ack.reason):
            conditions = [s.get("Condition", {}) for s in covered]
            assert any(key in condition.get(operator, {}) for condition in conditions), (ack.path, operator, key)
        # ... and a reason that says the role only reads covers no write
        if READ_ONLY.search(ack.reason):
            writes = {action for action in allowed if not READ_VERBS.match(action)}
            assert not writes, f"{ack.path}: {ack.rule} says read-only but allows {sorted(writes)}"
        # ... and no index/* grant hides what it allows on every index
        assert "/index/*" not in subject, f"{ack.path}: {ack.rule}"
