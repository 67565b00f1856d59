"""A picture of an execution: the synthesized state machine (Keel's prologue and failure path included)
with the path taken, retries and the failing state marked, checked by the SVG's structure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.execution_graph import draw
from keel.local.eventbridge import EventFile
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.runner import RunOptions, run_events
from keel.local.template import EnvironmentTemplate
from tests.support.svg import drawn

HEARTBEAT_EVENT = Path(__file__).resolve().parents[2] / "events" / "platform_heartbeat" / "scheduled.json"


def deployed_states(template: EnvironmentTemplate, machine_name: str) -> set[str]:
    """Every state of the synthesized definition, nested ones included."""
    [definition] = [
        json.loads(resource["Properties"]["DefinitionString"])
        for resource in template.resources.values()
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and resource["Properties"]["StateMachineName"] == machine_name
    ]
    return set(_names(definition))


def _names(machine: dict[str, Any]) -> Iterator[str]:
    for name, state in machine["States"].items():
        yield name
        for branch in [*state.get("Branches", []), *filter(None, [state.get("ItemProcessor") or state.get("Iterator")])]:
            yield from _names(branch)


def test_a_failed_run_is_drawn_with_its_path_and_the_failing_state(
    assembly: Path, dev_template: EnvironmentTemplate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a heartbeat whose function raises an error no Retry matches
    # When it runs with --graph
    fault = ["--fail", "emit_heartbeat:ValueError:1"]
    code = main(["local", "run", str(HEARTBEAT_EVENT), "--outdir", str(assembly), *fault, "--graph", str(tmp_path), "--json"])
    [execution] = json.loads(capsys.readouterr().out)["executions"]
    [svg] = tmp_path.glob("platform_heartbeat-*.svg")
    nodes, edges = drawn(svg.read_text())

    # Then every state of the synthesized definition is a node, Keel's prologue and failure path included
    assert code == 1
    states = deployed_states(dev_template, "keel-dev-platform_heartbeat")
    assert {"KeelClaimEvent", "KeelRecordFailure", "KeelFailed"} <= states <= set(nodes)
    assert {name for name, classes in nodes.items() if "keel" in classes} == {name for name in states if name.startswith("Keel")}
    # And the states it went through are marked taken, the one that raised as caught, the end as failed
    path = [state["name"] for state in execution["states"]]
    assert all("taken" in nodes[name] for name in path)
    assert {name for name in states if "taken" not in nodes[name]} == states - set(path)
    assert "caught" in nodes["EmitHeartbeat"]
    assert "failed" in nodes["KeelFailed"]
    assert "not-taken" in nodes["KeelDuplicateEvent"]
    # And the transitions it made are marked: in through the prologue, out through the Catch
    assert "taken" in edges["__start__->KeelClaimEvent"]
    assert "taken" in edges["KeelClaimEvent->EmitHeartbeat"]
    assert {"catch", "taken"} <= edges["EmitHeartbeat->KeelRecordFailure"]
    assert "taken" not in edges["KeelDuplicateEvent->__end__"]


def test_retries_are_drawn_on_the_state_that_retried(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile, tmp_path: Path
) -> None:
    # Given a heartbeat whose function fails twice with a retried error, then succeeds
    run = run_events(dev_template, [heartbeat_event], RunOptions(FaultPlan([FunctionFault("emit_heartbeat", "error", 2)])))
    [execution] = run.report.executions

    # When it is drawn as a self-contained page
    page = draw(execution.definition, execution.states, tmp_path / "run.html", title=execution.name)
    text = page.read_text()
    nodes, edges = drawn(text)

    # Then the state shows its retries, its loop is drawn, and the path ends well
    assert execution.status == "SUCCEEDED"
    assert {"taken", "retried", "has-retries"} <= nodes["EmitHeartbeat"]
    assert {"retry", "taken"} <= edges["EmitHeartbeat->EmitHeartbeat"]
    assert "taken" in edges["EmitHeartbeat->__end__"]
    assert "<script" not in text
    assert "http://" not in text.replace("http://www.w3.org", "")
