"""What limits.concurrency and trigger.debounce add to a workflow (infra/limit_states.py), and the
manifest fields that declare them."""

from __future__ import annotations

import copy
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from infra import limit_states, workflow_defaults
from infra.asl_validation import validate_definition
from infra.errors import KeelConfigError, from_validation_error
from infra.manifest import Manifest
from tests.conftest import VALID_MANIFEST

PATH = Path("automations/sample_automation.yaml")
TASK = "arn:aws:states:::lambda:invoke"
# Decide -> Route -> (Act -> Verify -> Done) or Skip; Act's own catcher leads to Cleanup.
WORKFLOW: dict[str, Any] = {
    "StartAt": "Decide",
    "States": {
        "Decide": {"Type": "Task", "Resource": TASK, "Parameters": {"FunctionName": "${emit_heartbeat}"}, "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Act"}],
            "Default": "Skip",
        },
        "Act": {
            "Type": "Task",
            "Resource": TASK,
            "Parameters": {"FunctionName": "${emit_heartbeat}"},
            "Catch": [{"ErrorEquals": ["DependencyError"], "ResultPath": "$.error", "Next": "Cleanup"}],
            "Next": "Verify",
        },
        "Verify": {"Type": "Task", "Resource": TASK, "Parameters": {"FunctionName": "${emit_heartbeat}"}, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
        "Skip": {"Type": "Pass", "End": True},
        "Cleanup": {"Type": "Pass", "End": True},
    },
}


def manifest(limits: dict[str, Any] | None = None, debounce: dict[str, Any] | None = None, **changes: Any) -> Manifest:
    data = copy.deepcopy(VALID_MANIFEST) | changes
    if limits is not None:
        data["limits"] = limits
    if debounce is not None:
        data["trigger"] = {**data["trigger"], "debounce": debounce}
    return Manifest.model_validate(data)


def limited(limits: dict[str, Any] | None = None, debounce: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """The workflow with Keel's limit states, then Keel's defaults, as synth builds it."""
    declared = manifest(limits, debounce, **changes)
    with_limits = limit_states.with_limit_states(PATH, declared, copy.deepcopy(WORKFLOW))
    modules = [*declared.functions, *limit_states.modules_for(declared)]
    plan = workflow_defaults.WorkflowPlan(modules=dict.fromkeys(modules, "idempotent"), failure_state=None, notify="oncall")
    return workflow_defaults.with_defaults(with_limits, plan)


def section_leaks(definition: dict[str, Any], section: set[str]) -> list[str]:
    """Transitions that leave the section without a release first, or enter it other than through the acquire."""
    states = definition["States"]
    leaks = []
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [item.get("Next") for key in ("Choices", "Catch") for item in state.get(key, [])]
        for target in filter(None, targets):
            if name in section and target not in section and not target.startswith(limit_states.RELEASE):
                leaks.append(f"{name} -> {target} leaves without a release")
            if name not in section and target in section and name != limit_states.ACQUIRE:
                leaks.append(f"{name} -> {target} enters without the acquire")
        if name in section and state.get("End"):
            leaks.append(f"{name} ends the workflow holding its slot")
    return leaks


def test_a_section_takes_its_slot_at_its_start_and_gives_it_back_on_every_way_out() -> None:
    # Given a concurrency limit on Act..Verify
    # When the limit states are added (then Keel's defaults, as synth does)
    definition = limited({"concurrency": {"max": 3, "section": {"from": "Act", "to": "Verify"}}})
    states = definition["States"]

    # Then the Choice leads to the acquire, which leads to Act
    assert states["Route"]["Choices"][0]["Next"] == limit_states.ACQUIRE
    assert states[limit_states.ACQUIRE]["Next"] == "Act"
    # And every way out gives the slot back first: after Verify, at the end of what Act's own catcher
    # leads to (Cleanup is inside: Act reaches it before Verify), and on any failure
    assert states["Verify"]["Next"] == "KeelReleaseConcurrencyBeforeDone"
    assert states["Act"]["Catch"][0]["Next"] == "Cleanup"
    assert states["Cleanup"]["Next"] == "KeelReleaseConcurrencyAfterCleanup"
    assert states["Act"]["Catch"][-1]["Next"] == "KeelReleaseConcurrencyBeforeKeelRecordFailure"
    assert states["KeelReleaseConcurrencyBeforeKeelRecordFailure"]["Next"] == workflow_defaults.RECORD_FAILURE
    assert section_leaks(definition, {"Act", "Verify", "Cleanup"}) == []
    # And a release that cannot run goes on to where the workflow was going, keeping its state
    release = states["KeelReleaseConcurrencyBeforeDone"]
    assert release["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Done"}]
    assert (release["ResultPath"], release["Parameters"]["Payload"]["lease.$"]) == (None, "$.keel_concurrency")
    # And Step Functions would take the definition
    validate_definition(PATH, definition)


