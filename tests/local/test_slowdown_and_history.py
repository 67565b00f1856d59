"""`keel local run --slow` (a function slower on its execution's clock) and `--history` (the events' past,
replayed without faults, one period apart), as a user runs them."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.local.errors import LocalCloudError
from keel.local.faults import FaultPlan, FunctionFault, Slowdown, parse_slowdown
from tests.local.conftest import HEARTBEAT_EVENT, ROOT


def keel(assembly: Path, *arguments: str) -> int:
    return main(["--root", str(ROOT), "local", "run", "--outdir", str(assembly), *arguments])


def emit_state(execution: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = next(state for state in execution["states"] if state["name"] == "EmitHeartbeat")
    return state


def test_history_replays_without_faults_then_the_run_shows_a_slower_function(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two rounds of history ten minutes apart, and the heartbeat's function 7 s slower
    code = keel(assembly, str(HEARTBEAT_EVENT), "--history", "2", "--history-every", "10", "--slow", "emit_heartbeat:7", "--json")

    # Then three executions ran: the history's two at their usual pace, the run's one 7 s slower
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    executions = [e for e in document["executions"] if e["automation"] == "platform_heartbeat"]
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * 3
    durations = [emit_state(e)["duration_ms"] for e in executions]
    assert max(durations[:2]) < 7000 <= durations[2]
    # ten minutes of world time apart
    starts = [datetime.fromisoformat(e["states"][0]["entered"]) for e in executions]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)]
    assert all(600 <= gap < 1200 for gap in gaps)
    assert len(gaps) == 2


def test_a_slowdown_past_the_function_timeout_is_a_timeout(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given emit_heartbeat (10 s timeout) 12 s slower once
    keel(assembly, str(HEARTBEAT_EVENT), "--slow", "emit_heartbeat:12:1", "--json")

    # Then that attempt timed out as Lambda times it out, and its retry ran at the usual pace
    (execution,) = [e for e in json.loads(capsys.readouterr().out)["executions"] if e["automation"] == "platform_heartbeat"]
    state = emit_state(execution)
    assert [error["error"] for error in state["errors"]][:1] == ["Sandbox.Timedout"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--slow", "nosuchfn:5"], "fault 'nosuchfn': no such function in dev"),
        (["--slow", "emit_heartbeat"], "expected FUNCTION:SECONDS[:N]"),
    ],
)
def test_bad_slowdowns_are_refused(
    assembly: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert keel(assembly, str(HEARTBEAT_EVENT), *arguments) == 2
    assert message in capsys.readouterr().err


def test_a_history_of_no_rounds_is_refused(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        keel(assembly, str(HEARTBEAT_EVENT), "--history", "0")
    assert exited.value.code == 2
    assert "'0' is not a positive whole number" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["f:0", "f:-1", "f:x", "f:nan", "f:901", "f:5:0", "f:5:x", ":5", "f:5:1:2"])
def test_malformed_slowdowns_say_what_is_expected(spec: str) -> None:
    with pytest.raises(LocalCloudError, match=r"expected FUNCTION:SECONDS\[:N\]"):
        parse_slowdown(spec)


def test_a_slowdown_applies_n_times_or_to_every_invocation() -> None:
    plan = FaultPlan(slowdowns=[parse_slowdown("remediate_service:2.5:2"), parse_slowdown("verify_remediation:1")])

    twice = [plan.take_slowdown("keel-dev-alarm_remediation-remediate_service", "remediate_service") for _ in range(3)]
    always = [plan.take_slowdown("x", "verify_remediation") for _ in range(5)]

    assert twice == [2.5, 2.5, 0.0]
    assert always == [1.0] * 5
    assert plan.describe() == [
        "remediate_service runs 2.5 s slower, 2 invocation(s)",
        "verify_remediation runs 1 s slower, every invocation",
    ]


def test_no_fault_fires_while_suspended() -> None:
    plan = FaultPlan(functions=[FunctionFault("f", "error", 1)], slowdowns=[Slowdown("f", 3.0)], failed_starts=1)

    with plan.suspended():
        held = (plan.take("f", "f"), plan.take_slowdown("f", "f"), plan.take_failed_start())

    assert held == (None, 0.0, False)
    assert plan.take("f", "f") is not None
    assert plan.take_slowdown("f", "f") == 3.0
    assert plan.take_failed_start()
