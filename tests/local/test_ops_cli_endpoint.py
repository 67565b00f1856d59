"""`keel ops` through an endpoint URL, against the served local cloud, as an operator runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.local import server
from keel.local.eventbridge import EventFile
from keel.local.template import EnvironmentTemplate
from tests.support.pasted import free_port
from tests.support.svg import drawn


def ops(endpoint: str, *args: str) -> list[str]:
    return ["ops", "--env", "dev", "--region", "eu-west-1", "--endpoint-url", endpoint, *args]


def test_ops_reads_executions_paths_and_kpis_through_the_endpoint(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server.serving(dev_template, port) as cloud:
        # Given a heartbeat that ran in the served cloud
        cloud.deliver(heartbeat_event.event)
        cloud.drive()

        # When an operator lists the automation's executions
        assert main(ops(endpoint, "--json", "executions", "platform_heartbeat")) == 0
        listed: dict[str, Any] = json.loads(capsys.readouterr().out)
        [execution] = listed["executions"]
        # Then it sees the run; no console link (there is no console here) but the command that shows it
        assert execution["status"] == "SUCCEEDED"
        assert execution["console"] is None
        assert execution["details"] == (
            f"keel ops show {execution['execution_arn']} --env dev --region eu-west-1 --endpoint-url {endpoint}"
        )

        # And `show` gives its path through the states
        assert main(ops(endpoint, "--json", "show", execution["execution_arn"])) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [state["state"] for state in shown["states"]] == ["KeelClaimEvent", "EmitHeartbeat"]

        # And `show --graph` draws the deployed state machine with that path, as a self-contained page
        assert main(ops(endpoint, "show", execution["execution_arn"], "--graph", str(tmp_path / "run.html"))) == 0
        assert f"graph {tmp_path / 'run.html'}" in capsys.readouterr().out
        nodes, _edges = drawn((tmp_path / "run.html").read_text())
        assert {"keel", "taken", "succeeded"} <= nodes["KeelClaimEvent"]
        assert {"taken", "succeeded"} <= nodes["EmitHeartbeat"]
        assert {"keel", "not-taken"} <= nodes["KeelFailed"]

        # And the KPIs count it
        assert main(ops(endpoint, "--json", "kpis", "platform_heartbeat")) == 0
        kpis = json.loads(capsys.readouterr().out)
        assert (kpis["executions"], kpis["success_rate_percent"], kpis["dlq_depth"], kpis["pending_approvals"]) == (
            1,
            100.0,
            0,
            0,
        )

        # And the human-readable table names the run, then the command instead of a console link
        assert main(ops(endpoint, "executions", "platform_heartbeat")) == 0
        listed_text = capsys.readouterr().out
        assert execution["name"] in listed_text
        assert execution["details"] in listed_text.splitlines()[-1]
        assert "console.aws.amazon.com" not in listed_text


def test_ops_errors_are_one_clear_line_and_a_non_zero_exit(
    dev_template: EnvironmentTemplate, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server.serving(dev_template, port):
        assert main(ops(endpoint, "executions", "no_such_automation")) == 1
        assert "unknown automation 'no_such_automation' in environment 'dev'" in capsys.readouterr().err
        assert main(ops(endpoint, "explain", "evt-never-seen")) == 1
        assert "no decisions recorded for event evt-never-seen" in capsys.readouterr().err
        assert main(ops(endpoint, "approve", "ap-0000", "--reason", "x")) == 1
        assert "no approval request 'ap-0000'" in capsys.readouterr().err
        assert main(ops(endpoint, "executions", "platform_heartbeat", "--since", "yesterday")) == 1
        assert "--since 'yesterday' is neither a duration" in capsys.readouterr().err
    # With the server gone, the operator is told where nothing answered
    assert main(ops(endpoint, "executions", "platform_heartbeat")) == 1
    assert "is `keel local up` running?" in capsys.readouterr().err
