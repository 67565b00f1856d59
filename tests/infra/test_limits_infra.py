"""The limits in the synthesized templates: the limits table, who may touch it and how, and the
limit states in the workflows that declare limits (and in no other)."""

from __future__ import annotations

import json

import pytest

from infra import limit_states
from infra.constructs.function import LIMITS_TABLE_ACTIONS
from tests.infra import template_checks as checks

LIMITS_TABLE = "keel-dev-limits"


def limits_statements(template: dict) -> list[tuple[str, dict]]:
    """Every identity-policy statement that names the limits table, with the policy that holds it."""
    return [
        (owner, statement)
        for owner, statement in checks.identity_policy_statements(template)
        if f"table/{LIMITS_TABLE}" in json.dumps(statement["Resource"])
    ]


def test_the_limits_table_expires_what_nobody_gives_back_and_is_encrypted_and_recoverable(synthesized) -> None:
    # Given the dev platform / When its limits table is read
    template = synthesized.template("dev")
    table = checks.properties(template, checks.find_by(template, "AWS::DynamoDB::Table", "TableName", LIMITS_TABLE))

    # Then items expire on `expires` (what crashed executions hold), with the platform key and PITR
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["pk", "sk"]
    assert table["SSESpecification"]["SSEType"] == "KMS"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_only_modules_that_keep_limits_may_touch_the_table_and_only_one_item_at_a_time(synthesized, repo_root) -> None:
    # Given the dev template, and the modules whose function.yaml asks for the limits table
    template = synthesized.template("dev")
    declared = {
        path.parent.name for path in (repo_root / "functions").glob("*/function.yaml") if "limits_table" in path.read_text()
    }

    # When the statements on the limits table are collected, by the function whose role holds them
    holders = {}
    for owner, statement in limits_statements(template):
        policy = checks.resources(template, "AWS::IAM::Policy")[owner]["Properties"]
        (role,) = checks.referenced_ids(policy["Roles"])
        functions = [
            name
            for name, function in checks.resources(template, "AWS::Lambda::Function").items()
            if checks.referenced_ids(function["Properties"]["Role"]) == {role}
        ]
        holders.setdefault(checks.text(checks.properties(template, functions[0])["FunctionName"]), []).append(statement)

    # Then they belong to those modules' functions only, each with exactly the single-item actions
    assert holders
    assert {name.rsplit("-", 1)[-1] for name in holders} <= declared
    for statements in holders.values():
        assert [sorted(checks.as_list(statement["Action"])) for statement in statements] == [sorted(LIMITS_TABLE_ACTIONS)]
        assert all("Condition" not in statement and "index" not in json.dumps(statement["Resource"]) for statement in statements)


@pytest.mark.parametrize("automation", ["alarm_remediation", "security_finding_response"])
def test_a_remediation_takes_a_slot_to_act_and_gives_it_back_on_every_way_out(synthesized, automation) -> None:
    # Given the remediation's state machine as deployed
    template = synthesized.template("dev")
    definition = checks.definition_of(template, checks.state_machine_id(template, "dev", automation))
    states = definition["States"]

    # Then the slot is taken on the way to Act (after the approval, if any) and given back after Verify
    assert states["Verdict"]["Choices"][0]["Next"] == limit_states.ACQUIRE
    assert states["AskApproval"]["Next"] == limit_states.ACQUIRE
    assert states[limit_states.ACQUIRE]["Next"] == "Act"
    assert states["Verify"]["Next"] == "KeelReleaseConcurrencyBeforeIsResolved"
    # And no transition leaves Act or Verify without giving it back, or enters them without taking it
    for name in ("Act", "WaitForEffect", "Verify"):
        for catcher in states[name].get("Catch", []):
            assert catcher["Next"].startswith(limit_states.RELEASE), (name, catcher)
    entering = [
        name
        for name, state in states.items()
        if state.get("Next") == "Act" or any(c.get("Next") == "Act" for c in state.get("Choices", []) + state.get("Catch", []))
    ]
    assert entering == [limit_states.ACQUIRE]
    # And a rejected or expired plan gives back its cooldown lease and action slot
    assert states["GiveBackRejectedPlan"]["Parameters"]["Payload"]["leases.$"] == "$.guardrails.held"
    assert states["RecordExpired"]["Next"] == "GiveBackExpiredPlan"


def test_alarms_are_debounced_and_other_workflows_carry_only_the_limits_they_declare(synthesized) -> None:
    # Given every automation's state machine in dev
    template = synthesized.template("dev")

    def keel_states(automation: str) -> set[str]:
        definition = checks.definition_of(template, checks.state_machine_id(template, "dev", automation))
        # KeelReleaseClaim is the event claim's, which every workflow has; the limits' states are these.
        limit_prefixes = ("KeelDebounce", "KeelAcquire", "KeelReleaseConcurrency")
        return {name for name in definition["States"] if name.startswith(limit_prefixes)}

    # Then a flapping alarm is debounced by its name, findings are not, and the others have none
    alarm = checks.definition_of(template, checks.state_machine_id(template, "dev", "alarm_remediation"))
    assert alarm["States"]["KeelClaimEvent"]["Next"] == limit_states.DEBOUNCE
    assert alarm["States"][limit_states.DEBOUNCE]["Parameters"]["Payload"]["key.$"] == "$.detail.alarmName"
    assert not {name for name in keel_states("security_finding_response") if name.startswith("KeelDebounce")}
    assert keel_states("platform_heartbeat") == keel_states("ticket_triage") == set()
