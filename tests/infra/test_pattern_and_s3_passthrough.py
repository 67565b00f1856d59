"""What synth now lets through reaches the template as declared: top-level matchers, $or, S3 folder-bounded roles."""

from __future__ import annotations

import json

import pytest
import template_checks as checks
import yaml
from moto.events.models import EventPattern

from infra.asl_validation import validate_definition

NAME = "order_exports"
PATTERN = {
    "source": [{"prefix": "app."}],
    "resources": [{"suffix": "-prod"}],
    "detail-type": ["Order Placed"],
    "detail": {
        "$or": [{"total": [{"numeric": [">", 100, "<=", 5000]}]}, {"priority": [{"equals-ignore-case": "HIGH"}]}],
        "region": [{"anything-but": {"prefix": "us-"}}],
    },
}
EXPORTS = "arn:${AWS::Partition}:s3:::keel-${AWS::AccountId}-exports/orders/*"
SPEC = {
    "description": "Writes an order export.",
    "memory_mb": 256,
    "timeout_seconds": 30,
    "permissions": [
        {"actions": ["s3:PutObject"], "resources": [EXPORTS], "reason": "Writes order exports under the orders/ folder only"}
    ],
}
ASL = {
    "StartAt": "Export",
    "States": {
        "Export": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${write_export}", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["TransientError"], "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"}],
            "End": True,
        }
    },
}


@pytest.fixture(scope="module")
def template(tmp_path_factory, make_temp_repo) -> dict:
    """The dev environment of a repository with one more automation and one more module."""
    repo = make_temp_repo(tmp_path_factory.mktemp("passthrough") / "repo")
    module = repo.root / "functions" / "write_export"
    module.mkdir()
    (module / "__init__.py").write_text("")
    (module / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (module / "function.yaml").write_text(yaml.safe_dump(SPEC))
    manifest = repo.manifest_data(
        name=NAME,
        trigger={"bus": "keel", "event_pattern": PATTERN},
        workflow={"definition": f"{NAME}.asl.json", "type": "standard", "timeout_seconds": 120},
        functions=["write_export"],
    )
    repo.add_automation(manifest, asl=ASL)
    return repo.synthesize(["dev"])["dev"]


def test_the_rule_carries_the_manifests_pattern_and_the_local_matcher_honours_it(template) -> None:
    # Given the synthesized rule of an automation whose pattern uses top-level matchers and $or
    (rule,) = checks.rules_of(template, NAME).values()
    pattern = rule["Properties"]["EventPattern"]

    # Then it is the manifest's pattern exactly
    assert pattern == PATTERN

    # And moto's matcher (the local cloud's) matches on it as EventBridge would
    matcher = EventPattern.load(json.dumps(pattern))
    event = {
        "source": "app.orders",
        "resources": ["arn:aws:shop:eu-west-1:1:store/eu-prod"],
        "detail-type": "Order Placed",
        "detail": {"total": 250, "priority": "low", "region": "eu-west-1"},
    }
    assert matcher.matches_event(event)
    assert not matcher.matches_event({**event, "source": "billing.orders"})
    assert not matcher.matches_event({**event, "resources": ["arn:aws:shop:eu-west-1:1:store/eu-dev"]})
    assert not matcher.matches_event({**event, "detail": {**event["detail"], "total": 50}})
    assert matcher.matches_event({**event, "detail": {**event["detail"], "total": 50, "priority": "High"}})
    assert not matcher.matches_event({**event, "detail": {**event["detail"], "region": "us-east-1"}})


def test_the_deployed_definition_with_the_prologue_is_valid_asl(template) -> None:
    # Given the state machine as synthesized (the team's states behind Keel's prologue)
    (machine,) = (
        resource
        for resource in checks.resources(template, "AWS::StepFunctions::StateMachine").values()
        if NAME in json.dumps(resource["Properties"].get("StateMachineName"))
    )
    definition = json.loads(machine["Properties"]["DefinitionString"])

    # Then it passes the same States Language checks the team's file passed
    assert definition["StartAt"] == "KeelClaimEvent"
    validate_definition(f"{NAME} (synthesized)", definition)


def test_a_folder_bounded_s3_statement_reaches_the_role_unchanged(template) -> None:
    # Given the module's role (synth passed cdk-nag, so its one wildcard finding was acknowledged)
    statements = [
        statement
        for policy in checks.resources(template, "AWS::IAM::Policy").values()
        if "writeexport" in json.dumps(policy["Properties"]["Roles"]).lower()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:PutObject"
    ]

    # Then it grants PutObject on the orders/ folder of the named bucket only, with no condition added
    assert statements == [
        {"Action": "s3:PutObject", "Effect": "Allow", "Resource": {"Fn::Sub": EXPORTS}},
    ]
