"""Catalog scale: generated catalogs of 10, 100 and 300 automations synthesized for one environment.

Each size runs in a fresh interpreter (`python -m keel.bench.catalog_scale N OUTDIR`), so one size's
jsii objects and caches do not slow the next, and reports as one JSON document: the time to build the
app and to synthesize it (cdk-nag and the quota guard included), the fullest stack's figures against
the quotas, and what the environment costs in IAM roles, Lambda functions, log groups, alarms and
EventBridge rules, counted from the templates. With --local-deploy it also times `keel local`
deploying every stack of the assembly into moto.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SIZES = (10, 100, 300)
LOCAL_DEPLOY_SIZE = 100
COUNTED = {
    "AWS::IAM::Role": "IAM roles",
    "AWS::Lambda::Function": "Lambda functions",
    "AWS::Logs::LogGroup": "log groups",
    "AWS::CloudWatch::Alarm": "alarms",
    "AWS::StepFunctions::StateMachine": "state machines",
    "AWS::CloudWatch::Dashboard": "dashboards",
}


@dataclass(frozen=True)
class ScalePoint:
    automations: int
    stacks: int
    build_seconds: float
    synth_seconds: float
    fullest_stack: str
    fullest_share: float
    largest_resources: int
    largest_template_bytes: int
    platform_template_bytes: int
    platform_dashboard_bytes: int
    resources: dict[str, int]
    rules_on_default_bus: int
    rules_on_keel_bus: int
    local_deploy_seconds: float | None
    peak_rss_mb: float

    @property
    def total_seconds(self) -> float:
        return self.build_seconds + self.synth_seconds

    @property
    def seconds_per_automation(self) -> float:
        return self.total_seconds / self.automations


def measure_scale(root: Path, scratch: Path, sizes: tuple[int, ...] = SIZES) -> list[ScalePoint]:
    """Each size in its own interpreter, smallest first."""
    points = []
    for size in sizes:
        command = [sys.executable, "-m", "keel.bench.catalog_scale", str(size), str(scratch / f"scale-{size}")]
        if size == LOCAL_DEPLOY_SIZE:
            command.append("--local-deploy")
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, env=_child_environment())  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"catalog of {size} automations failed:\n{done.stderr.strip()[-3000:]}")
        points.append(ScalePoint(**json.loads(done.stdout.strip().splitlines()[-1])))
    return points


def _child_environment() -> dict[str, str]:
    from keel.bench.synth import synth_environment

    return synth_environment(Path(os.devnull))


def run_size(root: Path, scratch: Path, size: int, *, local_deploy: bool) -> ScalePoint:
    import resource

    from infra.app_builder import build_app
    from infra.config import EnvironmentTable, load_environments
    from infra.synthesis import synthesize
    from keel.bench.generated_catalog import generate_catalog

    repo = generate_catalog(root, scratch / "repo", size)
    table = load_environments(repo / "config" / "environments.yaml")
    environment = "dev"
    started = time.perf_counter()
    keel = build_app(
        root=repo,
        outdir=str(scratch / "cdk.out"),
        environments=EnvironmentTable(environments={environment: table.get(environment)}),
    )
    built = time.perf_counter()
    figures = synthesize(keel)[environment]
    synthesized = time.perf_counter()
    templates = _templates(scratch / "cdk.out" / f"assembly-{environment}")
    counts: Counter[str] = Counter(resource["Type"] for template in templates for resource in template["Resources"].values())
    rules = [
        resource
        for template in templates
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule"
    ]
    fullest = max(figures, key=lambda stack: stack.headroom())
    platform = figures[0]
    return ScalePoint(
        automations=size,
        stacks=len(figures),
        build_seconds=round(built - started, 2),
        synth_seconds=round(synthesized - built, 2),
        fullest_stack=fullest.stack,
        fullest_share=round(fullest.headroom(), 4),
        largest_resources=max(stack.resources for stack in figures),
        largest_template_bytes=max(stack.template_bytes for stack in figures),
        platform_template_bytes=platform.template_bytes,
        platform_dashboard_bytes=platform.dashboard_bytes,
        resources={label: counts[kind] for kind, label in COUNTED.items()},
        rules_on_default_bus=sum(1 for rule in rules if "EventBusName" not in rule["Properties"]),
        rules_on_keel_bus=sum(1 for rule in rules if "EventBusName" in rule["Properties"]),
        local_deploy_seconds=_local_deploy_seconds(scratch / "cdk.out", environment) if local_deploy else None,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )


def _templates(assembly: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(assembly.glob("*.template.json"))]


def _local_deploy_seconds(outdir: Path, environment: str) -> float:
    from keel.local.cloud import LocalCloud
    from keel.local.template import load_environment

    template = load_environment(outdir, environment)
    started = time.perf_counter()
    with LocalCloud(template):
        deployed = time.perf_counter()
    return round(deployed - started, 2)


def main(argv: list[str]) -> int:
    size, scratch = int(argv[0]), Path(argv[1])
    point = run_size(Path.cwd(), scratch, size, local_deploy="--local-deploy" in argv[2:])
    print(json.dumps(asdict(point)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