def test_the_limit_and_key_come_from_the_context_and_the_manifest_and_waiting_is_bounded() -> None:
    # Given a limit per alarm with at most two minutes of waiting
    definition = limited({"concurrency": {"max": 2, "key": "$.detail.alarmName", "max_wait_seconds": 120}})
    acquire = definition["States"][limit_states.ACQUIRE]

    # Then the acquire asks for this environment's max, the event's key, and a lease of the workflow's timeout
    assert acquire["Parameters"]["Payload"]["limit"] == {
        "max.$": "$.keel.limits.max_concurrency",
        "lease_seconds": 120,
        "key.$": "$.detail.alarmName",
    }
    # And it retries a full limit with backoff whose delays add up to no more than the declared wait
    retry = acquire["Retry"][0]
    assert (retry["ErrorEquals"], retry["MaxAttempts"], retry["MaxDelaySeconds"]) == (["ConcurrencyLimitReached"], 4, 60)
    # And then records, pages the owner and ends as concurrency_limited
    assert acquire["Catch"][0] == {
        "ErrorEquals": ["ConcurrencyLimitReached"],
        "ResultPath": "$.error",
        "Next": "KeelRecordConcurrencyLimited",
    }
    states = definition["States"]
    assert states["KeelRecordConcurrencyLimited"]["Next"] == "KeelNotifyConcurrencyLimited"
    assert states["KeelNotifyConcurrencyLimited"]["Parameters"]["TopicArn"] == "${KeelOncallTopic}"
    assert states["KeelConcurrencyLimited"]["Parameters"]["outcome"] == "concurrency_limited"


@pytest.mark.parametrize(("max_wait", "attempts"), [(0, 0), (4, 0), (5, 1), (35, 3), (300, 7), (3600, 62)])
def test_the_wait_for_a_slot_never_exceeds_what_the_manifest_allows(max_wait: int, attempts: int) -> None:
    # Given a declared wait / When turned into retries (5 s doubling, at most 60 s apart) / Then their sum fits it
    assert limit_states.wait_attempts(max_wait) == attempts


def test_max_concurrency_alone_covers_the_whole_workflow() -> None:
    # Given the shorthand of earlier manifests
    definition = limited({"max_concurrency": 4})
    states = definition["States"]

    # Then the workflow starts by taking a slot and every end gives it back
    assert definition["StartAt"] == limit_states.ACQUIRE
    assert states[limit_states.ACQUIRE]["Next"] == "Decide"
    assert {states[name]["Next"] for name in ("Done", "Skip", "Cleanup")} == {
        "KeelReleaseConcurrencyAfterDone",
        "KeelReleaseConcurrencyAfterSkip",
        "KeelReleaseConcurrencyAfterCleanup",
    }
    assert states["KeelReleaseConcurrencyAfterDone"]["Next"] == limit_states.SECTION_END
    assert section_leaks(definition, set(WORKFLOW["States"])) == []
    validate_definition(PATH, definition)


def test_a_debounced_workflow_registers_waits_and_runs_only_the_latest() -> None:
    # Given a debounce on the alarm's name (and a concurrency limit on the whole workflow)
    definition = limited({"max_concurrency": 1}, {"key": "$.detail.alarmName", "window_seconds": 60, "max_wait_seconds": 300})
    states = definition["States"]

    # Then the workflow registers, waits as long as it is told, settles, and only the latest goes on to take its slot
    assert definition["StartAt"] == limit_states.DEBOUNCE
    register = states[limit_states.DEBOUNCE]["Parameters"]["Payload"]
    assert {key: register[key] for key in ("phase", "key.$", "window_seconds", "max_wait_seconds")} == {
        "phase": "register",
        "key.$": "$.detail.alarmName",
        "window_seconds": 60,
        "max_wait_seconds": 300,
    }
    assert states[limit_states.DEBOUNCE_WAIT]["SecondsPath"] == "$.keel_debounce.wait_seconds"
    assert states[limit_states.DEBOUNCE_LATEST]["Choices"][0]["Next"] == limit_states.ACQUIRE
    # And the others are recorded as debounced, with the event that runs instead
    record = states[limit_states.DEBOUNCE_RECORD]["Parameters"]["Payload"]
    assert (record["action"], record["outcome"]) == ("debounce", "debounced")
    assert states[limit_states.DEBOUNCED]["Parameters"]["superseded_by.$"] == "$.keel_debounce.superseded_by"
    validate_definition(PATH, definition)


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ({"from": "Nope"}, "limits.concurrency.section.from", "'Nope' is not a top-level state of the workflow"),
        ({"from": "Act", "to": "Decide"}, "limits.concurrency.section.to", "'Decide' cannot be reached from 'Act'"),
        ({"from": "Act", "to": "Finished"}, "limits.concurrency.section.to", "'Finished' is a Succeed state"),
        ({"from": "Act", "to": "Verify"}, "limits.concurrency.section", "state 'Skip' leads into the section at 'Verify'"),
    ],
    ids=["unknown-state", "unreachable-end", "terminal-end", "entered-in-the-middle"],
)
def test_a_section_the_workflow_cannot_fence_stops_synth_naming_the_field(section, field, message) -> None:
    # Given a section that names no state, cannot be reached, or is entered past its start
    workflow = copy.deepcopy(WORKFLOW)
    workflow["States"]["Skip"] = {"Type": "Pass", "Next": "Verify"}
    workflow["States"]["Finished"] = {"Type": "Succeed"}
    declared = manifest({"concurrency": {"max": 1, "section": section}})

    # When the limit states are added / Then synth stops with one line naming the file and the field
    with pytest.raises(KeelConfigError) as error:
        limit_states.with_limit_states(PATH, declared, workflow)
    assert (error.value.field, str(error.value.path)) == (field, str(PATH))
    assert message in error.value.message


