"""`keel local up`: any AWS client drives and inspects the local cloud through an endpoint URL."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from keel.local import server
from keel.local.errors import LocalCloudError
from keel.local.eventbridge import EventFile
from keel.local.template import EnvironmentTemplate
from tests.support.eventually import eventually
from tests.support.pasted import free_port


def test_boto3_lists_the_executions_the_served_cloud_ran(dev_template: EnvironmentTemplate, heartbeat_event: EventFile) -> None:
    port = free_port()
    with server.serving(dev_template, port) as cloud:
        # Given an execution that ran in the served cloud
        cloud.deliver(heartbeat_event.event)
        cloud.drive()
        assert server.port_open(port)

        # When a client asks through the endpoint URL
        client = boto3.client("stepfunctions", region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{port}")
        machines = client.list_state_machines()["stateMachines"]
        machine = next(m["stateMachineArn"] for m in machines if m["name"].endswith("-platform_heartbeat"))
        executions = client.list_executions(stateMachineArn=machine)["executions"]

    # Then it sees that execution
    assert [execution["status"] for execution in executions] == ["SUCCEEDED"]
    assert executions[0]["executionArn"] == cloud.execution_arns()[0]


def descendants(pid: int) -> set[int]:
    """The processes below `pid` (its children, theirs, ...), from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_up_and_down_manage_a_background_server(assembly: Path, tmp_path: Path, heartbeat_event: EventFile) -> None:
    # Given a repository root where the state file lives, When `up` starts the server
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    state = server.start(root, "dev", port, assembly, state_dir=tmp_path)
    try:
        client = boto3.client("stepfunctions", region_name="eu-west-1", endpoint_url=state.endpoint)
        names = [machine["name"] for machine in client.list_state_machines()["stateMachines"]]
        assert "keel-dev-platform_heartbeat" in names
        # A second `up` while one is running is refused, naming the command that stops the first
        with pytest.raises(LocalCloudError, match=f"already up.*`keel local down --root {root}`"):
            server.start(root, "dev", free_port(), assembly, state_dir=tmp_path)
        # And an execution whose function ran in a worker of the server's
        beat = heartbeat_event.event
        entry = {"Source": beat["source"], "DetailType": beat["detail-type"], "Detail": json.dumps(beat["detail"])}
        events = boto3.client("events", region_name="eu-west-1", endpoint_url=state.endpoint)
        events.put_events(Entries=[{**entry, "Resources": beat["resources"]}])
        machines = client.list_state_machines()["stateMachines"]
        heartbeat = next(m["stateMachineArn"] for m in machines if m["name"] == "keel-dev-platform_heartbeat")
        eventually(lambda: _statuses(client, heartbeat) == ["SUCCEEDED"], "the heartbeat to run in the served cloud")
        processes = descendants(state.pid)
    finally:
        stopped = server.stop(tmp_path)

    # Then `down` stopped it and forgot it, and no process of its (workers, fork server) is left
    assert stopped == state
    assert not server.port_open(port)
    assert server.stop(tmp_path) is None
    assert processes
    eventually(lambda: not [pid for pid in processes if Path(f"/proc/{pid}").exists()], "the server's processes to end")
    assert sys.executable  # the server ran with this interpreter


def _statuses(client: Any, machine: str) -> list[str]:
    return [execution["status"] for execution in client.list_executions(stateMachineArn=machine)["executions"]]


def test_up_refuses_a_port_in_use(assembly: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalCloudError, match=f"port {port}"):
            server.start(Path.cwd(), "dev", port, assembly, state_dir=tmp_path)
