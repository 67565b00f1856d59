"""The confidential store on the synthesized templates: who may reach the customer text, and how the
confidential workflow seals it first; manifests that would leave it unsealed do not synthesize."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import template_checks as checks

from infra.app_builder import ROOT
from infra.catalog import load_catalog
from infra.confidential_states import SEAL_FAILED, SEAL_STATE
from infra.config import load_environments
from infra.errors import KeelConfigError

ENVIRONMENTS = load_environments(ROOT / "config" / "environments.yaml")
ENV_NAMES = sorted(ENVIRONMENTS.environments)
CATALOG = load_catalog(ROOT, ENVIRONMENTS)


def function_of_role(template: dict[str, Any]) -> dict[str, str]:
    """Role logical id -> the name of the function that runs with it (state machine roles: the machine's name)."""
    owners = {}
    for resource_type, name_key in (
        ("AWS::Lambda::Function", "FunctionName"),
        ("AWS::StepFunctions::StateMachine", "StateMachineName"),
    ):
        for props in (r["Properties"] for r in checks.resources(template, resource_type).values()):
            owners[props["RoleArn" if "RoleArn" in props else "Role"]["Fn::GetAtt"][0]] = props[name_key]
    return owners


# Actions that list resources and read no item: they take no table ARN, so they are granted on "*"
# (the decision anchor's stream reader lists the decisions table's streams).
NO_ITEM_DATA = {"dynamodb:ListStreams", "dynamodb:ListTables", "dynamodb:DescribeLimits"}


def reaching(template: dict[str, Any], env: str) -> dict[str, set[str]]:
    """Who holds which actions on the confidential table (or on any table pattern that covers it)."""
    # By name (automation stacks reach platform tables by name), or by the table's own logical id
    table_id = checks.find_by(template, "AWS::DynamoDB::Table", "TableName", f"keel-{env}-confidential")
    table = re.compile(rf'table/(keel-{env}-confidential|\*|keel-{env}-\*)("|/)|"{table_id}"')
    owners, reached = function_of_role(template), {}
    for logical_id, statement in checks.identity_policy_statements(template):
        if statement["Effect"] != "Allow":
            continue
        # As JSON: a table's ARN is a string or a Fn::Join, other resources may be Fn::Sub
        resources = [json.dumps(resource) for resource in checks.as_list(statement["Resource"])]
        actions = {action for action in checks.as_list(statement["Action"]) if action.startswith("dynamodb:")} - NO_ITEM_DATA
        if actions and any(resource == '"*"' or table.search(resource) for resource in resources):
            props = template["Resources"][logical_id]["Properties"]
            roles = [role["Ref"] for role in props.get("Roles", [])] or [logical_id]
            for role in roles:
                reached.setdefault(owners.get(role, role), set()).update(actions)
    return reached


def expected_reach(env: str) -> dict[str, set[str]]:
    """What the catalog's function.yaml files ask for, per function instance."""
    actions = {"confidential_write": "dynamodb:PutItem", "confidential_read": "dynamodb:GetItem"}
    expected: dict[str, set[str]] = {}
    for automation in CATALOG.automations:
        for module in automation.manifest.functions:
            asked = {actions[access] for access in CATALOG.functions[module].platform_access if access in actions}
            if asked:
                expected[f"keel-{env}-{automation.name}-{module}"] = asked
    return expected


@pytest.mark.parametrize("env", ENV_NAMES)
def test_only_the_seal_and_the_modules_that_read_tickets_reach_the_customer_text(synthesized, env: str) -> None:
    # Given the environment's template / When every identity policy is read
    reached = reaching(synthesized.template(env), env)

    # Then exactly the instances of the modules that ask for the store reach it, each only with its action
    # (the seal puts, route_ticket gets, triage_ticket both: its replay evidence); no state machine, no
    # other function reaches the table in any way
    assert reached == expected_reach(env)
    assert reached[f"keel-{env}-ticket_triage-seal_confidential"] == {"dynamodb:PutItem"}
    assert reached[f"keel-{env}-ticket_triage-triage_ticket"] == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert reached[f"keel-{env}-ticket_triage-route_ticket"] == {"dynamodb:GetItem"}


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_store_is_encrypted_with_the_platform_key_and_expires_its_items(synthesized, env: str) -> None:
    template = synthesized.template(env)
    table = checks.properties(template, checks.find_by(template, "AWS::DynamoDB::Table", "TableName", f"keel-{env}-confidential"))
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert checks.referenced_ids(table["SSESpecification"]["KMSMasterKeyId"]) & checks.platform_key_ids(template)
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    # And the seal keeps text as long as the environment says
    seal = checks.properties(template, checks.function_id(template, env, "ticket_triage", "seal_confidential"))
    days = str(ENVIRONMENTS.get(env).confidential_retention_days)
    assert seal["Environment"]["Variables"]["KEEL_CONFIDENTIAL_RETENTION_DAYS"] == days


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_confidential_workflow_seals_first_after_the_claim(synthesized, env: str) -> None:
    template = synthesized.template(env)
    definition = checks.definition_of(template, checks.state_machine_id(template, env, "ticket_triage"))
    states = definition["States"]
    assert states["KeelClaimEvent"]["Next"] == SEAL_STATE
    seal = states[SEAL_STATE]
    assert seal["Parameters"]["Payload"]["fields"] == ["subject", "body"]
    # The module's answer becomes the state: the event's text does not go on
    assert (seal["ResultPath"], seal["OutputPath"], seal["Next"]) == ("$", "$.Payload", "Triage")
    assert seal["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": SEAL_FAILED}]
    assert "detail.$" not in states[SEAL_FAILED]["Parameters"]
    # And an automation that is not confidential has no seal
    heartbeat = checks.definition_of(template, checks.state_machine_id(template, env, "platform_heartbeat"))
    assert SEAL_STATE not in heartbeat["States"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data_classification": "confidential"}, "confidential_text: a confidential automation names the fields"),
        ({"confidential_text": ["body"]}, "confidential_text: only confidential or restricted automations keep text apart"),
        (
            {"data_classification": "restricted", "confidential_text": ["body", "body"]},
            "listed more than once: body",
        ),
        ({"data_classification": "restricted", "confidential_text": ["$.body"]}, "is not a dotted path of the event's detail"),
    ],
)
def test_a_manifest_that_would_leave_text_unsealed_does_not_synthesize(temp_repo, changes, message) -> None:
    # Given a manifest whose classification and confidential_text disagree / When the catalog loads
    temp_repo.add_automation(temp_repo.manifest_data(**changes))
    # Then synth stops naming the field
    with pytest.raises(KeelConfigError, match=re.escape(message)):
        temp_repo.load_catalog()


def test_text_kept_shorter_than_a_workflow_runs_does_not_synthesize(temp_repo) -> None:
    # Given an environment keeping confidential text 1 day, and a confidential workflow running up to 2
    environments = temp_repo.environments_data()
    for env in environments["environments"].values():
        env["confidential_retention_days"] = 1
    temp_repo.write_environments(environments)
    manifest = temp_repo.manifest_data(data_classification="confidential", confidential_text=["body"])
    manifest["workflow"]["timeout_seconds"] = 2 * 86_400
    temp_repo.add_automation(manifest)
    # When the catalog loads / Then synth says the text would expire under it
    with pytest.raises(KeelConfigError, match=r"runs longer than environment '.*' keeps confidential text"):
        temp_repo.load_catalog()


def test_every_confidential_automation_of_the_catalog_says_what_text_it_seals() -> None:
    for automation in CATALOG.automations:
        manifest = automation.manifest
        assert (manifest.confidential_text is not None) == manifest.confidential, manifest.name
