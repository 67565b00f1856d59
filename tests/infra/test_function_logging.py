"""Every function's role may write its logs into its own log group, and into no other."""

from __future__ import annotations

import pytest
import template_checks as checks

ENVIRONMENTS = ["dev", "staging", "prod"]
WRITE_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_function_role_writes_to_its_own_log_group_only(synthesized, env) -> None:
    template = synthesized.template(env)
    policies = checks.resources(template, "AWS::IAM::Policy").values()
    functions = checks.resources(template, "AWS::Lambda::Function")
    assert functions

    for name, function in functions.items():
        props = function["Properties"]
        role = props["Role"]["Fn::GetAtt"][0]
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        statements = [
            statement
            for policy in policies
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        writes = [s for s in statements if WRITE_LOGS & set([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        assert [sorted(s["Action"]) for s in writes] == [sorted(WRITE_LOGS)], name
        assert writes[0]["Resource"] == {"Fn::GetAtt": [group, "Arn"]}, name
