"""A long local run: does the local cloud slow down as its tables grow?

    .venv/bin/python -m keel.bench.long_run --events 2000

One local cloud of the dev template runs N events (the sample events of ticket_triage and of the
remediation automations in turn, each with its own id, their worlds applied first), delivered in
batches and each batch driven to an end (approvals answered). It prints events/s over the first and
the last minute of the run and per minute in between, so a decline shows: moto's tables only grow
during a run (claims, decisions, approvals, idempotency records), and whatever scans them shows up here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.bench.local_runs import unique_events
from keel.local.eventbridge import load_event_file
from keel.local.world import apply_worlds, template_variables, worlds_for

AUTOMATIONS = ("ticket_triage", "alarm_remediation", "security_finding_response")
BATCH = 20
MINUTE = 60.0


@dataclass(frozen=True)
class LongRun:
    events: int
    wall_seconds: float
    # (seconds since the start, events whose executions had all ended by then), one per batch.
    progress: list[tuple[float, int]]
    statuses: dict[str, int]

    def rate_between(self, start: float, end: float) -> float:
        """Events ended per second between two moments of the run (interpolated at batch ends)."""
        return (self._done_at(end) - self._done_at(start)) / (end - start) if end > start else 0.0

    def _done_at(self, moment: float) -> float:
        previous = (0.0, 0)
        for at, done in self.progress:
            if at >= moment:
                span = at - previous[0]
                share = (moment - previous[0]) / span if span else 1.0
                return previous[1] + share * (done - previous[1])
            previous = (at, done)
        return float(previous[1])

    def per_minute(self) -> list[float]:
        minutes = int(self.wall_seconds // MINUTE)
        return [self.rate_between(index * MINUTE, (index + 1) * MINUTE) for index in range(minutes)]

    def first_and_last_minute(self) -> tuple[float, float]:
        last_start = max(0.0, self.wall_seconds - MINUTE)
        return self.rate_between(0.0, min(MINUTE, self.wall_seconds)), self.rate_between(last_start, self.wall_seconds)


def sample_paths(root: Path) -> list[Path]:
    return [path for automation in AUTOMATIONS for path in sorted((root / "events" / automation).glob("*.json"))]


def long_run(root: Path, template: Any, count: int) -> LongRun:
    from keel.local.cloud import LocalCloud

    paths = sample_paths(root)
    events = unique_events([load_event_file(path).event for path in paths], count, "keel-long-run")
    progress: list[tuple[float, int]] = []
    with LocalCloud(template, drive_limit_seconds=3600.0) as cloud:
        apply_worlds(worlds_for(paths), cloud.client, template_variables(template.account, template.region))
        started = time.perf_counter()
        for first in range(0, len(events), BATCH):
            for event in events[first : first + BATCH]:
                cloud.deliver(event)
            cloud.drive("approve")
            progress.append((time.perf_counter() - started, min(first + BATCH, len(events))))
        wall = time.perf_counter() - started
        statuses: dict[str, int] = {}
        for arn in cloud.execution_arns():
            status = cloud.execution_status(arn)
            statuses[status] = statuses.get(status, 0) + 1
    return LongRun(len(events), wall, progress, statuses)


def describe(run: LongRun) -> str:
    first, last = run.first_and_last_minute()
    minutes = ", ".join(f"{rate:.1f}" for rate in run.per_minute())
    ended = ", ".join(f"{count} {status}" for status, count in sorted(run.statuses.items()))
    return (
        f"{run.events} events in {run.wall_seconds:.0f} s ({run.events / run.wall_seconds:.1f} events/s overall)\n"
        f"events/s in the first minute: {first:.1f}; in the last minute: {last:.1f}\n"
        f"events/s per whole minute: {minutes or 'the run was shorter than a minute'}\n"
        f"executions: {ended}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keel.bench.long_run", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events to run (default 2000)")
    parser.add_argument("--env", default="dev", help="the environment whose template runs (default dev)")
    parser.add_argument("--root", default=".", help="the repository (default: the current directory)")
    args = parser.parse_args(argv)
    from infra.app_builder import build_app
    from infra.synthesis import synthesize
    from keel.local.template import load_environment

    root = Path(args.root).resolve()
    with tempfile.TemporaryDirectory(prefix="keel-long-run-") as outdir:
        synthesize(build_app(root=root, outdir=outdir))
        template = load_environment(Path(outdir), args.env)
        print(describe(long_run(root, template, args.events)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
