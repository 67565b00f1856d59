"""The reviewer's side of ticket triage through the `keel ops` command line and an endpoint URL:
pending, approve with --set (the reviewer's category), explain and replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.local import server
from keel.local.template import EnvironmentTemplate
from tests.local.conftest import started
from tests.support.pasted import free_port

EVENTS = Path(__file__).resolve().parents[2] / "events" / "ticket_triage"


def run(capsys: pytest.CaptureFixture[str], endpoint: str, *args: str) -> tuple[int, str, str]:
    code = main(["ops", "--env", "dev", "--region", "eu-west-1", "--endpoint-url", endpoint, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_reviewer_recategorises_an_uncertain_ticket_from_the_command_line(
    dev_template: EnvironmentTemplate, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server.serving(dev_template, port) as cloud:
        # Given an uncertain ticket waiting for a reviewer
        execution = started(cloud, json.loads((EVENTS / "02-uncertain-vague.json").read_text()), "ticket_triage")
        cloud.drive(expire_waits=False)
        code, out, _ = run(capsys, endpoint, "--json", "pending")
        assert code == 0
        [waiting] = json.loads(out)["pending"]
        assert waiting["automation"] == "ticket_triage"

        # When the reviewer approves it with a category of their own
        code, out, err = run(
            capsys, endpoint, "approve", waiting["approval_id"], "--reason", "it is a login problem", "--set", "category=account"
        )
        assert code == 0, err
        assert "approved by" in out, (out, err)
        cloud.drive()

        # Then the workflow routed it as the reviewer said, and explain shows the human decision
        description = cloud.client("stepfunctions").describe_execution(executionArn=execution)
        assert description["status"] == "SUCCEEDED"
        code, out, _ = run(capsys, endpoint, "explain", execution)
        assert code == 0
        assert "it is a login problem" in out
        assert "advised" in out

        # And replay re-evaluates the recorded decision under the current policy and model
        code, out, _ = run(capsys, endpoint, "--json", "replay", "ticket_triage", "--since", "7d")
        assert code == 0
        replayed: dict[str, Any] = json.loads(out)
        assert replayed["replayed"] >= 1

        # And a malformed --set is refused with the expected form
        code, _, err = run(capsys, endpoint, "approve", waiting["approval_id"], "--reason", "x", "--set", "category")
        assert code == 1
        assert "must be KEY=VALUE" in err
