"""Shared fixtures for the end-to-end tests on the local cloud.

The real app is synthesized once per test session (tests/conftest.py) into a temporary cloud assembly.
Test-only workflows (tests/local/fixtures/*.asl.json) are added to a copy of that template, wired
the way the platform wires automations (a rule on the keel bus targeting the state machine), so the
engine's behaviour (virtual clock, task tokens) is tested without changing the app.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keel.local.eventbridge import EventFile, load_event_file
from keel.local.template import EnvironmentTemplate, StackTemplate, load_environment

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
HEARTBEAT_EVENT = ROOT / "events" / "platform_heartbeat" / "scheduled.json"
TEST_SOURCE = "keel.tests"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never real AWS: fake credentials and a region for anything a test builds outside the cloud."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture(scope="session")
def assembly(synthesized: Any) -> Path:
    """The session's cloud assembly of the real app (tests/conftest.py synthesizes it once for every worker)."""
    outdir: Path = synthesized.outdir
    return outdir


@pytest.fixture(scope="session")
def dev_template(assembly: Path) -> EnvironmentTemplate:
    return load_environment(assembly, "dev")


@pytest.fixture
def heartbeat_event() -> EventFile:
    return load_event_file(HEARTBEAT_EVENT)


def edited(template: EnvironmentTemplate, edit: Callable[[dict[str, Any]], None]) -> EnvironmentTemplate:
    """A copy of the environment with `edit` applied to every resource of every stack."""
    stacks = []
    for stack in template.stacks:
        body = copy.deepcopy(stack.body)
        for resource in body.get("Resources", {}).values():
            edit(resource)
        stacks.append(dataclasses.replace(stack, body=body))
    return dataclasses.replace(template, stacks=tuple(stacks))


def with_test_workflow(template: EnvironmentTemplate, name: str) -> EnvironmentTemplate:
    """The environment plus a stack of its own for the workflow tests/local/fixtures/<name>.asl.json,
    started by events from keel.tests on the keel bus, as an automation stack reaches the platform: by name."""
    resources: dict[str, Any] = {
        "TestQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"keel-test-{name}"}},
        "TestRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            },
        },
        "TestWorkflow": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": f"keel-test-{name}",
                "DefinitionString": (FIXTURES / f"{name}.asl.json").read_text(),
                "DefinitionSubstitutions": {"ApprovalQueue": {"Ref": "TestQueue"}},
                "RoleArn": {"Fn::GetAtt": ["TestRole", "Arn"]},
                "Tags": [{"Key": "keel:automation", "Value": f"test_{name}"}],
            },
        },
        "TestRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": f"keel-test-{name}",
                "EventBusName": f"keel-{template.environment}",
                "EventPattern": {"source": [TEST_SOURCE], "detail-type": [name]},
                "Targets": [{"Id": "Target0", "Arn": {"Ref": "TestWorkflow"}, "RetryPolicy": {"MaximumRetryAttempts": 2}}],
            },
        },
    }
    stack = StackTemplate(template.environment, f"keel-test-{name}", template.account, template.region, {"Resources": resources})
    return template.with_stack(stack)


def custom_event(detail_type: str, event_id: str = "11111111-2222-3333-4444-555555555555") -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": TEST_SOURCE,
        "account": "111111111111",
        "time": "2026-11-22T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"reason": "test"},
    }


def started(cloud: Any, event: dict[str, Any], automation: str) -> str:
    """Deliver the event; the execution it started of `automation`. Other automations may take the
    same event (as a catalog grows, many teams listen to alarms or tickets): theirs run, unreturned."""
    machine = f":stateMachine:keel-{cloud.template.environment}-{automation}"
    [execution] = [delivery.execution_arn for delivery in cloud.deliver(event) if delivery.target.endswith(machine)]
    assert execution is not None, f"{automation} did not start"
    return execution


@pytest.fixture
def write_event(tmp_path: Path) -> Any:
    """Write an event (or any text) to a file and return its path."""

    def write(content: dict[str, Any] | str, name: str = "event.json") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    return write
