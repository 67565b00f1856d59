"""Warm overhead per invocation of the platform's handler wrapping, against a bare handler."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from keel.bench.cold_import import child_environment


@dataclass(frozen=True)
class WarmOverhead:
    per_call_us: dict[str, float]

    @property
    def overhead_us(self) -> float:
        return self.per_call_us["task_handler"] - self.per_call_us["bare"]

    def component_us(self, name: str) -> float:
        return self.per_call_us[name] - self.per_call_us["bare"]


def measure_warm(root: Path) -> WarmOverhead:
    done = subprocess.run(
        [sys.executable, "-m", "keel.bench.warm_probe"],
        cwd=root,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the warm overhead probe failed:\n{done.stderr.strip()}")
    values = json.loads(done.stdout.strip().splitlines()[-1])
    return WarmOverhead({name: float(value) for name, value in values.items()})
