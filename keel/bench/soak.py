"""`make soak`: many events with faults through one local cloud, then where every one of them ended.

    SOAK_EVENTS=1000 make soak        # or: .venv/bin/python -m keel.bench.soak --events 1000

One local cloud of the dev template (the sample events' worlds applied) receives N events in batches
of 20 (keel/bench/soak_plan.py: fresh copies of the samples, duplicates, malformed events, bursts
for one alarm, StartExecution throttled until an event is dead-lettered, function errors, throttles
and timeouts), each batch driven to an end with approvals answered. Then the accounting
(keel/bench/soak_accounting.py), from the cloud's own state: succeeded by outcome, failed by reason,
dead-lettered, and the zeros: lost, left RUNNING, duplicate side effects, limit violations, broken
decision chains. Exits 1 when one of them is not zero. `--write` puts the figures in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.bench.limit_stream import limit_writes, stream_limit_writes
from keel.bench.long_run import LongRun
from keel.bench.machine import describe_machine
from keel.bench.markdown import with_section
from keel.bench.soak_accounting import (
    Accounting,
    acted_twice,
    concurrency_limits,
    cooldowns,
    ending_of,
    limit_violations,
)
from keel.bench.soak_plan import Batch, SoakPlan
from keel.local.eventbridge import load_event_file
from keel.local.world import apply_worlds, template_variables, worlds_for

AUTOMATIONS = ("ticket_triage", "alarm_remediation", "security_finding_response")
DEFAULT_EVENTS = 10_000
SECTION = "## 9. Soak"


@dataclass(frozen=True)
class Soak:
    accounting: Accounting
    run: LongRun
    load: str


def sample_paths(root: Path) -> list[Path]:
    return [path for automation in AUTOMATIONS for path in sorted((root / "events" / automation).glob("*.json"))]


def deliver(cloud: Any, batch: Batch, delivered: list[tuple[str, str, list[Any]]]) -> None:
    cloud.faults.functions.extend(batch.faults)
    for index, delivery in enumerate(batch.deliveries):
        if index == 0 and batch.failed_starts:
            with cloud.faults._lock:
                cloud.faults.failed_starts += batch.failed_starts
        delivered.append((delivery.kind, delivery.event["id"], cloud.deliver(delivery.event)))


def account(cloud: Any, root: Path, delivered: list[tuple[str, str, list[Any]]]) -> Accounting:
    accounting = Accounting()
    account_deliveries(accounting, cloud, delivered)
    account_executions(accounting, cloud)
    account_decisions(accounting, cloud, root)
    return accounting


def account_deliveries(accounting: Accounting, cloud: Any, delivered: list[tuple[str, str, list[Any]]]) -> None:
    """Each delivery reached a rule, and each of its Step Functions targets started an execution or
    dead-lettered the event; each dead letter is a message in its queue."""
    letters = {letter.event_id for letter in cloud.dead_letters}
    for kind, event_id, deliveries in delivered:
        accounting.delivered[kind] += 1
        if not deliveries:
            accounting.lost.append(f"{kind} event {event_id} reached no rule")
        for delivery in deliveries:
            if delivery.execution_arn is None and event_id not in letters and delivery.target.startswith("arn:aws:states:"):
                accounting.lost.append(f"{kind} event {event_id}: no execution and no dead letter for {delivery.rule}")
    for letter in cloud.dead_letters:
        accounting.dead_lettered[f"{letter.error_code} ({letter.exhausted_retry_condition})"] += 1
    accounting.dead_letter_messages = dead_letter_messages(cloud)
    if accounting.dead_letter_messages != sum(1 for letter in cloud.dead_letters if letter.queue_arn):
        accounting.lost.append(
            f"{len(cloud.dead_letters)} events dead-lettered, {accounting.dead_letter_messages} messages in the DLQs"
        )


def account_executions(accounting: Accounting, cloud: Any) -> None:
    for arn in cloud.execution_arns():
        described, _ = cloud.execution_record(arn)
        status, detail = ending_of(
            described["status"], _json(described.get("output")), described.get("error"), described.get("cause")
        )
        if status == "running":
            accounting.running.append(f"{arn} still RUNNING")
        elif status == "succeeded":
            accounting.succeeded[detail] += 1
        else:
            accounting.failed[detail] += 1


def account_decisions(accounting: Accounting, cloud: Any, root: Path) -> None:
    """Actions taken twice, limits exceeded, and whether each automation's decision chain is intact."""
    from keel.ops.session import OpsSession

    session = OpsSession(environment=cloud.template.environment, region=cloud.template.region)
    records = [record for automation in AUTOMATIONS for record in session.decisions.chain(automation)]
    runbook_cooldowns = cooldowns(root)
    accounting.duplicate_side_effects = acted_twice(records, runbook_cooldowns)
    accounting.limit_violations = limit_violations(limit_writes(cloud), concurrency_limits(root), records, set(runbook_cooldowns))
    from keel.ops import ledger

    cloud.streams.drain()  # every record anchored before the chains are compared with the anchor
    for automation in AUTOMATIONS:
        report = ledger.verify(session.decisions, session.anchor, automation)
        accounting.broken_chains += [f"{automation}: {problem}" for problem in report.problems]


