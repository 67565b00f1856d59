"""`keel bench`: run every measurement in order (noise-sensitive first), write BENCHMARKS.md, print it."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.bench.catalog_scale import ScalePoint
    from keel.bench.cold_import import ImportCost, ImportTiming
    from keel.bench.local_runs import AutomationRun
    from keel.bench.synth import SynthTiming


def register(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="measure cold starts, overheads, cost per run, synth and throughput; write BENCHMARKS.md"
    )
    bench.add_argument("--skip-test-timing", action="store_true", help="do not time `make test` (quick iterations)")
    bench.add_argument("--runs", type=int, default=7, help="cold import samples per handler (median; default 7)")
    bench.add_argument("--events", type=int, default=200, help="events per automation for throughput (default 200)")
    bench.add_argument(
        "--throughput-budget",
        type=float,
        default=120.0,
        help="seconds of throughput run per automation before it stops delivering: a guard, the report says when it "
        "cut a run short (default 120; 0: no limit)",
    )
    bench.add_argument("--synth-runs", type=int, default=2, help="`python app.py` runs (default 2)")
    bench.add_argument("--skip-scale", action="store_true", help="do not synthesize the generated catalogs (10, 100, 300)")
    bench.add_argument("--env", default="dev", help="the environment whose template the local cloud runs (default: dev)")
    bench.add_argument("--prices", default="bench/prices.json", help="the price file (default: bench/prices.json)")
    bench.add_argument("--output", default="BENCHMARKS.md", help="where to write the report (default: BENCHMARKS.md)")
    bench.set_defaults(run=run)


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    # Imported here: `keel` commands other than bench must not pay for moto and the measurements.
    from functions.shared.domain.prices import load_prices
    from keel.bench.machine import describe_machine
    from keel.bench.make_test import MakeTestTiming, measure_make_test
    from keel.bench.package_size import function_packages, layer_estimate
    from keel.bench.report import Results, render
    from keel.bench.warm import measure_warm

    root = Path(args.root).resolve()
    started = time.perf_counter()
    prices = load_prices(root / args.prices)
    with tempfile.TemporaryDirectory(prefix="keel-bench-") as scratch:
        tmp = Path(scratch)
        cold, breakdown, modules = _cold_imports(root, args.runs, tmp)
        _progress("warm overhead")
        warm = measure_warm(root)
        packages = function_packages(root / "functions", modules, tmp / "packages")
        synth, runs, skipped = _synth_and_local_cloud(root, args, tmp)
        scale = [] if args.skip_scale else _catalog_scale(root, tmp)
    make_test: MakeTestTiming | None = None
    if not args.skip_test_timing:
        _progress("make test (a few minutes)")
        make_test = measure_make_test(root)
    results = Results(
        machine=describe_machine(),
        environment=args.env,
        cold=cold,
        cold_runs=args.runs,
        worst_breakdown=breakdown,
        warm=warm,
        prices=prices,
        runs=runs,
        skipped_automations=skipped,
        synth=synth,
        packages=packages,
        layer=layer_estimate(),
        make_test=make_test,
        events_requested=args.events,
        scale=scale,
    )
    output = root / args.output
    text = with_kept_sections(render(results), output.read_text() if output.exists() else "", timed_tests=make_test is not None)
    output.write_text(text)
    print(text)
    _progress(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


def with_kept_sections(text: str, earlier: str, timed_tests: bool) -> str:
    """The new report with what other runs measured kept from the earlier file: the soak section (`make soak`
    writes it) and, when this run did not time `make test`, the earlier `make test` section."""
    from keel.bench.markdown import kept_section, with_section
    from keel.bench.report import MAKE_TEST_SECTION
    from keel.bench.soak import SECTION as SOAK_SECTION

    make_test = None if timed_tests else kept_section(earlier, MAKE_TEST_SECTION)
    if make_test is not None:
        text = with_section(text, MAKE_TEST_SECTION, make_test)
    soak = kept_section(earlier, SOAK_SECTION)
    return with_section(text, SOAK_SECTION, soak) if soak is not None else text


def _cold_imports(root: Path, runs: int, tmp: Path) -> tuple[list[ImportTiming], tuple[str, list[ImportCost]] | None, list[str]]:
    from keel.bench import cold_import

    modules = cold_import.discover_modules(root / "functions")
    _progress(f"cold import of {len(modules)} modules and the references, {runs} rounds")
    env = cold_import.child_environment()
    targets = cold_import.prepare_targets(root / "functions", modules, tmp / "cold")
    cold = cold_import.measure(targets, runs, env)
    handlers = [timing for timing in cold if not timing.target.reference]
    if not handlers:
        return cold, None, modules
    worst = max(handlers, key=lambda timing: timing.median_import_ms)
    bare = next(target for target in targets if target.name == cold_import.BARE)
    costs = cold_import.by_package(cold_import.importtime(worst.target, env), cold_import.importtime(bare, env))
    return cold, (worst.target.name, costs), modules


def _catalog_scale(root: Path, tmp: Path) -> list[ScalePoint]:
    from keel.bench.catalog_scale import SIZES, measure_scale

    _progress(f"catalog scale: generated catalogs of {', '.join(map(str, SIZES))} automations (about 3 minutes)")
    return measure_scale(root, tmp / "scale")


def _synth_and_local_cloud(root: Path, args: argparse.Namespace, tmp: Path) -> tuple[SynthTiming, list[AutomationRun], list[str]]:
    from keel.bench.automations import load_bench_automations
    from keel.bench.local_runs import run_automation
    from keel.bench.synth import measure_synth
    from keel.local.template import load_environment

    _progress(f"synth x{args.synth_runs}")
    synth = measure_synth(root, tmp / "cdk.out", args.synth_runs)
    template = load_environment(tmp / "cdk.out", args.env)
    automations = load_bench_automations(root)
    runs = []
    skipped = [f"{item.name}: no sample events in events/{item.name}/" for item in automations if not item.events]
    for automation in automations:
        if automation.events:
            _progress(f"local cloud: {automation.name}: {args.events} events, then its happy and failure paths")
            try:
                runs.append(run_automation(template, automation, args.events, args.throughput_budget or None))
            except Exception as error:  # one automation's broken run is reported, and the others still measured
                where = traceback.extract_tb(error.__traceback__)[-1]
                failure = f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"
                skipped.append(f"{automation.name}: the local cloud run failed: {failure}")
                _progress(skipped[-1])
    return synth, runs, skipped
