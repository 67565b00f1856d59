"""A test stack for the local cloud's runtime: the handlers of tests/fixtures/local_functions/meeting.py
deployed as Lambda functions (their own role, table and environment, as the platform deploys a module),
and small workflows that invoke them, each started by events of its own detail-type on the keel bus."""

from __future__ import annotations

import json
import uuid
from typing import Any

from keel.local.template import EnvironmentTemplate, StackTemplate

SOURCE = "keel.tests.meeting"
TABLE = "keel-test-meeting"
HANDLERS = ("arrive", "hold", "release", "probe")
SETTING = "configured in the template"
TIMEOUT_SECONDS = 60


def function_name(handler: str) -> str:
    return f"keel-test-meeting-{handler}"


def _invoke(handler: str, next_state: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${" + handler + "}", "Payload.$": "$"},
        "ResultSelector": {"answer.$": "$.Payload"},
        "ResultPath": f"$.{handler}",
    }
    return {**state, "Next": next_state} if next_state else {**state, "End": True}


# Each workflow's input is the event's detail: {"name": ..., "group": ..., "parties": ...}.
WORKFLOWS: dict[str, dict[str, Any]] = {
    "meet": {"StartAt": "Arrive", "States": {"Arrive": _invoke("arrive")}},
    "hold": {"StartAt": "Hold", "States": {"Hold": _invoke("hold")}},
    "probe": {"StartAt": "Probe", "States": {"Probe": _invoke("probe")}},
    # Meet a neighbour, wait an hour, let the neighbour go, then say what time the handler sees.
    "meet_wait_release": {
        "StartAt": "Arrive",
        "States": {
            "Arrive": _invoke("arrive", "WaitAnHour"),
            "WaitAnHour": {"Type": "Wait", "Seconds": 3600, "Next": "Release"},
            "Release": _invoke("release", "Probe"),
            "Probe": _invoke("probe"),
        },
    },
    # Meet a neighbour, then hold until the neighbour lets go.
    "meet_hold": {"StartAt": "Arrive", "States": {"Arrive": _invoke("arrive", "Hold"), "Hold": _invoke("hold")}},
}


def _function(handler: str, reserved: int | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "FunctionName": function_name(handler),
        "Handler": f"tests.fixtures.local_functions.meeting.{handler}",
        "Role": {"Fn::GetAtt": ["MeetingRole", "Arn"]},
        "Runtime": "python3.12",
        "Timeout": TIMEOUT_SECONDS,
        "MemorySize": 128,
        "Environment": {"Variables": {"MEETING_TABLE": TABLE, "MEETING_SETTING": SETTING}},
    }
    if reserved is not None:
        properties["ReservedConcurrentExecutions"] = reserved
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


def _role(principal: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
        }
    }
    if statements:
        properties["Policies"] = [{"PolicyName": "meeting", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def _workflow(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": f"keel-test-meeting-{name}",
            "DefinitionString": json.dumps(WORKFLOWS[name]),
            "DefinitionSubstitutions": {handler: {"Fn::GetAtt": [f"Meeting{handler.title()}", "Arn"]} for handler in HANDLERS},
            "RoleArn": {"Fn::GetAtt": ["MeetingWorkflowRole", "Arn"]},
            "Tags": [{"Key": "keel:automation", "Value": f"test_meeting_{name}"}],
        },
    }


def _rule(name: str, bus: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": f"keel-test-meeting-{name}",
            "EventBusName": bus,
            "EventPattern": {"source": [SOURCE], "detail-type": [name]},
            "Targets": [
                {"Id": "Target0", "Arn": {"Ref": f"Workflow{_logical(name)}"}, "InputPath": "$.detail", "RetryPolicy": {}}
            ],
        },
    }


def _logical(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def with_meeting_stack(template: EnvironmentTemplate, reserved: dict[str, int] | None = None) -> EnvironmentTemplate:
    """The environment plus the meeting stack; `reserved` sets a handler's ReservedConcurrentExecutions."""
    reserved = reserved or {}
    resources: dict[str, Any] = {
        "MeetingTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": TABLE,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "MeetingRole": _role(
            "lambda.amazonaws.com",
            [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"],
                    "Resource": {"Fn::GetAtt": ["MeetingTable", "Arn"]},
                }
            ],
        ),
        "MeetingWorkflowRole": _role("states.amazonaws.com", []),
    }
    for handler in HANDLERS:
        resources[f"Meeting{handler.title()}"] = _function(handler, reserved.get(handler))
    bus = f"keel-{template.environment}"
    for name in WORKFLOWS:
        resources[f"Workflow{_logical(name)}"] = _workflow(name)
        resources[f"Rule{_logical(name)}"] = _rule(name, bus)
    stack = StackTemplate(template.environment, "keel-test-meeting", template.account, template.region, {"Resources": resources})
    return template.with_stack(stack)


def meeting_event(workflow: str, name: str, group: str, parties: int = 1) -> dict[str, Any]:
    """An event that starts `workflow` for one party called `name` of `group`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": workflow,
        "source": SOURCE,
        "account": "111111111111",
        "time": "2026-11-22T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"name": name, "group": group, "parties": parties},
    }
