"""`make test` wall time, in a subprocess (lint, type check, the whole suite with coverage)."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SUMMARY = re.compile(r"(\d+) passed")


@dataclass(frozen=True)
class MakeTestTiming:
    seconds: float
    returncode: int
    passed: int | None


def tests_passed(output: str) -> int | None:
    found = SUMMARY.findall(output)
    return int(found[-1]) if found else None


def measure_make_test(root: Path) -> MakeTestTiming:
    started = time.perf_counter()
    command = ["make", "test"]  # make from PATH, as a person runs it
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)  # noqa: S603
    return MakeTestTiming(time.perf_counter() - started, done.returncode, tests_passed(done.stdout + done.stderr))
