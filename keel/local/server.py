"""`keel local up|down`: the local cloud served on 127.0.0.1 for any AWS client (aws CLI, boto3, keel ops).

`up` starts a background process (`keel local serve`) that deploys the environment into moto, serves
moto's AWS endpoints on the port, and runs our handlers in worker processes when executions invoke
them (stopped with it: SIGTERM or Ctrl-C closes the cloud, which stops every worker). Its clock runs
on its own (keel/local/live.py): schedule rules fire, and alarms are evaluated, on world time that
follows real time `--speed` times as fast. Its
pid and port are kept in <root>/.keel/local.json; `down` stops it. Events put with `aws events put-events
--endpoint-url ...` start executions through the rules, as on AWS. Task tokens are answered by the
clients (send-task-success / send-task-failure); their timeouts do not fire in server mode.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.errors import LocalCloudError
from keel.local.live import LiveClock
from keel.local.template import EnvironmentTemplate

STATE_DIR = ".keel"
STATE_FILE = "local.json"
START_TIMEOUT_SECONDS = 60.0
# Servers this process started: `stop` waits on them so they are reaped (no zombie, no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
# Stopping closes every function's workers, the endpoint and moto: about 3 s on an idle 2-core machine,
# several times that when the machine is busy (a CI runner running the suite in parallel).
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    environment: str
    log: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(template: EnvironmentTemplate, port: int, speed: float = 1.0) -> Iterator[LocalCloud]:
    """The local cloud deployed and answering on 127.0.0.1:port for the duration of the block, its clock
    running `speed` times as fast as real time."""
    with LocalCloud(template, port=port) as cloud, LiveClock(cloud, speed, say=lambda text: print(text, flush=True)):
        yield cloud


def serve_forever(template: EnvironmentTemplate, port: int, speed: float = 1.0) -> None:
    """Serve until SIGTERM or SIGINT (what `keel local serve` runs)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with serving(template, port, speed):
        pace = "real time" if speed == 1 else f"{speed:g} times real time"
        print(
            f"keel local: {template.environment} ({len(template.stacks)} stacks) serving on http://127.0.0.1:{port}, "
            f"its clock at {pace}",
            flush=True,
        )
        stop.wait()


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def read_state(state_dir: Path) -> ServerState | None:
    path = state_dir / STATE_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return ServerState(pid=int(data["pid"]), port=int(data["port"]), environment=str(data["environment"]), log=str(data["log"]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(
    root: Path, environment: str, port: int, outdir: Path, state_dir: Path | None = None, *, speed: float = 1.0
) -> ServerState:
    """Start `keel local serve` in the background and wait until it answers on the port.

    Its pid, port and log are kept in state_dir (default: <root>/.keel).
    """
    if speed < 1:
        raise LocalCloudError(f"--speed must be 1 or more (times real time), not {speed:g}")
    state_dir = state_dir or root / STATE_DIR
    running = read_state(state_dir)
    if running is not None and _alive(running.pid):
        raise LocalCloudError(
            f"a local cloud is already up on {running.endpoint} (pid {running.pid}); "
            f"stop it with `keel local down --root {root.resolve()}`"
        )
    if port_open(port):
        raise LocalCloudError(f"port {port} on 127.0.0.1 is already in use; choose another with --port")
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / f"local-{port}.log"
    command = [sys.executable, "-m", "keel", "--root", str(root), "local", "serve", "--env", environment, "--port", str(port)]
    command += ["--outdir", str(outdir), "--speed", f"{speed:g}"]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    _CHILDREN[process.pid] = process
    state = ServerState(pid=process.pid, port=port, environment=environment, log=str(log))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.terminate()
            process.wait()
            _CHILDREN.pop(process.pid, None)
            raise LocalCloudError(f"the local cloud did not start; its log ({log}):\n{log.read_text()}")
        time.sleep(0.1)
    (state_dir / STATE_FILE).write_text(
        json.dumps({"pid": state.pid, "port": port, "environment": environment, "log": state.log})
    )
    return state


def stop(state_dir: Path) -> ServerState | None:
    """Stop the background local cloud recorded in state_dir; None when none was up."""
    state = read_state(state_dir)
    if state is None:
        return None
    if _alive(state.pid):
        os.kill(state.pid, signal.SIGTERM)
        child = _CHILDREN.pop(state.pid, None)
        if child is not None:
            child.wait(timeout=STOP_TIMEOUT_SECONDS)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while _alive(state.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(state.pid):
            raise LocalCloudError(f"the local cloud (pid {state.pid}) did not stop within {STOP_TIMEOUT_SECONDS:.0f} s")
    (state_dir / STATE_FILE).unlink()
    return state
