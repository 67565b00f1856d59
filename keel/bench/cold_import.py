"""Cold import of every function module's handler against a bare handler that imports only boto3.

Each sample is a fresh interpreter that imports one handler, then boto3 (a no-op when the handler
already did: every module calls AWS, so a handler that imports boto3 lazily is not credited for it).
Handlers are imported from their staged deployment package (infra/packaging.stage_package), without
bytecode caches, as Lambda does: the package ships .py files only. Targets are interleaved round by
round so drift on the machine affects them alike; the figure is the median over the rounds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from infra.packaging import stage_package
from keel.bench.stats import median

BARE = "bare handler (boto3 only)"
# Reference points measured in the same run: what the platform's dependencies cost on their own.
# Functions use Powertools Logger and Metrics (the floor); pydantic, which they no longer import
# (functions/shared/runtime/contract.py), is kept as a reference for what a pydantic parser would add.
REFERENCES = {
    BARE: "import boto3\n",
    "floor: boto3 + Powertools Logger, Metrics": (
        "import boto3\nfrom aws_lambda_powertools import Logger, Metrics\nlogger = Logger()\nmetrics = Metrics()\n"
    ),
    "reference: boto3 + pydantic BaseModel (not used by functions)": "import boto3\nfrom pydantic import BaseModel\n",
}
HANDLER_TAIL = "\n\ndef lambda_handler(event, context):\n    return {}\n"
PROBE = "import time\n_t = time.perf_counter()\nimport {module}\nimport boto3\nprint(time.perf_counter() - _t)\n"
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


@dataclass(frozen=True)
class Target:
    name: str
    directory: Path
    module: str
    reference: bool


@dataclass
class ImportTiming:
    target: Target
    import_ms: list[float] = field(default_factory=list)
    process_ms: list[float] = field(default_factory=list)

    @property
    def median_import_ms(self) -> float:
        return median(self.import_ms)

    @property
    def median_process_ms(self) -> float:
        return median(self.process_ms)


@dataclass(frozen=True)
class ImportCost:
    package: str
    self_ms: float
    in_bare: bool


def discover_modules(functions_dir: Path) -> list[str]:
    """Every function module: a folder of functions/ with a function.yaml."""
    return sorted(path.parent.name for path in functions_dir.glob("*/function.yaml"))


def child_environment() -> dict[str, str]:
    """The host's environment without Keel/Powertools/Lambda variables, no bytecode written."""
    hidden = ("KEEL_", "POWERTOOLS_", "AWS_LAMBDA_", "LAMBDA_", "_HANDLER")
    env = {key: value for key, value in os.environ.items() if not key.startswith(hidden)}
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"})
    env.pop("PYTHONPATH", None)
    return env


def prepare_targets(functions_dir: Path, modules: list[str], build_dir: Path) -> list[Target]:
    targets = []
    for index, (name, source) in enumerate(REFERENCES.items()):
        directory = build_dir / f"reference_{index}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "bare_handler.py").write_text(source + HANDLER_TAIL)
        targets.append(Target(name, directory, "bare_handler", reference=True))
    for module in modules:
        directory = stage_package(functions_dir, module, build_dir / "packages")
        targets.append(Target(module, directory, f"functions.{module}.handler", reference=False))
    return targets


def sample(target: Target, env: dict[str, str]) -> tuple[float, float]:
    """(import ms, whole process ms) of one fresh interpreter importing the target."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our interpreter, our probe)
        [sys.executable, "-c", PROBE.format(module=target.module)],
        cwd=target.directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"importing {target.module} failed:\n{done.stderr.strip()}")
    return float(done.stdout.strip()) * 1000, elapsed


def measure(targets: list[Target], runs: int, env: dict[str, str]) -> list[ImportTiming]:
    timings = [ImportTiming(target) for target in targets]
    for _ in range(1):  # warm the OS file cache; discarded
        for timing in timings:
            sample(timing.target, env)
    for round_ in range(runs):
        shift = round_ % len(timings)
        for timing in timings[shift:] + timings[:shift]:
            imported, process = sample(timing.target, env)
            timing.import_ms.append(imported)
            timing.process_ms.append(process)
    return timings


def importtime(target: Target, env: dict[str, str]) -> dict[str, float]:
    """Self time in ms of every module imported, from `python -X importtime`."""
    done = subprocess.run(  # noqa: S603 (our interpreter, our probe)
        [sys.executable, "-X", "importtime", "-c", PROBE.format(module=target.module)],
        cwd=target.directory,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_importtime(done.stderr)


def parse_importtime(output: str) -> dict[str, float]:
    costs: dict[str, float] = {}
    for line in output.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match:
            costs[match.group(4)] = costs.get(match.group(4), 0.0) + int(match.group(1)) / 1000
    return costs


def by_package(worst: dict[str, float], bare: dict[str, float]) -> list[ImportCost]:
    """Self time grouped by top-level package (our own modules by function package), largest first."""
    totals: dict[str, float] = defaultdict(float)
    for module, self_ms in worst.items():
        parts = module.split(".")
        package = ".".join(parts[:2]) if parts[0] == "functions" and len(parts) > 1 else parts[0]
        totals[package] += self_ms
    bare_packages = {module.split(".")[0] for module in bare}
    costs = [ImportCost(package, ms, package.split(".")[0] in bare_packages) for package, ms in totals.items()]
    return sorted(costs, key=lambda cost: cost.self_ms, reverse=True)
