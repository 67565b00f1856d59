"""Every command Keel prints for people runs as printed: the commands in approval requests and pages,
in a routed ticket's result, on the platform dashboard, and the hints of `keel local up`.

Each is pasted into bash from an empty directory (no repository, no config/ to read a region from),
with only KEEL_ENDPOINT_URL pointing `keel` at the local cloud where an engineer's shell would point it
at AWS with their credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.local import server
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import load_event_file
from keel.local.template import EnvironmentTemplate, load_environment
from keel.local.world import apply_worlds, template_variables, worlds_for
from tests.local.conftest import started
from tests.support.pasted import Pasted, free_port, keel_commands, paste

ROOT = Path(__file__).resolve().parents[2]
RESTART = ROOT / "events" / "alarm_remediation" / "api-5xx-restart.json"
BACKDOOR = ROOT / "events" / "security_finding_response" / "backdoor-isolate.json"
CONFIDENT_TICKET = ROOT / "events" / "ticket_triage" / "01-confident-billing.json"
SAMPLE_ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def prod_template(assembly: Path) -> EnvironmentTemplate:
    return load_environment(assembly, "prod")


def deliver_sample(cloud: LocalCloud, path: Path) -> str:
    """The sample as it arrives in the cloud's account; the execution it started of its automation (events/<automation>/)."""
    event = json.loads(json.dumps(load_event_file(path).event).replace(SAMPLE_ACCOUNT, cloud.template.account))
    return started(cloud, event, path.parent.name)


def succeeded(pasted: Pasted) -> Pasted:
    assert pasted.code == 0, f"`{pasted.command}` exited {pasted.code}:\n{pasted.out}\n{pasted.err}"
    return pasted


