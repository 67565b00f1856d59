"""Event contracts in the synthesized templates: one schema registry per environment holding every
contract version as JSON schema draft 4, and the workflows check what they consume and emit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.shared.contracts import CONTRACTS
from infra import names
from tests.infra import template_checks as checks

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_publishes_every_contract_version_to_its_registry(synthesized: Any, environment: str) -> None:
    # Given the environment's templates
    template = synthesized.template(environment)

    # When its schema registries and schemas are found
    registries = checks.resources(template, "AWS::EventSchemas::Registry")
    schemas = {
        props["SchemaName"]: props
        for props in (r["Properties"] for r in checks.resources(template, "AWS::EventSchemas::Schema").values())
    }

    # Then one registry, and one draft 4 schema per contract version in it, as the contract's JSON schema says
    assert [r["Properties"]["RegistryName"] for r in registries.values()] == [names.schema_registry(environment)]
    assert sorted(schemas) == sorted(names.event_schema(c.source, c.detail_type, c.major) for c in CONTRACTS)
    signed_up = schemas["app.accounts@UserSignedUp-v1"]
    assert signed_up["Type"] == "JSONSchemaDraft4"
    assert signed_up["RegistryName"] == names.schema_registry(environment)
    content = json.loads(signed_up["Content"])
    assert content["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert content["properties"]["source"] == {"enum": ["app.accounts"], "type": "string"}
    assert content["properties"]["detail"] == {"$ref": "#/definitions/UserSignedUp"}
    assert "$defs" not in json.dumps(content)
    assert set(content["definitions"]["UserSignedUp"]["required"]) == {"user_id", "email", "name", "plan", "signed_up_at"}


def test_the_workflows_check_the_event_they_consume_first_and_the_event_they_put_before_the_put(synthesized: Any) -> None:
    # Given user_onboarding's state machine in dev
    template = synthesized.template("dev")
    definition = checks.definition_of(template, checks.state_machine_id(template, "dev", "user_onboarding"))
    states = definition["States"]

    # Then the claim hands over to the consumed event's check, which hands over to the author's first state
    claim = states[definition["StartAt"]]
    check = states[claim["Next"]]
    assert claim["Next"] == "KeelCheckEvent"
    assert check["Parameters"]["Payload"]["contract"] == "user_signed_up"
    assert check["Parameters"]["Payload"]["event.$"] == "$"
    assert check["Next"] == "Begin"
    assert check["Catch"][0]["Next"] == "KeelRecordFailure"

    # And every way to EmitOnboarded goes through its check, whose answer is what the put sends
    into_put = [name for name, state in states.items() if state.get("Next") == "EmitOnboarded"]
    assert into_put == ["KeelCheckEmitOnboarded"]
    assert states["KeelCheckEmitOnboarded"]["Parameters"]["Payload"]["contract"] == "user_onboarded"
    entry = states["EmitOnboarded"]["Parameters"]["Entries"][0]
    assert entry["Detail.$"] == "$.keel_checked.detail"
    assert "Detail" not in entry
