"""The remediation roles in the synthesized templates: every wildcard bounded, every module its own role."""

from __future__ import annotations

import json

import pytest

from infra.function_spec import UNSCOPABLE_ACTIONS
from tests.infra import template_checks as checks

ACTION_MODULES = {
    "remediate_service": {"ecs:UpdateService", "ec2:RebootInstances", "sqs:SendMessage", "sqs:DeleteMessage"},
    "contain_threat": {"ec2:ModifyInstanceAttribute", "ec2:CreateSnapshot", "iam:UpdateAccessKey"},
}
MUTATING = {action for actions in ACTION_MODULES.values() for action in actions}


def role_statements(template: dict, module: str, automation: str = "alarm_remediation") -> list[dict]:
    """The statements of the automation's own instance of the module (contain_threat is security_finding_response's)."""
    automation = "security_finding_response" if module == "contain_threat" else automation
    function = checks.properties(template, checks.function_id(template, "dev", automation, module))
    (role,) = checks.referenced_ids(function["Role"])
    return [
        statement
        for owner, statement in checks.identity_policy_statements(template)
        if role
        in checks.referenced_ids(
            checks.resources(template, "AWS::IAM::Policy").get(owner, {}).get("Properties", {}).get("Roles", [])
        )
    ]


@pytest.mark.parametrize(
    "module", ["match_runbook", "check_guardrails", "remediate_service", "contain_threat", "verify_remediation"]
)
def test_every_wildcard_of_a_remediation_role_is_bounded_by_a_condition(synthesized, module) -> None:
    # Given the dev template / When the module's role is read
    statements = role_statements(synthesized.template("dev"), module)

    # Then a resource wildcard outside the platform's own grants carries a scoping condition, and "*"
    # is only for X-Ray and the EC2 Describe actions that support no resource-level permissions
    assert statements
    for statement in statements:
        resources = json.dumps(statement["Resource"])
        if statement["Resource"] == "*":
            assert set(checks.as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS | {
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
            }
        elif "*" in resources and "Fn::Sub" in resources:
            assert (
                "aws:ResourceTag" in json.dumps(statement["Condition"])
                or "RequestTag" in json.dumps(statement["Condition"])
                or statement["Condition"].get("StringEquals") == {"ec2:CreateAction": "CreateSnapshot"}
            )


def test_only_the_action_modules_may_change_resources_and_each_only_its_own(synthesized) -> None:
    # Given the dev template
    template = synthesized.template("dev")

    # When the actions each remediation role allows are collected
    allowed = {
        module: {action for statement in role_statements(template, module) for action in checks.as_list(statement["Action"])}
        for module in ("match_runbook", "check_guardrails", "remediate_service", "contain_threat", "verify_remediation")
    }

    # Then service actions and containment live in separate roles, and the other modules change nothing
    for module, expected in ACTION_MODULES.items():
        assert expected <= allowed[module]
        assert not (MUTATING - expected) & allowed[module], f"{module} may do another module's actions"
    for module in ("match_runbook", "check_guardrails", "verify_remediation"):
        assert not MUTATING & allowed[module]


def allowing(statements: list[dict], action: str) -> list[dict]:
    return [statement for statement in statements if action in checks.as_list(statement["Action"])]


def test_isolation_changes_only_the_security_groups_and_writes_only_its_own_tags(synthesized) -> None:
    # Given contain_threat's role in the dev template
    statements = role_statements(synthesized.template("dev"), "contain_threat")

    # Then ModifyInstanceAttribute on instances is limited to the GroupId attribute
    on_instances = [s for s in allowing(statements, "ec2:ModifyInstanceAttribute") if ":instance/" in json.dumps(s["Resource"])]
    assert on_instances
    for statement in on_instances:
        assert statement["Condition"]["StringEquals"]["ec2:Attribute"] == "GroupId"
    # And every CreateTags lists the keys it may write, or tags only while a snapshot is created
    tagging = allowing(statements, "ec2:CreateTags")
    assert tagging
    for statement in tagging:
        keys = statement["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]
        assert (
            "keel:remediation" not in keys or statement["Condition"]["StringEquals"].get("ec2:CreateAction") == "CreateSnapshot"
        )


def test_redrive_drains_only_dead_letter_queues_and_sends_only_to_their_sources(synthesized) -> None:
    # Given remediate_service's role in the dev template
    statements = role_statements(synthesized.template("dev"), "remediate_service")

    # Then receive and delete need the queue tagged keel:redrive=dead-letter-queue, send keel:redrive=source
    for action, kind in (
        ("sqs:ReceiveMessage", "dead-letter-queue"),
        ("sqs:DeleteMessage", "dead-letter-queue"),
        ("sqs:SendMessage", "source"),
    ):
        (statement,) = allowing(statements, action)
        assert statement["Condition"]["StringEquals"]["aws:ResourceTag/keel:redrive"] == kind, action


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_role_may_re_encrypt_or_use_the_key_outside_a_service(synthesized, env) -> None:
    # Given every identity policy of the environment's stacks
    statements = [statement for _, statement in checks.identity_policy_statements(synthesized.template(env))]

    # Then no statement allows kms:ReEncrypt*, kms:Encrypt or wildcard data keys, and each KMS use is via a service
    kms = [statement for statement in statements if any(a.startswith("kms:") for a in checks.as_list(statement["Action"]))]
    assert kms
    for statement in kms:
        actions = set(checks.as_list(statement["Action"]))
        assert not actions & {"kms:ReEncrypt*", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:Encrypt", "kms:GenerateDataKey*"}
        assert "kms:ViaService" in json.dumps(statement.get("Condition", {})), statement


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_role_reaches_every_index_of_a_table(synthesized, env) -> None:
    # Given every identity policy of the environment's stacks
    statements = [statement for _, statement in checks.identity_policy_statements(synthesized.template(env))]

    # Then indexes are named one by one, and an index is only ever queried
    for statement in statements:
        resources = json.dumps(statement["Resource"])
        assert "/index/*" not in resources, statement
        if "/index/" in resources:
            assert set(checks.as_list(statement["Action"])) == {"dynamodb:Query"}, statement
