"""statemachines/*.asl.json checked against the States Language at synth: one line naming the file and the state."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from infra import asl
from infra.asl_validation import validate_definition
from infra.errors import KeelConfigError

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted((REPO / "statemachines").glob("*.asl.json"))
CONTEXT = {"automation": "x", "version": "1.0.0", "dry_run": False, "approval_required": None, "limits": {"max_concurrency": 1}}

BASE: dict[str, Any] = {
    "Comment": "A task, a choice and the ways out.",
    "StartAt": "Act",
    "States": {
        "Act": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${act}", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            "ResultPath": "$.act",
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.act.Payload.done", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Failed",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "ActFailed", "Cause": "The action failed"},
    },
}


def with_keel_task_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    """Each Lambda task as Keel fills it in: the standard payload, retries with backoff and jitter, and a catch."""
    filled = copy.deepcopy(definition)
    filled["States"]["KeelTaskFailed"] = {"Type": "Fail", "ErrorPath": "$.keel_error.Error", "CausePath": "$.keel_error.Cause"}
    for _, state in asl.iter_states(filled):
        if state.get("Resource", "").startswith("arn:aws:states:::lambda:invoke"):
            state.setdefault("Parameters", {}).setdefault(
                "Payload", {"input.$": "$", "keel.$": "$.keel", "step.$": "$$.State.Name"}
            )
            state["Retry"] = [
                {
                    "ErrorEquals": [
                        "Lambda.ServiceException",
                        "Lambda.TooManyRequestsException",
                        "TransientError",
                        "ThrottledError",
                    ],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 6,
                    "BackoffRate": 2,
                    "MaxDelaySeconds": 60,
                    "JitterStrategy": "FULL",
                }
            ]
            state.setdefault("Catch", [])
    for state in filled["States"].values():
        catchers = state.get("Catch")
        # Step Functions takes States.ALL only alone and last: a team's own catch-all wins.
        if catchers is not None and not any("States.ALL" in catcher["ErrorEquals"] for catcher in catchers):
            catchers.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.keel_error", "Next": "KeelTaskFailed"})
    return filled


@pytest.mark.parametrize("path", DEFINITIONS, ids=[path.name for path in DEFINITIONS])
def test_every_state_machine_of_the_repository_is_accepted(path) -> None:
    # Given an ASL file of the catalog, as loaded, wrapped in the prologue, and with Keel's task defaults
    definition = asl.load_asl(path)

    # When each is validated / Then none is refused
    validate_definition(path, definition)
    validate_definition(path, asl.with_prologue(definition, "x", CONTEXT))
    validate_definition(path, with_keel_task_defaults(asl.with_prologue(definition, "x", CONTEXT)))


def test_the_keel_defaults_really_reach_the_tasks() -> None:
    # Given the simulated defaults on a task whose only catcher is not a catch-all
    definition = copy.deepcopy(BASE)
    definition["States"]["Act"]["Catch"] = [{"ErrorEquals": ["PermanentError"], "Next": "Failed"}]
    filled = with_keel_task_defaults(definition)

    # Then the retrier carries jitter, the catch-all leads out, and the result is valid
    assert filled["States"]["Act"]["Retry"][0]["JitterStrategy"] == "FULL"
    assert filled["States"]["Act"]["Catch"][-1]["Next"] == "KeelTaskFailed"
    validate_definition("x.asl.json", filled)


def test_a_substitution_stands_for_the_arn_it_will_be() -> None:
    # Given a task whose Resource is a function's ARN through ${...} (substituted by CloudFormation)
    definition = copy.deepcopy(BASE)
    definition["States"]["Act"]["Resource"] = "${act}"
    del definition["States"]["Act"]["Parameters"]

    # When validated / Then it is accepted, as Step Functions accepts the substituted ARN
    validate_definition("x.asl.json", definition)


def mutated(change: Any) -> dict[str, Any]:
    definition = copy.deepcopy(BASE)
    change(definition["States"])
    return definition


REFUSED = {
    "unknown-state-field": (lambda s: s["Act"].update(Retries=[]), 'Field "Retries" not allowed in State Machine.States.Act'),
    "bad-type": (lambda s: s["Done"].update(Type="Success"), 'State Machine.States.Done.Type is "Success", not one of'),
    "choice-without-choices": (lambda s: s["Decide"].pop("Choices"), 'States.Decide does not have required field "Choices"'),
    "wrong-jitter": (
        lambda s: s["Act"]["Retry"][0].update(JitterStrategy="PARTIAL"),
        'States.Act.Retry[0].JitterStrategy is "PARTIAL", not one of the allowed values ["FULL", "NONE"]',
    ),
    "unknown-retrier-field": (lambda s: s["Act"]["Retry"][0].update(MaxAttempt=3), 'Field "MaxAttempt" not allowed in'),
    "backoff-below-one": (lambda s: s["Act"]["Retry"][0].update(BackoffRate=0.5), "BackoffRate is 0.5 but allowed floor is 1"),
    "fractional-interval": (lambda s: s["Act"]["Retry"][0].update(IntervalSeconds=1.5), "IntervalSeconds is 1.5 but should be"),
    "misspelt-choice-operator": (
        lambda s: s["Decide"]["Choices"][0].update(BooleanEqual=True),
        'Field "BooleanEqual" not allowed in State Machine.States.Decide.Choices[0]',
    ),
    "next-and-end": (lambda s: s["Act"].update(End=True), 'State Machine.States.Act has forbidden field "Next"'),
    "missing-target": (lambda s: s["Act"].update(Next="Decided"), 'No state found named "Decided"'),
    "unreachable-state": (lambda s: s.update(Orphan={"Type": "Succeed"}), "No transition found to state State Machine.Orphan"),
    "bad-result-path": (lambda s: s["Act"].update(ResultPath="act"), 'ResultPath is "act" but should be a Reference Path'),
    "bad-path-parameter": (
        lambda s: s["Act"]["Parameters"].update({"id.$": "id"}),
        'Field "id.$" of Parameters at "State Machine.States.Act" is not a JSONPath or intrinsic function expression',
    ),
    "zero-timeout": (lambda s: s["Act"].update(TimeoutSeconds=0), "TimeoutSeconds is 0 but allowed floor is 0"),
    "resource-not-an-arn": (lambda s: s["Act"].update(Resource="act-function"), 'Resource is "act-function" but should be A URI'),
    "catch-all-not-last": (
        lambda s: s["Act"]["Catch"].append({"ErrorEquals": ["TransientError"], "Next": "Failed"}),
        "States.Act.Catch[0]: States.ALL can only appear in the last element, and by itself",
    ),
}


@pytest.mark.parametrize(("change", "problem"), REFUSED.values(), ids=REFUSED.keys())
def test_what_step_functions_refuses_is_one_line_naming_the_file_and_the_state(change, problem) -> None:
    # Given a definition with one mistake Step Functions would refuse at deploy
    definition = mutated(change)

    # When validated / Then one line names the ASL file and the JSON path of the state
    with pytest.raises(KeelConfigError) as caught:
        validate_definition("statemachines/x.asl.json", definition)
    assert (caught.value.path, caught.value.field) == ("statemachines/x.asl.json", "(definition)")
    assert problem in caught.value.message
    assert "\n" not in str(caught.value)


def test_a_second_problem_is_counted_not_listed() -> None:
    # Given two mistakes / When validated / Then the first is shown and the rest counted
    definition = mutated(lambda s: (s["Done"].update(Type="Success"), s["Failed"].update(Type="Failure")))
    with pytest.raises(KeelConfigError, match=r"\(and \d+ more\)$"):
        validate_definition("x.asl.json", definition)


def test_the_catalog_names_the_asl_file(temp_repo) -> None:
    # Given an automation whose retrier has a wrong JitterStrategy
    definition = temp_repo.asl_data()
    definition["States"]["Beat"]["Retry"] = [{"ErrorEquals": ["TransientError"], "JitterStrategy": "HALF"}]
    temp_repo.add_automation(asl=definition)

    # When the catalog is loaded / Then the ASL file and the retrier are named
    with pytest.raises(KeelConfigError) as caught:
        temp_repo.load_catalog()
    assert caught.value.path == str(temp_repo.root / "statemachines" / "sample_automation.asl.json")
    assert caught.value.message.startswith('State Machine.States.Beat.Retry[0].JitterStrategy is "HALF"')
