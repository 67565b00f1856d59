"""A manifest binds a shared workflow to its own modules, and names its failure path; the catalog
checks both and hands infra the definition as it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.catalog import load_catalog
from infra.config import load_environments
from infra.errors import KeelConfigError
from infra.workflow_defaults import FAILURE_STATES, RECORD_FAILURE


def shared_asl(temp_repo: Any) -> dict[str, Any]:
    asl = temp_repo.asl_data()
    asl["States"]["Beat"]["Parameters"]["FunctionName"] = "${beat}"
    return asl


def with_workflow(temp_repo: Any, **workflow: Any) -> dict[str, Any]:
    manifest = temp_repo.manifest_data()
    manifest["workflow"] |= workflow
    return manifest


def refusal(temp_repo: Any) -> KeelConfigError:
    with pytest.raises(KeelConfigError) as caught:
        temp_repo.load_catalog()
    assert "\n" not in str(caught.value)
    return caught.value


def test_the_remediation_automations_share_one_workflow_each_with_its_acting_module(repo_root: Path) -> None:
    catalog = load_catalog(repo_root, load_environments(repo_root / "config" / "environments.yaml"))
    automations = {automation.name: automation for automation in catalog.automations}
    alarm, finding = automations["alarm_remediation"], automations["security_finding_response"]

    assert alarm.manifest.workflow.definition == finding.manifest.workflow.definition == "remediation.asl.json"
    assert alarm.definition["States"]["Act"]["Parameters"]["FunctionName"] == "${remediate_service}"
    assert finding.definition["States"]["Act"]["Parameters"]["FunctionName"] == "${contain_threat}"


def test_every_automation_runs_with_a_failure_path_that_records_and_tells(repo_root: Path) -> None:
    catalog = load_catalog(repo_root, load_environments(repo_root / "config" / "environments.yaml"))

    for automation in catalog.automations:
        states = automation.definition["States"]
        assert set(FAILURE_STATES) <= set(states), automation.name
        assert "record_decision" in automation.manifest.functions
        top_level_tasks = [state for state in states.values() if state["Type"] == "Task"]
        assert all(any("States.ALL" in c["ErrorEquals"] for c in state["Catch"]) for state in top_level_tasks)


def test_a_bound_placeholder_becomes_the_modules_substitution(temp_repo) -> None:
    temp_repo.add_automation(with_workflow(temp_repo, substitutions={"beat": "emit_heartbeat"}), asl=shared_asl(temp_repo))

    [automation] = [a for a in temp_repo.load_catalog().automations if a.name == "sample_automation"]

    beat = automation.definition["States"]["Beat"]
    assert beat["Parameters"]["FunctionName"] == "${emit_heartbeat}"
    assert beat["Catch"][0]["Next"] == RECORD_FAILURE


@pytest.mark.parametrize(
    ("substitutions", "field", "message"),
    [
        (
            {"beat": "classify_ticket"},
            "workflow.substitutions.beat",
            "'classify_ticket' is not one of this automation's functions",
        ),
        ({"beat": "emit_heartbeat", "spare": "emit_heartbeat"}, "workflow.substitutions.spare", "has no ${spare} to substitute"),
        ({"KeelEventBus": "emit_heartbeat"}, "workflow.substitutions", "must be lower-case"),
        ({"emit_heartbeat": "emit_heartbeat"}, "workflow.substitutions.emit_heartbeat", "already a substitution"),
    ],
)
def test_a_wrong_binding_is_refused_naming_it(temp_repo, substitutions: dict[str, str], field: str, message: str) -> None:
    path = temp_repo.add_automation(with_workflow(temp_repo, substitutions=substitutions), asl=shared_asl(temp_repo))

    error = refusal(temp_repo)

    assert (error.path, error.field) == (str(path), field)
    assert message in error.message


def test_a_failure_state_that_does_not_exist_is_refused(temp_repo) -> None:
    path = temp_repo.add_automation(with_workflow(temp_repo, failure={"state": "Cleanup"}))

    error = refusal(temp_repo)

    assert (error.path, error.field) == (str(path), "workflow.failure.state")
    assert "'Cleanup' is not a top-level state" in error.message


def test_notify_is_refused_beside_a_failure_path_of_the_authors(temp_repo) -> None:
    path = temp_repo.add_automation(with_workflow(temp_repo, failure={"state": "Beat", "notify": "escalation"}))

    error = refusal(temp_repo)

    assert (error.path, error.field) == (str(path), "workflow.failure")
    assert "notify is for Keel's failure path" in error.message


def test_keels_state_names_are_reserved(temp_repo) -> None:
    asl = temp_repo.asl_data()
    asl["States"]["Beat"]["Next"] = "KeelFailed"
    del asl["States"]["Beat"]["End"]
    asl["States"]["KeelFailed"] = {"Type": "Fail"}
    path = temp_repo.add_automation(asl=asl)

    error = refusal(temp_repo)

    assert (error.path, error.field) == (str(path), "workflow.definition")
    assert "'KeelFailed' is reserved" in error.message
