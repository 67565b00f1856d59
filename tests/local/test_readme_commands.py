"""The README's shell blocks run as printed, in order, from a checkout of the repository.

The checkout is a scratch directory whose entries link to the repository's (so `.venv/bin/keel` and
`events/...` resolve as in the README) with its own `.keel/` state and the session's cloud assembly as
`cdk.out`. What cannot run inside a test is named in RUN_ELSEWHERE with the reason, and only checked to parse;
every other line runs, so a command added to the README is run by this test without a change here.

Placeholders are the README's words for values it cannot know (`ap-...`, `EVENT_ID`); the test fills
them in from a served local cloud where a reviewer's request is waiting, and `keel ops` lines that name
no endpoint run against that cloud through KEEL_ENDPOINT_URL, as they would run against AWS.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keel.cli import parser
from keel.local import server
from keel.local.template import EnvironmentTemplate
from tests.support.pasted import free_port, paste

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
UNCERTAIN_TICKET = ROOT / "events" / "ticket_triage" / "02-uncertain-vague.json"
README_PORT = "4566"
# Commands that take minutes (or are the suite itself), or would write into the repository through the
# checkout's links: parsed, not run here. `make` targets are expanded with -n.
RUN_ELSEWHERE = {
    "bench": "`make bench` runs it; it takes minutes and times `make test` itself",
    "new": "tests/local/test_scaffold.py runs `keel new` and the commands on what it wrote, in a copy of the repository",
}


@dataclass(frozen=True)
class ReadmeCommand:
    line: int
    text: str


def readme_commands() -> list[ReadmeCommand]:
    """Every command in the README's ```sh blocks: comments dropped, continued lines joined."""
    commands: list[ReadmeCommand] = []
    lines = README.read_text().splitlines()
    inside, pending, start = False, "", 0
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            inside = line == "```sh"
            continue
        if not inside or not line.strip() or line.strip().startswith("#"):
            continue
        if not pending:
            start = number
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            commands.append(ReadmeCommand(start, shlex.join(shlex.split(pending, comments=True))))
            pending = ""
    return commands


def test_the_readme_has_commands_to_run() -> None:
    # Guard against a parser that silently finds nothing
    texts = [command.text for command in readme_commands()]
    assert "make demo" in texts
    assert any(text.startswith("AWS_ACCESS_KEY_ID=local") and "--state-machine-arn" in text for text in texts)
    assert all("#" not in text for text in texts)


@pytest.fixture
def checkout(tmp_path: Path, assembly: Path) -> Iterator[Path]:
    """A scratch checkout: links to the repository's entries, its own .keel/, the session's assembly."""
    directory = tmp_path / "checkout"
    directory.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {".keel", "cdk.out", ".git"}:
            (directory / entry.name).symlink_to(entry)
    (directory / "cdk.out").symlink_to(assembly)
    yield directory
    server.stop(directory / server.STATE_DIR)


@dataclass
class Reviewer:
    """A served dev cloud where an uncertain ticket waits for a reviewer."""

    endpoint: str
    approval_id: str
    event_id: str


@pytest.fixture
def reviewer(dev_template: EnvironmentTemplate) -> Iterator[Reviewer]:
    port = free_port()
    with server.serving(dev_template, port) as cloud:
        event = json.loads(UNCERTAIN_TICKET.read_text())
        cloud.deliver(event)
        cloud.drive(expire_waits=False)
        [request] = cloud.operator().approvals.pending()
        yield Reviewer(f"http://127.0.0.1:{port}", request.approval_id, event["id"])


def test_every_readme_command_runs_as_printed(checkout: Path, reviewer: Reviewer, tmp_path: Path) -> None:
    port = str(free_port())
    placeholders = {"ap-...": reviewer.approval_id, "EVENT_ID": reviewer.event_id, README_PORT: port}
    scaffolded: list[str] = []
    for command in readme_commands():
        text = re.sub("|".join(re.escape(key) for key in placeholders), lambda m: placeholders[m.group(0)], command.text)
        where = f"README.md:{command.line}: {command.text}"
        words = shlex.split(text)
        if words[0] == "make":
            # The targets exist and expand (make demo and make test are what CI and the suite run)
            dry_run = subprocess.run(["make", "-n", *words[1:]], cwd=checkout, capture_output=True, text=True, check=False)
            assert dry_run.returncode == 0, f"{where}\n{dry_run.stderr}"
            continue
        if words[0].endswith("keel") and words[1] in RUN_ELSEWHERE:
            parser().parse_args(words[1:])  # parses: a misplaced option would exit 2
            scaffolded += words[3:4] if words[1:3] == ["new", "automation"] else []
            continue
        if any(name in text for name in scaffolded):
            continue  # names what `keel new` wrote: run by tests/local/test_scaffold.py
        if "scripts/train_ticket_classifier.py" in text:
            text += f" --models {tmp_path}"  # a test never writes a model version into the repository
        endpoint = None if "--endpoint-url" in text or " ops " not in f" {text} " else reviewer.endpoint
        pasted = paste(text, checkout, endpoint)
        # keel local run exits 1 when an execution failed: the ticket directory holds a malformed ticket on purpose,
        # and the README shows a heartbeat failing on purpose to show its alarm paging
        # and an onboarding compensated on purpose, and a rotation the CRM refuses on purpose
        failing = (
            "events/ticket_triage/ --approve",
            "--fail emit_heartbeat:Boom:100",
            "--api-fault billing:400",
            "--rotate crm-api-key --api-fault crm:400",
        )
        expected = 1 if text.endswith(failing) else 0
        assert pasted.code == expected, f"{where}\nexit {pasted.code}\n{pasted.out}\n{pasted.err}"
