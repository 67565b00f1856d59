"""Rotation of the CRM's key by Keel in the synthesized templates (config/environments.yaml apis.crm.rotation):
its schedule, a rotation function that may use that one secret only, Secrets Manager allowed to invoke it for
that secret only, and its failures paging the platform."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import names
from infra.config import Environment, load_environments
from infra.constructs.api_rotation import ROTATION_ACTIONS
from tests.infra import template_checks as checks

ENVIRONMENTS = ("dev", "staging", "prod")


def environment_of(repo_root: Any, name: str) -> Environment:
    return load_environments(repo_root / "config" / "environments.yaml").get(name)


def rotation_function(template: dict[str, Any], environment: str) -> str:
    return checks.find_by(template, "AWS::Lambda::Function", "FunctionName", names.platform_function(environment, "rotate-crm"))


def crm_secret(template: dict[str, Any], environment: str) -> str:
    return checks.find_by(template, "AWS::SecretsManager::Secret", "Name", names.secret(environment, "crm-api-key"))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_crm_key_has_a_rotation_schedule_with_keels_function(synthesized: Any, environment: str) -> None:
    # Given the environment as synthesized
    template = synthesized.template(environment)
    function, secret = rotation_function(template, environment), crm_secret(template, environment)

    # Then one schedule rotates the CRM's secret every 30 days with the rotation function, not at deploy
    [schedule] = checks.resources(template, "AWS::SecretsManager::RotationSchedule").values()
    props = schedule["Properties"]
    assert checks.referenced_ids(props["SecretId"]) == {secret}
    assert checks.referenced_ids(props["RotationLambdaARN"]) == {function}
    assert props["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert props["RotateImmediatelyOnUpdate"] is False
    # and the function knows the API, its credential path and the secret, with no local setting
    variables = checks.properties(template, function)["Environment"]["Variables"]
    assert (variables["KEEL_ROTATION_API"], variables["KEEL_ROTATION_PATH"]) == ("crm", "/credentials")
    assert variables["KEEL_ROTATED_SECRET"] == names.secret(environment, "crm-api-key")
    assert sorted(json.loads(variables["KEEL_APIS"])) == ["crm"]
    assert "KEEL_API_ENDPOINTS" not in variables


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_rotation_function_uses_that_one_secret_and_only_secrets_manager_invokes_it_for_it(
    synthesized: Any, repo_root: Any, environment: str
) -> None:
    # Given the rotation function's role and the statements that reach any secret
    template = synthesized.template(environment)
    function, secret = rotation_function(template, environment), crm_secret(template, environment)
    [role] = checks.referenced_ids(checks.properties(template, function)["Role"])
    secret_statements = [
        statement
        for owner, statement in checks.identity_policy_statements(template)
        if role in ({owner} | checks.referenced_ids(template["Resources"][owner]["Properties"].get("Roles", [])))
        and any(action.startswith("secretsmanager:") for action in checks.as_list(statement["Action"]))
    ]

    # Then the role may describe, read, add versions to and move labels on the CRM's secret, and nothing else
    [statement] = secret_statements
    assert sorted(checks.as_list(statement["Action"])) == sorted(ROTATION_ACTIONS)
    assert checks.referenced_ids(statement["Resource"]) == {secret}
    # and Secrets Manager of this account may invoke it, for that secret only
    [permission] = [
        props
        for props in (value["Properties"] for value in checks.resources(template, "AWS::Lambda::Permission").values())
        if checks.referenced_ids(props["FunctionName"]) == {function}
    ]
    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert checks.referenced_ids(permission["SourceArn"]) == {secret}
    assert permission["SourceAccount"] == environment_of(repo_root, environment).account


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_failed_rotation_pages_the_platform_on_call_route(synthesized: Any, repo_root: Any, environment: str) -> None:
    template = synthesized.template(environment)
    function = rotation_function(template, environment)

    [alarm] = checks.alarms_on(template, function).values()

    assert checks.alarm_metric_names(alarm) == {"Errors"}
    assert alarm["AlarmActions"] == [checks.topic_arn(environment_of(repo_root, environment), "platform-oncall")]
