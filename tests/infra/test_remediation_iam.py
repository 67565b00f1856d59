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
                or (statement["Condition"] == {"StringEquals": {"ec2:CreateAction": "CreateSnapshot"}})
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
