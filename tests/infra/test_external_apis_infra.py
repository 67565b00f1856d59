"""External APIs in the synthesized templates: only the functions that call them get their settings, and
only those read their credentials (every environment declares its APIs: config/environments.yaml)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import names
from tests.infra import template_checks as checks

ENVIRONMENTS = ("dev", "staging", "prod")


def functions_of(template: dict[str, Any], environment: str, automation: str) -> dict[str, dict[str, Any]]:
    prefix = names.function(environment, automation, "m")[:-1]
    return {
        str(props["FunctionName"]): props
        for props in (value["Properties"] for value in checks.resources(template, "AWS::Lambda::Function").values())
        if str(props["FunctionName"]).startswith(prefix)
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_only_call_api_gets_the_apis_its_automation_declares_over_https(synthesized: Any, environment: str) -> None:
    # Given user_onboarding's functions as synthesized
    functions = functions_of(synthesized.template(environment), environment, "user_onboarding")

    # Then call_api's settings name the manifest's APIs, https only, and no other function has them
    variables = {name: props.get("Environment", {}).get("Variables", {}) for name, props in functions.items()}
    call_api = variables[names.function(environment, "user_onboarding", "call_api")]
    apis = json.loads(call_api["KEEL_APIS"])
    assert sorted(apis) == ["billing", "crm"]
    assert all(api["base_url"].startswith("https://") for api in apis.values())
    assert "KEEL_API_ENDPOINTS" not in call_api  # the local cloud's setting is never deployed
    assert [name for name, values in variables.items() if "KEEL_APIS" in values] == [
        names.function(environment, "user_onboarding", "call_api")
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_only_call_api_reads_the_apis_credentials(synthesized: Any, environment: str) -> None:
    # Given every IAM statement of the environment
    template = synthesized.template(environment)
    secrets = (names.secret(environment, "crm-api-key"), names.secret(environment, "billing-client"))

    # When those that reach an API's secret are found
    readers = {
        owner
        for owner, statement in checks.identity_policy_statements(template)
        if any(secret in json.dumps(statement.get("Resource", "")) for secret in secrets)
    }

    # Then they are call_api's role alone
    roles = {role for owner in readers for role in _roles(template, owner)}
    call_api = checks.function_id(template, environment, "user_onboarding", "call_api")
    assert roles == checks.referenced_ids(checks.properties(template, call_api)["Role"])


def _roles(template: dict[str, Any], owner: str) -> set[str]:
    resource = template["Resources"][owner]
    if resource["Type"] == "AWS::IAM::Role":
        return {owner}
    return checks.referenced_ids(resource["Properties"].get("Roles", []))
