"""Who may touch the decision record, read from the synthesized templates: every IAM statement of every
role, in every environment, that names the decisions table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import names
from tests.infra import template_checks as checks

# What the one writer may do: read a chain's head and markers, create items (transactions are made of Puts).
APPEND = {"dynamodb:GetItem", "dynamodb:PutItem"}
RECORD_DECISION = "record_decision"
# The anchor's stream poller reads the table's stream: it changes nothing in the table.
STREAM_READ = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
# A reader of the record (platform_access decisions_read: the advisor drift watch) reads the chains only.
CHAIN_READ = {"dynamodb:GetItem", "dynamodb:Query"}
READ_CHAINS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["chain#*"]}}
ENVIRONMENTS = ("dev", "staging", "prod")


def names_decisions_table(statement: dict[str, Any], template: dict[str, Any], environment: str) -> bool:
    text = json.dumps(statement.get("Resource", ""))
    table_ids = {key for key, value in checks.resources(template, "AWS::DynamoDB::Table").items() if "Decisions" in key}
    return names.table(environment, "decisions") in text or bool(table_ids & checks.referenced_ids(statement.get("Resource")))


def roles_of(template: dict[str, Any], owner: str) -> set[str]:
    resource = template["Resources"][owner]
    if resource["Type"] == "AWS::IAM::Role":
        return {owner}
    return checks.referenced_ids(resource["Properties"].get("Roles", []))


def function_of_role(template: dict[str, Any], role: str) -> str:
    """The function name whose role this is (Keel names every function)."""
    for props in (value["Properties"] for value in checks.resources(template, "AWS::Lambda::Function").values()):
        if role in checks.referenced_ids(props.get("Role")):
            return str(props.get("FunctionName", ""))
    return ""


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_role_can_update_or_delete_a_decision_and_only_each_writer_appends_its_own(synthesized, environment) -> None:
    # Given every identity policy statement on the decisions table, in the environment's stacks
    template = synthesized.template(environment)
    on_table = [
        (owner, statement)
        for owner, statement in checks.identity_policy_statements(template)
        if names_decisions_table(statement, template, environment)
    ]
    writers: set[str] = set()
    readers: set[str] = set()

    # When each is read / Then none is broader than an append or a read of the chains, and each append is a record_decision
    # instance's, held to its own automation's partitions by dynamodb:LeadingKeys
    assert on_table
    for owner, statement in on_table:
        actions = set(checks.as_list(statement["Action"]))
        assert statement["Effect"] == "Allow"
        if actions <= STREAM_READ:
            assert "StreamArn" in json.dumps(statement["Resource"]), owner
            continue
        if actions == {"dynamodb:Query"} and statement["Condition"] != READ_CHAINS_ONLY:
            # A retraining module reads (never writes) the chain of the automation it retrains, and nothing else
            assert "/index/" not in json.dumps(statement["Resource"]), owner
            assert statement["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["chain#ticket_triage"]}}
            assert all(function_of_role(template, role).endswith("-retrain_advisor") for role in roles_of(template, owner))
            continue
        if "dynamodb:Query" in actions:
            assert actions <= CHAIN_READ, (owner, actions)
            assert statement["Condition"] == READ_CHAINS_ONLY, owner
            readers.add(owner)
            continue
        assert actions <= APPEND, (owner, actions)
        for role in roles_of(template, owner):
            function = function_of_role(template, role)
            automation = function.removeprefix(f"{names.prefix(environment)}-").removesuffix(f"-{RECORD_DECISION}")
            assert function.endswith(f"-{RECORD_DECISION}"), (owner, function)
            assert statement["Condition"] == {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"chain#{automation}", f"step#{automation}#*"]}
            }
            writers.add(automation)
    # every automation that records has its own writer; the drift watch reads the chains
    assert writers >= {"alarm_remediation", "security_finding_response"}
    assert [reader for reader in readers if "advisordriftwatch" in reader.lower()]


def test_modules_hand_their_decisions_to_their_own_automations_writer(synthesized) -> None:
    # Given the dev template / When the check_guardrails role of alarm_remediation is read
    template = synthesized.template("dev")
    function = checks.properties(template, checks.function_id(template, "dev", "alarm_remediation", "check_guardrails"))
    (role,) = checks.referenced_ids(function["Role"])
    statements = [s for owner, s in checks.identity_policy_statements(template) if role in roles_of(template, owner)]
    invokes = [s for s in statements if "lambda:InvokeFunction" in checks.as_list(s["Action"])]

    # Then it may invoke its automation's record_decision and nothing else, and reads overrides only
    writer = names.function("dev", "alarm_remediation", RECORD_DECISION)
    assert [json.dumps(s["Resource"]).count(writer) for s in invokes] == [1]
    assert function["Environment"]["Variables"]["KEEL_DECISION_WRITER"] == writer
    overrides = [s for s in statements if names.table("dev", "overrides") in json.dumps(s["Resource"])]
    assert overrides
    assert all(set(checks.as_list(s["Action"])) <= {"dynamodb:GetItem", "dynamodb:Query"} for s in overrides)
