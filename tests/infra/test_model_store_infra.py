"""The model store on the synthesized templates: its table, and who may read and write which of its items
(and which automation's decisions the retraining reads); function.yaml's `retrains` is checked at load."""

from __future__ import annotations

import json
from typing import Any

import pytest
import template_checks as checks
from pydantic import ValidationError
from test_confidential_store import function_of_role

from infra.function_spec import FunctionSpec


def statements_on(template: dict[str, Any], table: str) -> dict[str, list[dict[str, Any]]]:
    """Function name -> its Allow statements naming the table (by ARN)."""
    owners, found = function_of_role(template), {}
    for logical_id, statement in checks.identity_policy_statements(template):
        if statement["Effect"] == "Allow" and f"table/{table}" in json.dumps(statement["Resource"]):
            for role in template["Resources"][logical_id]["Properties"].get("Roles", []):
                found.setdefault(owners.get(role["Ref"], role["Ref"]), []).append(statement)
    return found


def test_the_model_store_is_encrypted_with_the_platform_key_recoverable_and_retained(synthesized) -> None:
    template = synthesized.template("dev")
    logical_id = checks.find_by(template, "AWS::DynamoDB::Table", "TableName", "keel-dev-models")
    table = checks.properties(template, logical_id)
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert checks.referenced_ids(table["SSESpecification"]["KMSMasterKeyId"]) & checks.platform_key_ids(template)
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert template["Resources"][logical_id]["DeletionPolicy"] == "Retain"


def test_only_retraining_writes_models_and_the_shadow_pointer_and_triage_reads_its_own(synthesized) -> None:
    # Given the dev template / When the statements on the model store are read
    reached = statements_on(synthesized.template("dev"), "keel-dev-models")

    # Then two functions reach it: retraining writes ticket_triage's models and shadow pointer (never the live
    # one), triage reads its own automation's items only
    assert set(reached) == {"keel-dev-advisor_retraining-retrain_advisor", "keel-dev-ticket_triage-triage_ticket"}
    [write] = reached["keel-dev-advisor_retraining-retrain_advisor"]
    assert sorted(write["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem"]
    keys = write["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert keys == ["model#ticket_triage#*", "pointer#ticket_triage#shadow"]
    [read] = reached["keel-dev-ticket_triage-triage_ticket"]
    assert read["Action"] == "dynamodb:GetItem"
    own = ["model#ticket_triage#*", "pointer#ticket_triage#*"]
    assert read["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == own


def test_retraining_queries_only_ticket_triage_s_decision_chain(synthesized) -> None:
    # Given the statements on the decisions table of the retraining function
    reached = statements_on(synthesized.template("dev"), "keel-dev-decisions")
    [query] = reached["keel-dev-advisor_retraining-retrain_advisor"]

    # Then it may Query (no write, no index) ticket_triage's chain partition only
    assert query["Action"] == "dynamodb:Query"
    assert query["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["chain#ticket_triage"]}}
    assert "/index/" not in json.dumps(query["Resource"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"platform_access": ["models_write"]}, "models_write needs `retrains`"),
        ({"retrains": ["ticket_triage"]}, "`retrains` is for modules with models_write"),
        ({"platform_access": ["models_write"], "retrains": ["Ticket Triage"]}, "'Ticket Triage' is not an automation name"),
    ],
)
def test_retrains_goes_with_models_write(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FunctionSpec(module="x_module", description="x", memory_mb=128, timeout_seconds=1, **spec)
