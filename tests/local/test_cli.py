"""`keel local run` and `keel demo` as a user runs them (in-process, on the session's cloud assembly)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.local.demo import DemoAutomation, DemoError, expected_endings, run_demo, run_scenario, sample_events, samples, summary
from keel.local.template import EnvironmentTemplate
from tests.local.conftest import HEARTBEAT_EVENT, ROOT, custom_event


def keel(assembly: Path, *arguments: str) -> int:
    return main(["--root", str(ROOT), "local", "run", "--outdir", str(assembly), *arguments])


def test_run_json_reports_executions_and_dead_letters(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = keel(assembly, str(HEARTBEAT_EVENT), "--json", "--fail", "emit_heartbeat:TransientError:1")

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(document) == {"executions", "dead_letters", "alarms", "pages"}
    (execution,) = document["executions"]
    assert set(execution) == {"automation", "execution_arn", "status", "states", "output", "error", "cause", "logs"}
    assert execution["status"] == "SUCCEEDED"
    assert [state["name"] for state in execution["states"]] == ["KeelClaimEvent", "EmitHeartbeat"]
    assert execution["states"][1]["attempts"] == 2
    assert document["dead_letters"] == []


def test_run_text_shows_the_path_and_exits_1_when_an_execution_fails(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = keel(assembly, str(HEARTBEAT_EVENT), "--fail", "emit_heartbeat:DependencyError")

    out = capsys.readouterr().out
    assert code == 1
    assert "platform_heartbeat" in out
    assert "FAILED" in out
    assert "DependencyError" in out
    assert "KeelClaimEvent" in out


def test_run_json_on_an_event_that_matches_no_rule(assembly: Path, write_event: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_event(custom_event("nobody-listens"))

    code = keel(assembly, str(path), "--json")

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == 0
    assert (document["executions"], document["dead_letters"], document["pages"]) == ([], [], [])
    assert f"{path}: event 11111111-2222-3333-4444-555555555555 matches no rule on bus keel-dev" in captured.err


def test_run_text_on_an_event_that_matches_no_rule(assembly: Path, write_event: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = keel(assembly, str(write_event(custom_event("nobody-listens"))))

    assert code == 0
    assert "matches no rule on bus keel-dev: nothing ran" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "an EventBridge event is a JSON object"),
        (json.dumps({"id": "x", "source": "a"}), "'detail-type' is missing"),
        (json.dumps({**custom_event("x"), "detail": "text"}), "'detail' must be a JSON object"),
        (json.dumps({**custom_event("x"), "time": "yesterday"}), "'time' must be an ISO 8601 timestamp"),
    ],
)
def test_run_json_on_an_invalid_file_names_the_file_and_the_problem(
    assembly: Path, write_event: Any, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    path = write_event(content, "broken.json")

    code = keel(assembly, str(path), "--json")

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert str(path) in captured.err
    assert problem in captured.err


def test_run_on_a_missing_file(assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert keel(assembly, str(tmp_path / "absent.json")) == 2
    assert "absent.json: cannot read the file" in capsys.readouterr().err


def test_run_rejects_a_malformed_fault(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert keel(assembly, str(HEARTBEAT_EVENT), "--fail", "emit_heartbeat:TransientError:0") == 2
    assert "FUNCTION[:ERROR][:N]" in capsys.readouterr().err


def heartbeat(expected: dict[str, str] | None = None) -> DemoAutomation:
    events = sample_events(ROOT, "platform_heartbeat")
    return DemoAutomation("platform_heartbeat", ["emit_heartbeat"], events, False, "platform-oncall", expected or {})


def test_the_demo_shows_what_each_scenario_claims_and_checks_it(dev_template: EnvironmentTemplate) -> None:
    # Given an automation with its sample events
    printed: list[str] = []

    # When the demo runs
    results = run_demo(dev_template, [heartbeat()], printed.append)

    # Then each scenario declared its outcome, did it, and the failure pages the owner's route
    assert [(result.scenario.title, result.passed) for result in results] == [
        ("sample events", True),
        ("emit_heartbeat always fails", True),
        ("delivered twice", True),
        ("emit_heartbeat fails twice with TransientError", True),
        ("StartExecution throttled", True),
    ]
    failure = printed[1]
    assert "   expected: FAILED; ExecutionsFailed alarm pages platform-oncall" in failure
    assert '   PAGE platform-oncall: ALARM: "keel-dev-platform_heartbeat-platform_heartbeat-Failure-Count-Critical"' in failure
    assert printed[-1].startswith("== Summary")
    assert printed[-1].rstrip().endswith("5 of 5 scenarios did what they claim")


def test_a_scenario_that_does_not_do_what_it_claims_fails_the_demo(dev_template: EnvironmentTemplate) -> None:
    # Given a sample declared to fail, which succeeds
    automation = heartbeat({"scheduled.json": "FAILED"})

    # When its scenario runs
    printed: list[str] = []
    result = run_scenario(dev_template, samples(automation), printed.append)

    # Then the scenario fails, saying what happened instead, and the summary counts it
    assert not result.passed
    assert "=> FAILED NOT as expected: 1 SUCCEEDED" in printed[0]
    assert summary([result]).rstrip().endswith("0 of 1 scenarios did what they claim")


def test_expected_endings_name_real_samples_and_statuses(tmp_path: Path) -> None:
    events = sample_events(ROOT, "platform_heartbeat")
    folder = tmp_path / "events" / "platform_heartbeat"
    folder.mkdir(parents=True)

    (folder / "expected.yaml").write_text("nosuch.json: FAILED\n")
    with pytest.raises(DemoError, match=r"nosuch.json is not a sample .*\(samples: scheduled.json\)"):
        expected_endings(tmp_path, "platform_heartbeat", events)
    (folder / "expected.yaml").write_text("scheduled.json: BROKEN\n")
    with pytest.raises(DemoError, match="'BROKEN' is not one of SUCCEEDED, FAILED, TIMED_OUT, ABORTED"):
        expected_endings(tmp_path, "platform_heartbeat", events)


def test_the_demo_says_when_an_automation_has_no_samples(dev_template: EnvironmentTemplate) -> None:
    printed: list[str] = []

    runs = run_demo(dev_template, [DemoAutomation("quiet", [], sample_events(ROOT, "no_such_automation"), False)], printed.append)

    assert runs == []
    assert "quiet: no sample events" in printed[0]
