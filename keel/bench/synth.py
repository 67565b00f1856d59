"""`make synth` time: `python app.py` for every environment, in a subprocess, into a temporary outdir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SynthTiming:
    seconds: list[float]
    environments: list[str]


def synth_environment(outdir: Path) -> dict[str, str]:
    env = dict(os.environ, CDK_OUTDIR=str(outdir), CDK_DISABLE_VERSION_CHECK="1", CDK_DISABLE_CLI_TELEMETRY="true")
    command = ["node", "-p", "process.versions.node.split('.')[0]"]  # node from PATH, as the Makefile finds it
    node = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if node.returncode == 0:
        env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", node.stdout.strip())
    return env


def measure_synth(root: Path, outdir: Path, runs: int) -> SynthTiming:
    """Wall time of each run; the last run's assembly stays in outdir (the local cloud deploys it)."""
    seconds = []
    env = synth_environment(outdir)
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, check=False)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"synth failed:\n{done.stderr.strip()[-2000:]}")
    environments = sorted(path.name.removeprefix("assembly-") for path in outdir.glob("assembly-*"))
    return SynthTiming(seconds, environments)