def commands_of(pages: list[str], verb: str) -> list[str]:
    return [command for page in pages for command in keel_commands(page) if command.startswith(f"keel ops {verb} ")]


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_approval_requests_and_pages_carry_commands_that_run_as_printed(
    prod_template: EnvironmentTemplate, tmp_path: Path
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server.serving(prod_template, port) as cloud:
        # Given two actions waiting for a person in prod: a service restart and an instance isolation
        variables = template_variables(cloud.template.account, cloud.template.region)
        apply_worlds(worlds_for([RESTART, BACKDOOR]), cloud.client, variables)
        restart, isolation = deliver_sample(cloud, RESTART), deliver_sample(cloud, BACKDOOR)
        cloud.drive(expire_waits=False)
        requests = [page.message for page in cloud.pages()]
        assert len(commands_of(requests, "approve")) == 2, requests

        # When the approvers paste the commands their requests carry: explain, then answer
        assert len(commands_of(requests, "explain")) == 2, requests
        for command in commands_of(requests, "explain"):
            assert "planned" in succeeded(paste(command, tmp_path, endpoint)).out
        answers = [
            next(command for page in requests if restart in page for command in commands_of([page], "approve")),
            next(command for page in requests if isolation in page for command in commands_of([page], "reject")),
        ]
        for command in answers:
            assert "resumes" in succeeded(paste(command, tmp_path, endpoint)).out
        cloud.drive(expire_waits=False)

        # Then both workflows went on as answered
        assert (cloud.execution_status(restart), cloud.execution_status(isolation)) == ("SUCCEEDED", "SUCCEEDED")
        # And the pages they sent afterwards carry explain commands that run too
        afterwards = [page.message for page in cloud.pages() if page.message not in requests]
        explained = commands_of(afterwards, "explain")
        assert any(restart in command for command in explained), afterwards
        for command in explained:
            assert "answered by" in succeeded(paste(command, tmp_path, endpoint)).out


def test_the_platform_dashboard_names_a_command_that_lists_pending_approvals(
    prod_template: EnvironmentTemplate, tmp_path: Path
) -> None:
    # Given the platform dashboard's text and an approval waiting in the served cloud
    dashboards = [
        json.dumps(resource["Properties"]["DashboardBody"])
        for resource in prod_template.resources.values()
        if resource["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    [command] = [command for body in dashboards for command in keel_commands(body.replace("\\n", "\n"))]
    port = free_port()
    with server.serving(prod_template, port) as cloud:
        apply_worlds(worlds_for([BACKDOOR]), cloud.client, template_variables(cloud.template.account, cloud.template.region))
        deliver_sample(cloud, BACKDOOR)
        cloud.drive(expire_waits=False)

        # When an engineer pastes it / Then it lists the request
        assert "security_finding_response" in succeeded(paste(command, tmp_path, f"http://127.0.0.1:{port}")).out


def test_a_routed_ticket_says_how_to_explain_it(dev_template: EnvironmentTemplate, tmp_path: Path) -> None:
    port = free_port()
    with server.serving(dev_template, port) as cloud:
        # Given a confident ticket routed to its team
        execution = deliver_sample(cloud, CONFIDENT_TICKET)
        cloud.drive()
        described, _history = cloud.execution_record(execution)
        [command] = [text for text in strings_in(json.loads(described["output"])) if text.startswith("keel ops ")]

        # When the command in its result is pasted / Then it tells the story of the decision
        told = succeeded(paste(command, tmp_path, f"http://127.0.0.1:{port}")).out
        assert "billing" in told


def test_the_hints_of_keel_local_up_run_as_printed(assembly: Path, tmp_path: Path) -> None:
    # Given `keel local up` started as a user starts it, from their own directory
    up = succeeded(paste(f"keel local up --port {free_port()} --outdir {assembly}", tmp_path))
    try:
        hints = dict(line.strip().split(": ", 1) for line in up.out.splitlines()[1:])

        # When the user pastes the hints to try it / Then an AWS client sees the deployed state machines
        assert "keel-dev-platform_heartbeat" in succeeded(paste(hints["try"], tmp_path)).out
        assert succeeded(paste(hints["or"], tmp_path)).out.strip() == "(none)"
        assert json.loads(succeeded(paste(hints["alarms"], tmp_path)).out)["MetricAlarms"] == []
        # And a second `up` is refused with the command that stops the first: the same as the hint
        again = paste(f"keel local up --port {free_port()} --outdir {assembly}", tmp_path)
        assert again.code == 2
        assert re.findall(r"`(keel local down[^`]*)`", again.err) == [hints["stop it with"]]
        # And that command stops it, wherever it is pasted
        succeeded(paste(hints["stop it with"], tmp_path.parent))
        assert server.read_state(tmp_path / server.STATE_DIR) is None
    finally:
        server.stop(tmp_path / server.STATE_DIR)


def test_a_local_cloud_lists_the_commands_that_stand_for_console_links(dev_template: EnvironmentTemplate, tmp_path: Path) -> None:
    from keel.local.faults import FunctionFault

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server.serving(dev_template, port) as cloud:
        # Given a heartbeat that failed in the served cloud (its function raised an error no Retry matches)
        cloud.faults.functions.append(FunctionFault("emit_heartbeat", "error", 1, error="ValueError"))
        execution = deliver_sample(cloud, ROOT / "events" / "platform_heartbeat" / "scheduled.json")
        cloud.drive()

        # When an engineer lists the automation's executions: there is no console here, so no console link
        listed = succeeded(paste("keel ops executions platform_heartbeat --env dev --region eu-west-1", tmp_path, endpoint)).out
        assert "console.aws.amazon.com" not in listed
        [show] = [command for command in keel_commands(listed) if command.startswith("keel ops show ")]

        # Then the command listed in its place shows the execution, its error told plainly
        shown = succeeded(paste(show, tmp_path)).out
        assert execution in shown
        assert "ValueError: injected by keel local" in shown
        assert "stackTrace" not in shown
        # And the AWS CLI command `show` ends with reads the same history
        [history] = [line.split(": ", 1)[1] for line in shown.splitlines() if line.startswith("its history with the AWS CLI: ")]
        assert '"ExecutionFailed"' in succeeded(paste(history, tmp_path)).out


def test_a_failure_page_says_where_to_look_and_how_to_run_it_again(dev_template: EnvironmentTemplate, tmp_path: Path) -> None:
    from keel.local.eventbridge import load_event_file as load
    from keel.local.faults import FunctionFault

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server.serving(dev_template, port) as cloud:
        # Given a heartbeat whose function fails every attempt, and whose failure cannot be recorded either
        cloud.faults.functions += [FunctionFault("emit_heartbeat", "error", 5), FunctionFault("record_decision", "error", 5)]
        heartbeat = load(ROOT / "events" / "platform_heartbeat" / "scheduled.json").event
        failed = started(cloud, heartbeat, "platform_heartbeat")
        cloud.drive()
        [page] = [page.message for page in cloud.pages() if failed in page.message]
        assert "the failure could not be recorded" in page

        # When on-call pastes the page's commands: what happened, then (fixed) run it again
        [show] = commands_of([page], "show")
        [rerun] = commands_of([page], "redrive")
        shown = succeeded(paste(show, tmp_path, endpoint)).out
        rerun_out = succeeded(paste(rerun, tmp_path, endpoint)).out

        # Then the history shows the failure, and the event runs again in a new execution
        assert "status FAILED" in shown
        assert "1 restarted" in rerun_out