def test_an_environment_may_change_the_limit_not_the_section() -> None:
    # Given prod allowing fewer at once (fine) and staging moving the section (not possible: one workflow)
    base = {"concurrency": {"max": 3, "section": {"from": "Act", "to": "Verify"}}}
    fewer = {"prod": {"limits": {"concurrency": {"max": 1, "section": {"from": "Act", "to": "Verify"}}}}}
    moved = {"staging": {"limits": {"concurrency": {"max": 1, "section": {"from": "Decide"}}}}}

    # Then the first synthesizes and the second names the environment's field
    limited(base, environments=fewer)
    with pytest.raises(KeelConfigError) as error:
        limited(base, environments=moved)
    assert error.value.field == "environments.staging.limits.concurrency"


def test_an_environment_that_overrides_other_limits_keeps_the_concurrency_limit() -> None:
    # Given a concurrency limit, and dev overriding only its dry run (as the README's example does)
    declared = manifest({"max_concurrency": 3}, environments={"dev": {"limits": {"dry_run": True}}})

    # When each environment's settings are resolved / Then dev dry-runs under the same limit
    dev, prod = declared.resolved_for("dev").limits, declared.resolved_for("prod").limits
    assert (dev.dry_run, prod.dry_run) == (True, False)
    assert dev.concurrency == prod.concurrency
    limit_states.with_limit_states(PATH, declared, copy.deepcopy(WORKFLOW))


@pytest.mark.parametrize(
    ("limits", "trigger", "where", "message"),
    [
        ({"max_concurrency": 0}, None, "limits.max_concurrency", "must be a whole number from 1 to 1000, not 0"),
        ({"max_concurrency": 2, "concurrency": {"max": 2}}, None, "limits.max_concurrency", "is the shorthand of concurrency"),
        ({"concurrency": {"max": 2, "key": "detail.alarmName"}}, None, "limits.concurrency.key", "is not a JSONPath"),
        ({"concurrency": {"max": 2, "sectoin": {"from": "Act"}}}, None, "limits.concurrency.sectoin", "unknown field"),
        (
            {"concurrency": {"max": 2, "max_wait_seconds": 7200}},
            None,
            "limits.concurrency.max_wait_seconds",
            "less than or equal",
        ),
        (None, {"key": "$.detail.alarmName", "window_seconds": 60}, "trigger.debounce.max_wait_seconds", "required field"),
        (
            None,
            {"key": "$.detail.alarmName", "window_seconds": 600, "max_wait_seconds": 60},
            "trigger.debounce.max_wait_seconds",
            "must be at least window_seconds (600)",
        ),
    ],
)
def test_each_limit_field_is_checked_with_one_line_naming_it(limits, trigger, where, message) -> None:
    # Given a manifest with one mistake in its limits or debounce
    data = copy.deepcopy(VALID_MANIFEST)
    if limits is not None:
        data["limits"] = limits
    if trigger is not None:
        data["trigger"] = {**data["trigger"], "debounce": trigger}

    # When it is validated / Then the error names the field and says what is wrong
    with pytest.raises(ValidationError) as error:
        Manifest.model_validate(data)
    problem = from_validation_error(PATH, error.value)
    assert problem.field == where
    assert message in problem.message


def test_limit_modules_are_added_only_where_declared() -> None:
    # Given manifests with neither, a concurrency limit (here only in one environment), and a debounce
    plain = manifest()
    prod_only = manifest(environments={"prod": {"limits": {"max_concurrency": 2}}})
    debounced = manifest(debounce={"key": "$.id", "window_seconds": 5, "max_wait_seconds": 5})

    # Then each gets just the modules its states invoke
    assert limit_states.modules_for(plain) == []
    assert limit_states.modules_for(debounced) == ["debounce_event", "record_decision"]
    assert limit_states.modules_for(prod_only) == ["limit_slots", "record_decision"]


def test_the_readme_limits_example_is_a_valid_manifest_part() -> None:
    # Given the README's example of limits and storms
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = [textwrap.dedent(block) for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)]
    example = yaml.safe_load(next(block for block in blocks if "debounce:" in block))

    # When it completes a valid manifest
    declared = manifest(example["limits"], example["trigger"]["debounce"])

    # Then it declares what the README says it does
    assert declared.limits.concurrency is not None
    assert (declared.limits.concurrency.max, declared.limits.concurrency.max_wait_seconds) == (5, 300)
    assert declared.trigger.debounce is not None
    assert declared.trigger.debounce.key == "$.detail.alarmName"