def _json(text: Any) -> Any:
    import json

    return json.loads(text) if isinstance(text, str) else text


def dead_letter_messages(cloud: Any) -> int:
    sqs = cloud.client("sqs")
    total = 0
    for queue_arn in {letter.queue_arn for letter in cloud.dead_letters if letter.queue_arn}:
        url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        total += int(attributes["ApproximateNumberOfMessages"])
    return total


def soak(root: Path, template: Any, count: int, seed: int) -> Soak:
    from keel.local.cloud import LocalCloud

    paths = sample_paths(root)
    plan = SoakPlan({path.stem: load_event_file(path).event for path in paths}, count, seed)
    delivered: list[tuple[str, str, list[Any]]] = []
    progress: list[tuple[float, int]] = []
    with LocalCloud(template, drive_limit_seconds=3600.0) as cloud:
        apply_worlds(worlds_for(paths), cloud.client, template_variables(template.account, template.region))
        stream_limit_writes(cloud)
        started = time.perf_counter()
        for batch in plan.batches():
            deliver(cloud, batch, delivered)
            cloud.drive("approve")
            progress.append((time.perf_counter() - started, len(delivered)))
            if len(delivered) % 500 == 0:
                elapsed = progress[-1][0]
                print(f"soak: {len(delivered)} events in {elapsed:.0f} s", file=sys.stderr, flush=True)
        wall = time.perf_counter() - started
        accounting = account(cloud, root, delivered)
    statuses = Counter({"SUCCEEDED": sum(accounting.succeeded.values()), "FAILED": sum(accounting.failed.values())})
    return Soak(accounting, LongRun(len(delivered), wall, progress, dict(statuses)), load_average())


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def table_lines(result: Soak) -> list[str]:
    accounting, run = result.accounting, result.run
    first, last = run.first_and_last_minute()
    rows: list[tuple[str, str]] = [
        ("events delivered", f"{sum(accounting.delivered.values())} ({_counts(accounting.delivered)})"),
        ("succeeded", f"{sum(accounting.succeeded.values())} ({_counts(accounting.succeeded)})"),
        (
            "failed, by reason",
            f"{sum(accounting.failed.values())}"
            + "".join(f"<br>{count} x {why.replace('|', '/')}" for why, count in accounting.failed.most_common()),
        ),
        (
            "dead-lettered",
            f"{sum(accounting.dead_lettered.values())} ({_counts(accounting.dead_lettered)}); "
            f"{accounting.dead_letter_messages} messages in the DLQs",
        ),
        *[(name, f"**{value}**") for name, value in accounting.zeros.items()],
        ("wall time", f"{run.wall_seconds:.0f} s ({run.events / run.wall_seconds:.1f} events/s overall)"),
        ("events/s, first minute", f"**{first:.1f}**"),
        ("events/s, last minute", f"**{last:.1f}** ({_decline(first, last)})"),
        ("load average at the end (1, 5, 15 min)", result.load),
    ]
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counter.most_common()) or "none"


def _decline(first: float, last: float) -> str:
    if first <= 0:
        return "no first minute"
    change = (last - first) / first * 100
    return f"{change:+.0f}% from the first minute"


def section(result: Soak) -> str:
    machine = describe_machine()
    lines = [
        SECTION,
        "",
        f"Written by `make soak` (keel/bench/soak.py) on {machine.date}: {machine.cpu}, {machine.cores} cores, {machine.python}.",
        "One local cloud of the dev template; events in batches of 20, each batch driven to an end (approvals answered),",
        "with duplicates, malformed events, alarm bursts, throttled starts and function faults mixed in",
        "(keel/bench/soak_plan.py).",
        "Every figure below is read from the local cloud's state afterwards (keel/bench/soak_accounting.py).",
        "",
        *table_lines(result),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keel.bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help=f"events to deliver (default {DEFAULT_EVENTS})")
    parser.add_argument("--seed", type=int, default=14, help="seed of the events and faults (default 14)")
    parser.add_argument("--root", default=".", help="the repository (default: the current directory)")
    parser.add_argument("--write", action="store_true", help="write the figures to BENCHMARKS.md's soak section")
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error(f"--events must be at least 1, not {args.events}")
    from infra.app_builder import build_app
    from infra.synthesis import synthesize
    from keel.local.template import load_environment

    root = Path(args.root).resolve()
    with tempfile.TemporaryDirectory(prefix="keel-soak-") as outdir:
        synthesize(build_app(root=root, outdir=outdir))
        result = soak(root, load_environment(Path(outdir), "dev"), args.events, args.seed)
    text = section(result)
    print(text, flush=True)
    for problem in result.accounting.problems()[:50]:
        print(f"- {problem}")
    if args.write:
        benchmarks = root / "BENCHMARKS.md"
        benchmarks.write_text(with_section(benchmarks.read_text(), SECTION, text))
    return 0 if result.accounting.ok else 1


if __name__ == "__main__":
    sys.exit(main())
