"""`keel` as people and scripts meet it: a real terminal (a pseudo-terminal of a given width), a pipe,
a pipe its reader closed, and names that do not exist."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from infra.config import load_environments
from keel.cli import SIGPIPE_EXIT, main

ROOT = Path(__file__).resolve().parents[2]
KEEL = str(Path(sys.executable).parent / "keel")
HEARTBEAT_EVENT = str(ROOT / "events" / "platform_heartbeat" / "scheduled.json")
ESCAPES = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")


def environment(**extra: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    return clean | {"TERM": "xterm-256color"} | extra


def in_terminal(args: list[str], columns: int, **extra: str) -> str:
    """What `keel ARGS` shows on a terminal `columns` wide (a pseudo-terminal), as the terminal receives it."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        [KEEL, *args], stdin=follower, stdout=follower, stderr=follower, cwd=ROOT, env=environment(**extra)
    )
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end closed: the command ended
            break
        if not chunk:
            break
        received += chunk
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0, received.decode()
    return received.decode().replace("\r\n", "\n")


def test_a_table_fits_the_terminal_it_is_shown_on() -> None:
    # When the catalog is shown on an 80-column terminal
    shown = in_terminal(["catalog", "--no-stacks"], columns=80)

    # Then no line is wider than the terminal, it is styled, and every automation and module is there
    assert max(len(ESCAPES.sub("", line)) for line in shown.splitlines()) <= 80
    assert "\x1b[1m" in shown
    for name in ("alarm_remediation", "ticket_triage", "remediate_service", "record_decision"):
        assert name in shown


def test_no_color_and_pipes_get_plain_text() -> None:
    # When the catalog is shown with NO_COLOR set, and read through a pipe
    no_color = in_terminal(["catalog", "--no-stacks"], columns=200, NO_COLOR="1")
    piped = subprocess.run(
        [KEEL, "catalog", "--no-stacks"], cwd=ROOT, env=environment(), capture_output=True, text=True, check=True
    )

    # Then neither has an escape code; the pipe gets the whole table, however wide
    assert "\x1b[" not in no_color
    assert "\x1b" not in piped.stdout
    assert max(len(line) for line in piped.stdout.splitlines()) > 200


def test_a_reader_that_closes_the_pipe_ends_keel_quietly() -> None:
    # Given a pipe whose reader is already gone (`keel catalog --json | head -0`)
    reader, writer = os.pipe()
    os.close(reader)

    # When keel writes its JSON into it
    try:
        ended = subprocess.run(
            [KEEL, "catalog", "--no-stacks", "--json"],
            cwd=ROOT,
            env=environment(),
            stdout=writer,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(writer)

    # Then it stops with the status of a command killed by SIGPIPE, and no traceback
    assert ended.returncode == SIGPIPE_EXIT
    assert ended.stderr == b""


ENVIRONMENTS = ", ".join(sorted(load_environments(ROOT / "config" / "environments.yaml").environments))


@pytest.mark.parametrize(
    ("option", "told"),
    [
        (["--fail", "nosuchfn:TransientError"], "fault 'nosuchfn': no such function in dev (modules: "),
        (["--timeout", "emit_heartbeats"], "fault 'emit_heartbeats': no such function in dev (modules: "),
        (["--bus", "keel-prod"], "unknown bus 'keel-prod' (buses of dev: default, keel-dev)"),
        (["--env", "qa"], f"unknown environment 'qa' (known: {ENVIRONMENTS})"),
    ],
)
def test_unknown_names_are_refused_with_the_valid_ones(
    assembly: Path, option: list[str], told: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a local run names something the environment does not have
    code = main(["local", "run", HEARTBEAT_EVENT, "--outdir", str(assembly), "--root", str(ROOT), *option])

    # Then nothing runs: exit 2 and one line naming it with what exists
    assert code == 2
    err = capsys.readouterr().err
    assert told in err
    assert len(err.strip().splitlines()) == 1
    if option[0] in ("--fail", "--timeout"):
        assert "emit_heartbeat, " in err
