"""BENCHMARKS.md: every figure of one `make bench` run, as Markdown tables (also printed as is)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.shared.domain.costs import Cost, Usage, cheaper, cost_per_million, lambda_gb_seconds, unpriced_calls
from functions.shared.domain.prices import Prices
from keel.bench.catalog_scale import ScalePoint
from keel.bench.cold_import import BARE, ImportCost, ImportTiming
from keel.bench.local_runs import AutomationRun
from keel.bench.machine import Machine
from keel.bench.make_test import MakeTestTiming
from keel.bench.markdown import table
from keel.bench.package_size import PackageSize
from keel.bench.scale_report import scale_section
from keel.bench.stats import median, ratio
from keel.bench.synth import SynthTiming
from keel.bench.warm import WarmOverhead

COLD_TARGET = 1.3
BREAKDOWN_HEADER = [
    *("automation", "path", "type", "workflow", "Lambda requests", "Lambda GB-s"),
    *("DynamoDB", "events", "other calls", "logs", "total"),
]
WARM_TARGET_US = 100.0


@dataclass(frozen=True)
class Results:
    machine: Machine
    environment: str
    cold: list[ImportTiming]
    cold_runs: int
    worst_breakdown: tuple[str, list[ImportCost]] | None
    warm: WarmOverhead
    prices: Prices
    runs: list[AutomationRun]
    skipped_automations: list[str]
    synth: SynthTiming
    packages: list[PackageSize]
    layer: PackageSize | None
    make_test: MakeTestTiming | None
    events_requested: int
    scale: list[ScalePoint]


def render(results: Results) -> str:
    sections = [
        ["# Benchmarks", "", "Written by `make bench` (`keel bench`). Benchmarks measure; tests never assert timings.", ""],
        table(["machine", ""], [[key, value] for key, value in results.machine.rows()]),
        cold_section(results),
        warm_section(results.warm),
        cost_section(results),
        synth_section(results.synth),
        throughput_section(results),
        package_section(results),
        make_test_section(results.make_test),
        scale_section(results.scale),
    ]
    return "\n".join(line for section in sections for line in [*section, ""]).rstrip() + "\n"


def cold_section(results: Results) -> list[str]:
    bare = next(timing for timing in results.cold if timing.target.name == BARE)
    rows = []
    for timing in results.cold:
        import_ratio = ratio(timing.median_import_ms, bare.median_import_ms)
        verdict = "" if timing.target.reference else ("yes" if import_ratio <= COLD_TARGET else "**no**")
        rows.append(
            [
                timing.target.name if timing.target.reference else f"`{timing.target.name}`",
                f"{timing.median_import_ms:.0f}",
                f"{import_ratio:.2f}x",
                f"{timing.median_process_ms:.0f}",
                f"{ratio(timing.median_process_ms, bare.median_process_ms):.2f}x",
                verdict,
            ]
        )
    lines = [
        "## 1. Cold import",
        "",
        f"A fresh interpreter per sample imports the handler from its staged deployment package (no bytecode caches, "
        f"as on Lambda), then boto3; median of {results.cold_runs} rounds, targets interleaved. The floors are "
        "measured in the same run: what Powertools Logger and Metrics cost on their own, before any of our code; "
        "pydantic is a reference only (functions validate with functions/shared/runtime/contract.py).",
        "",
        *table(
            ["handler", "import ms", "vs bare", "process ms", "vs bare", f"<= {COLD_TARGET}x"],
            rows,
        ),
    ]
    if results.worst_breakdown is not None:
        module, costs = results.worst_breakdown
        lines += ["", f"Where `{module}`'s import time goes (`python -X importtime`, self time by package, top 12):", ""]
        lines += table(
            ["package", "self ms", "also imported by the bare handler"],
            [[f"`{cost.package}`", f"{cost.self_ms:.1f}", "yes" if cost.in_bare else "no"] for cost in costs[:12]],
        )
    return lines


def warm_section(warm: WarmOverhead) -> list[str]:
    labels = {
        "parse": "parse the input (contract TaskInput)",
        "logger": "Logger.inject_lambda_context",
        "metrics": "Metrics.log_metrics (one metric, EMF line to stdout)",
        "task_handler": "**task_handler (all of it)**",
    }
    rows = [["bare handler", f"{warm.per_call_us['bare']:.1f}", "-"]]
    rows += [[label, f"{warm.per_call_us[name]:.1f}", f"{warm.component_us(name):.1f}"] for name, label in labels.items()]
    verdict = "met" if warm.overhead_us < WARM_TARGET_US else "**missed**"
    return [
        "## 2. Warm overhead per invocation",
        "",
        "In-process, median over batches of 400 calls, TaskInput-shaped event:",
        "",
        *table(["handler", "us per call", "over bare (us)"], rows),
        "",
        f"Platform wrapping overhead: **{warm.overhead_us:.1f} us** per invocation "
        f"(target < {WARM_TARGET_US:.0f} us: {verdict}).",
    ]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _usage_row(name: str, path: str, usage: Usage, prices: Prices, express_allowed: bool) -> list[str]:
    standard = cost_per_million(usage, prices, "standard")
    express = cost_per_million(usage, prices, "express") if express_allowed else None
    gb_seconds = sum(lambda_gb_seconds(use, prices) for use in usage.invocations)
    return [
        name,
        path,
        str(usage.runs),
        f"{usage.per_run(usage.transitions):.1f}",
        f"{usage.per_run(len(usage.invocations)):.1f}",
        f"{usage.per_run(gb_seconds):.5f}",
        f"{usage.per_run(usage.write_units):.1f}",
        f"{usage.per_run(usage.custom_events):.1f}",
        _money(standard.total),
        _money(express.total) if express else "n/a",
        cheaper(standard, express),
    ]


def _breakdown_row(name: str, path: str, cost: Cost, kind: str) -> list[str]:
    parts = (cost.workflow, cost.lambda_requests, cost.lambda_compute, cost.dynamodb, cost.events, cost.other_calls, cost.logs)
    return [name, path, kind, *(_money(part) for part in parts), _money(cost.total)]


def cost_section(results: Results) -> list[str]:
    prices = results.prices
    rows, breakdown, notes = [], [], []
    for run in results.runs:
        automation = run.automation
        paths = [("happy", run.happy)] + ([("failure", run.failure)] if run.failure is not None else [])
        for path, usage in paths:
            if usage.runs == 0:
                notes.append(f"- {automation.name} {path} path: no execution of the automation ran (check its sample events).")
                continue
            rows.append(_usage_row(automation.name, path, usage, prices, automation.express_allowed))
            breakdown.append(_breakdown_row(automation.name, path, cost_per_million(usage, prices, "standard"), "standard"))
            if automation.express_allowed:
                breakdown.append(_breakdown_row(automation.name, path, cost_per_million(usage, prices, "express"), "express"))
            notes += [f"- {automation.name}: AWS calls not priced: {', '.join(unpriced_calls(usage, prices))}"] * bool(
                unpriced_calls(usage, prices)
            )
        if not automation.express_allowed:
            notes.append(f"- {automation.name}: Express not possible: {automation.express_reason}.")
        if run.failure is not None:
            statuses = ", ".join(f"{count} {status}" for status, count in sorted(run.failure_statuses.items()))
            notes.append(
                f"- {automation.name} failure path: `{automation.first_function}` fails with TransientError on every "
                f"attempt (a dependency down): retries run out; executions ended {statuses}."
            )
    return [
        "## 3. Cost per one million runs",
        "",
        f"Prices: {prices.region}, {prices.currency}, as of {prices.as_of} (`bench/prices.json`; source: the AWS pricing "
        f"pages listed there, no free tier). Lambda {prices.lambda_architecture}, DynamoDB on demand, Express billed at "
        f"{prices.express_memory_mb} MB per execution.",
        "",
        "Transitions, Lambda invocations, DynamoDB writes (the prologue's claim, our handlers' writes and decisions) "
        f"and events are counted from real executions on the local cloud ({results.environment} template). Lambda "
        "GB-seconds use each module's configured memory and **local in-process durations** (this machine, moto "
        "behind boto3): indicative, not Lambda's. Express durations are the local executions' durations (moto's "
        "interpreter included, virtual waits for retries): an upper bound.",
        "",
        *table(
            [
                "automation",
                "path",
                "runs",
                "transitions/run",
                "Lambda calls/run",
                "GB-s/run",
                "DDB WRU/run",
                "custom events/run",
                "Standard $/1M",
                "Express $/1M",
                "cheaper",
            ],
            rows,
        ),
        "",
        "Breakdown, USD per one million runs:",
        "",
        *table(
            BREAKDOWN_HEADER,
            breakdown,
        ),
        "",
        "Not included: CloudWatch custom metrics (billed per metric per month, not per run), X-Ray traces "
        "(sampled; $5 per million traces recorded), Step Functions execution logs, KMS requests, operators' "
        "approvals, free tiers.",
        *notes,
    ]


def synth_section(synth: SynthTiming) -> list[str]:
    runs = ", ".join(f"{seconds:.1f} s" for seconds in synth.seconds)
    return [
        "## 4. `make synth`",
        "",
        f"`python app.py` in a subprocess into a temporary outdir, environments {', '.join(synth.environments)} "
        f"(cdk-nag included): runs {runs}; median **{median(synth.seconds):.1f} s**.",
    ]


def throughput_section(results: Results) -> list[str]:
    rows = []
    for run in results.runs:
        phase = run.throughput
        succeeded = sum(1 for execution in phase.executions if execution.status == "SUCCEEDED")
        invocations = len(phase.records)
        handler_ms = phase.handler_seconds * 1000 / invocations if invocations else 0.0
        transitions = phase.transitions
        overhead_ms = (phase.wall_seconds - phase.handler_seconds) * 1000 / transitions if transitions else 0.0
        share = phase.handler_seconds / phase.wall_seconds * 100 if phase.wall_seconds else 0.0
        rows.append(
            [
                run.automation.name,
                str(run.events),
                f"{succeeded}/{len(phase.executions)}",
                f"{phase.wall_seconds:.1f}",
                f"**{run.events_per_second:.1f}**",
                str(transitions),
                f"{handler_ms:.2f}",
                f"{overhead_ms:.2f}",
                f"{share:.0f}%",
                f"{median(run.cold_starts_ms):.0f}" if run.cold_starts_ms else "-",
            ]
        )
    lines = [
        "## 5. Local cloud throughput",
        "",
        "Unique event ids, delivered to the buses in batches of 20, each batch driven to an end (approvals "
        "answered), after a warm-up (cold starts excluded). Handlers run in worker processes, several at once: "
        "time in handlers is summed over them, so it can exceed the wall time. Cloud overhead per transition = "
        "(wall time - time in our handlers) / transitions. A worker's cold start is its process's start and its "
        "init phase (importing the handler: boto3 and Powertools are preloaded), median over the run.",
        "",
        *table(
            [
                "automation",
                "events",
                "succeeded",
                "wall s",
                "events/s",
                "transitions",
                "handler ms/invocation",
                "cloud overhead ms/transition",
                "time in handlers",
                "worker cold start ms",
            ],
            rows,
        ),
    ]
    lines += [f"- slowest handlers, median ms per warm invocation: {_slowest(run)}" for run in results.runs]
    lines += [
        f"- {run.automation.name}: stopped delivering after {run.events} events (time budget, `--throughput-budget`)"
        for run in results.runs
        if run.events < results.events_requested
    ]
    lines += [f"- not measured: {reason}" for reason in results.skipped_automations]
    return lines


def package_section(results: Results) -> list[str]:
    rows = [_size_row(size) for size in results.packages]
    lines = [
        "## 6. Deployment package size",
        "",
        "Staged by `infra/packaging.stage_package` (the module and the `functions/shared` files it imports); zip = deflated.",
        "",
        *table(["function", "files", "KiB", "zip KiB"], rows),
    ]
    if results.layer is not None:
        layer = results.layer
        lines += [
            "",
            f"Not in the packages: the Powertools layer (public, resolved at deploy). Estimate from the installed "
            f"packages our functions import from it (Powertools, typing-extensions): {layer.files} files, "
            f"{layer.bytes / 1024 / 1024:.1f} MiB, "
            f"{layer.zipped_bytes / 1024 / 1024:.1f} MiB zipped (**estimate**; the public layer ships more extras).",
        ]
    return lines


MAKE_TEST_SECTION = "## 7. `make test`"


def make_test_section(timing: MakeTestTiming | None) -> list[str]:
    if timing is None:
        return [MAKE_TEST_SECTION, "", "Not measured (`--skip-test-timing`)."]
    outcome = "passed" if timing.returncode == 0 else f"**failed (exit {timing.returncode})**"
    passed = f", {timing.passed} tests passed" if timing.passed is not None else ""
    summary = f"Wall time **{timing.seconds:.0f} s** (lint, mypy, pytest with coverage): {outcome}{passed}."
    return [MAKE_TEST_SECTION, "", summary]


def _size_row(size: PackageSize) -> list[str]:
    return [f"`{size.name}`", str(size.files), f"{size.bytes / 1024:.1f}", f"{size.zipped_bytes / 1024:.1f}"]


def _slowest(run: AutomationRun) -> str:
    durations: dict[str, list[float]] = {}
    for record in run.throughput.records:
        durations.setdefault(record.module, []).append(record.seconds * 1000)
    ranked = sorted(((median(values), module) for module, values in durations.items()), reverse=True)
    return f"{run.automation.name}: " + ", ".join(f"`{module}` {value:.1f}" for value, module in ranked[:3])
