"""The manifest's rollout and shadow (infra/manifest.py) and the shadow run's definition (infra/shadow.py)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import asl
from infra.errors import KeelConfigError
from infra.manifest import Manifest
from infra.shadow import shadow_definition
from tests.conftest import VALID_MANIFEST


def manifest(**changes: Any) -> Manifest:
    data = copy.deepcopy(VALID_MANIFEST)
    data.update(changes)
    return Manifest.model_validate(data)


def test_a_manifest_without_rollout_ships_all_at_once_in_dev_and_as_a_canary_in_prod() -> None:
    # Given a manifest that says nothing of rollout
    # When its settings are resolved per environment
    plain = manifest()

    # Then dev moves at once and prod sends 10% first for 30 minutes
    assert plain.resolved_for("dev").rollout.strategy == "all_at_once"
    prod = plain.resolved_for("prod").rollout
    assert (prod.strategy, prod.percent, prod.interval_minutes) == ("canary", 10, 30)


def test_an_environment_rollout_overrides_the_automations() -> None:
    # Given a linear rollout for the automation and a canary for staging
    declared = manifest(
        rollout={"strategy": "linear", "percent": 20, "interval_minutes": 5},
        environments={"staging": {"rollout": {"strategy": "canary", "percent": 50, "interval_minutes": 10}}},
    )

    # When resolved
    # Then staging has its own, every other environment the automation's
    assert declared.resolved_for("staging").rollout.strategy == "canary"
    assert declared.resolved_for("prod").rollout.model_dump() == {"strategy": "linear", "percent": 20, "interval_minutes": 5}


@pytest.mark.parametrize(
    ("rollout", "complaint"),
    [
        ({"strategy": "all_at_once", "percent": 10}, "percent and interval_minutes are for canary and linear"),
        ({"strategy": "canary", "percent": 100}, "less than or equal to 99"),
        ({"strategy": "linear", "interval_minutes": 0}, "greater than or equal to 1"),
        ({"strategy": "blue_green"}, "'canary', 'linear' or 'all_at_once'"),
    ],
)
def test_a_rollout_aws_would_refuse_is_rejected(rollout: dict[str, Any], complaint: str) -> None:
    # Given a rollout with a share or strategy the deployment preference does not take
    # When the manifest is read
    # Then it is refused, saying why
    with pytest.raises(ValueError, match=complaint):
        manifest(rollout=rollout)


def test_a_shadow_of_another_version_than_the_manifests_is_rejected(temp_repo: Any) -> None:
    # Given a manifest at 1.0.0 whose shadow names 2.0.0
    temp_repo.add_automation(temp_repo.manifest_data(shadow={"version": "2.0.0"}))

    # When the catalog loads
    with pytest.raises(KeelConfigError) as caught:
        temp_repo.load_catalog()

    # Then the error names the field and the version it must be
    assert caught.value.field == "shadow.version"
    assert "must be this manifest's version (1.0.0)" in caught.value.message


DEFINITION: dict[str, Any] = {
    "StartAt": "Decide",
    "States": {
        "Decide": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Tell"},
        "Tell": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "${KeelOncallTopic}", "Message": "done"},
            "ResultPath": "$.told",
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Emit",
                    "States": {"Emit": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents", "End": True}},
                }
            ],
            "End": True,
        },
    },
}


def test_the_shadow_run_decides_in_dry_run_and_tells_nobody() -> None:
    # Given a workflow that decides, then publishes to on-call and puts an event (in a branch)
    context = {"automation": "sample_automation", "dry_run": False, "version": "2.0.0"}

    # When it is made into the candidate's shadow run
    shadowed = shadow_definition(DEFINITION, "sample_automation", context)
    states = shadowed["States"]

    # Then it decides as written, its notifications are Pass states that keep the flow, and its
    # context says dry run and shadow; its event claim is its own
    assert states["Decide"] == DEFINITION["States"]["Decide"]
    assert states["Tell"]["Type"] == "Pass"
    assert states["Tell"]["Next"] == "Both"
    assert states["Tell"]["ResultPath"] == "$.told"
    assert states["Both"]["Branches"][0]["States"]["Emit"]["Type"] == "Pass"
    claim = states[asl.CLAIM_STATE]
    assert claim["ResultSelector"] == context | {"dry_run": True, "shadow": True}
    assert "claim#sample_automation#shadow#" in claim["Parameters"]["Item"]["id"]["S.$"]
    assert DEFINITION["States"]["Tell"]["Type"] == "Task"  # the live definition is untouched


def test_the_readmes_rollout_and_shadow_example_is_valid() -> None:
    # Given the README's rollout and shadow block
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL) if b.startswith("# automations/"))

    # When it is part of a manifest at the version its shadow names
    declared = manifest(version="2.0.0", **yaml.safe_load(block))

    # Then prod gets its canary, staging its linear rollout, and the deploy runs 2.0.0 in shadow
    assert declared.resolved_for("prod").rollout.model_dump() == {"strategy": "canary", "percent": 10, "interval_minutes": 30}
    assert declared.resolved_for("staging").rollout.strategy == "linear"
    assert declared.shadow is not None
    assert declared.shadow.version == "2.0.0"


def test_the_writer_records_the_state_machine_version_and_alias_of_each_decisions_execution() -> None:
    # Given an execution started through the live alias on version 3, and an operator's move of the alias
    from functions.record_decision import logic
    from functions.shared.domain.decisions import Decision
    from tests.support.fake_dependencies import FakeExecutionVersions, record_decision_dependencies
    from tests.support.keel_context import keel_fields

    machine = "arn:aws:states:eu-west-1:111111111111:stateMachine:keel-dev-alarm_remediation"
    execution = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:run-1"
    versions = FakeExecutionVersions({execution: (f"{machine}:3", f"{machine}:live")})
    deps = record_decision_dependencies(versions=versions)
    task = logic.RecordInput.model_validate(
        {
            "event_id": "event-1",
            "execution": execution,
            "keel": keel_fields(automation="alarm_remediation"),
            "step": "Decide",
            "action": "restart",
            "outcome": "planned",
            "reason": "runbook matched",
        }
    )
    move = Decision(
        automation="alarm_remediation",
        automation_version="version 2",
        environment="dev",
        event_id="rollback-1",
        execution_arn=f"{machine}:live",
        step="operator:rollback",
        action="rollback",
        outcome="taken",
        reason="slow restarts",
        input_digest="sha256:0",
    )

    # When the writer records the execution's decision and the operator's move
    recorded = logic.record_decision(task, deps)
    [moved] = logic.record_handed(logic.HandedDecision(handed=[move]), deps)

    # Then the execution's decision names its version and alias; the move names none and asks nothing
    assert (recorded.decision.state_machine_version, recorded.decision.state_machine_alias) == (f"{machine}:3", f"{machine}:live")
    assert (moved.decision.state_machine_version, moved.decision.state_machine_alias) == (None, None)
    assert versions.asked == [execution]
