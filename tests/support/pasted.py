"""Running a command the way a person pastes it: bash, an empty directory far from the repository,
`keel` and `aws` on PATH, no AWS configuration but what points at the local cloud."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The virtual environment's scripts: `keel` and the pinned `aws` CLI.
SCRIPTS = Path(sys.executable).parent
# A Keel command on a line of a message: `keel ops ...` or `keel local ...` up to the end of the line.
KEEL_COMMAND = re.compile(r"\bkeel (?:ops|local) [^\n`]*")


@dataclass(frozen=True)
class Pasted:
    command: str
    code: int
    out: str
    err: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def keel_commands(text: str) -> list[str]:
    return [match.group(0).strip() for match in KEEL_COMMAND.finditer(text)]


def paste(command: str, cwd: Path, endpoint: str | None = None) -> Pasted:
    """Run `command` in bash in `cwd`. With `endpoint`, KEEL_ENDPOINT_URL points keel at a local cloud,
    as an on-call engineer's shell points it at AWS with their credentials."""
    environment = {"PATH": f"{SCRIPTS}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(cwd)}
    if endpoint is not None:
        environment["KEEL_ENDPOINT_URL"] = endpoint
    result = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True, timeout=180, check=False
    )
    return Pasted(command, result.returncode, result.stdout, result.stderr)
