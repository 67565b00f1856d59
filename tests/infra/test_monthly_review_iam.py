"""What the monthly review's function may do, read from the synthesized dev template: the KPI reads on the
environment's resources only, and a publish to every on-call route's topic (and no other)."""

from __future__ import annotations

import json
from typing import Any

from infra import names
from tests.infra import template_checks as checks


def statements_of(template: dict[str, Any], automation: str, module: str) -> list[dict[str, Any]]:
    function = checks.properties(template, checks.function_id(template, "dev", automation, module))
    (role,) = checks.referenced_ids(function["Role"])
    found = []
    for owner, statement in checks.identity_policy_statements(template):
        resource = template["Resources"][owner]
        if role == owner or role in checks.referenced_ids(resource["Properties"].get("Roles", [])):
            found.append(statement)
    return found


def by_action(statements: list[dict[str, Any]]) -> dict[str, list[str]]:
    allowed: dict[str, list[str]] = {}
    for statement in statements:
        for action in checks.as_list(statement["Action"]):
            allowed.setdefault(action, []).extend(json.dumps(item) for item in checks.as_list(statement["Resource"]))
    return allowed


def test_the_review_reads_the_environments_resources_and_publishes_to_every_route(synthesized) -> None:
    # Given the dev template / When write_reviews' role is read
    template = synthesized.template("dev")
    allowed = by_action(statements_of(template, "monthly_review", "write_reviews"))
    # Then the reads that take a resource are scoped to keel-dev-* resources
    scoped = {
        "cloudwatch:DescribeAlarmHistory": ":alarm:keel-dev-*",
        "states:ListExecutions": ":stateMachine:keel-dev-*",
        "states:DescribeStateMachine": ":stateMachine:keel-dev-*",
        "states:GetExecutionHistory": ":execution:keel-dev-*",
        "lambda:GetFunctionConfiguration": ":function:keel-dev-*",
    }
    for action, suffix in scoped.items():
        assert [resource.strip('"').endswith(suffix) for resource in allowed[action]] == [True], action
    # And only the two reads without resource-level permissions are on *
    assert allowed["tag:GetResources"] == ['"*"']
    assert allowed["cloudwatch:GetMetricData"] == ['"*"']
    # And it publishes to each route's topic of the environment, and writes no table
    topics = sorted(resource.strip('"').rsplit(":", 1)[-1] for resource in allowed["sns:Publish"])
    routes = ("platform-oncall", "security-oncall", "support-oncall")
    assert topics == sorted(names.oncall_topic("dev", route) for route in routes)
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(allowed)


def test_another_automations_function_publishes_to_its_own_routes_only(synthesized) -> None:
    template = synthesized.template("dev")
    allowed = by_action(statements_of(template, "ticket_triage", "request_approval"))
    assert all("security-oncall" not in resource for resource in allowed["sns:Publish"])
