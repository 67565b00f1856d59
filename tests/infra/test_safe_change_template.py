"""Versions and rollout in the synthesized templates (infra/constructs/versions.py): functions invoked
by published version, a retained state machine version per deploy, rules starting executions through
the live alias, whose deployment preference follows the manifest's rollout and watches its alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

MACHINE = "AutomationalarmremediationResourcesStateMachine30D88A40"


def of_type(template: dict[str, Any], kind: str, automation: str = "alarmremediation") -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind and logical_id.startswith(f"Automation{automation}")
    }


@pytest.mark.parametrize(
    ("environment", "preference"),
    [("dev", {"Type": "ALL_AT_ONCE"}), ("prod", {"Type": "CANARY", "Percentage": 10, "Interval": 30})],
)
def test_the_live_alias_moves_by_the_environments_rollout_watching_the_automations_alarms(
    synthesized: Any, environment: str, preference: dict[str, Any]
) -> None:
    # Given the real catalog synthesized (alarm_remediation declares no rollout)
    template = synthesized.template(environment)

    # When its alias and version are read
    [alias] = of_type(template, "AWS::StepFunctions::StateMachineAlias").values()
    [(version_id, version)] = of_type(template, "AWS::StepFunctions::StateMachineVersion").items()
    deployment = alias["Properties"]["DeploymentPreference"]

    # Then the alias `live` moves to this deploy's version by the environment's default rollout,
    # rolled back by the automation's own alarms, and earlier versions are kept
    assert alias["Properties"]["Name"] == "live"
    assert {key: deployment[key] for key in preference} == preference
    assert set(deployment) - set(preference) == {
        "StateMachineVersionArn",
        "Alarms",
    }
    assert deployment["StateMachineVersionArn"] == {"Fn::GetAtt": [version_id, "Arn"]}
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert {ref["Ref"] for ref in deployment["Alarms"]} <= set(alarms)
    assert len(deployment["Alarms"]) >= 5
    assert version["Properties"]["StateMachineRevisionId"] == {"Fn::GetAtt": [MACHINE, "StateMachineRevisionId"]}
    assert version["DeletionPolicy"] == version["UpdateReplacePolicy"] == "Retain"


def test_rules_start_executions_through_the_alias_and_workflows_invoke_published_function_versions(synthesized: Any) -> None:
    # Given the dev environment
    template = synthesized.template("dev")

    # When the rule's target, its role, and the state machine's substitutions and role are read
    [rule] = of_type(template, "AWS::Events::Rule").values()
    [target] = rule["Properties"]["Targets"]
    policies = of_type(template, "AWS::IAM::Policy")
    events_statements = [
        statement
        for logical_id, policy in policies.items()
        if "EventsRole" in logical_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    machine = template["Resources"][MACHINE]["Properties"]
    versions = of_type(template, "AWS::Lambda::Version")

    # Then the target is the alias, allowed by the qualifier condition on the state machine's ARN
    assert target["Arn"].endswith(":stateMachine:keel-dev-alarm_remediation:live")
    assert {
        "Action": "states:StartExecution",
        "Condition": {"StringEquals": {"states:StateMachineQualifier": "live"}},
        "Effect": "Allow",
        "Resource": {"Ref": MACHINE},
    } in events_statements
    # And every function the workflow invokes is a published version, invoked by qualified ARN only
    functions = {name: value for name, value in machine["DefinitionSubstitutions"].items() if isinstance(value, dict)}
    assert functions
    assert all(value["Ref"] in versions for value in functions.values())
    invoke = [
        statement
        for logical_id, policy in policies.items()
        if "StateMachineRole" in logical_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "lambda:InvokeFunction"
    ]
    resources = json.dumps(invoke)
    assert invoke
    assert resources.count('":*"') == len(functions)
    assert '"Arn"]}]' not in resources
