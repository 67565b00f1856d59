"""The `keel` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.cli_options import SharedOption, share
from keel.local.errors import LocalCloudError
from keel.render import to_json

# What a process killed by SIGPIPE returns in a shell (128 + 13), as `yes | head -1` does.
SIGPIPE_EXIT = 141

if TYPE_CHECKING:
    from infra.catalog import Catalog
    from keel.local.faults import FaultPlan
    from keel.local.report import ExecutionReport
    from keel.local.template import EnvironmentTemplate


def _catalog(args: argparse.Namespace) -> int:
    from keel.catalog_view import render, stack_rows

    catalog = _load_catalog(Path(args.root))
    stacks = stack_rows(_local_template(args)) if args.stacks else None
    print(render(catalog, stacks, as_json=args.json, env=args.env))
    return 0


def _load_catalog(root: Path) -> Catalog:
    from infra.catalog import load_catalog
    from infra.config import load_environments

    return load_catalog(root, load_environments(root / "config" / "environments.yaml"))


def _stacks(args: argparse.Namespace) -> int:
    from infra.config import load_environments
    from keel.catalog_view import stack_selectors

    root = Path(args.root)
    known = load_environments(root / "config" / "environments.yaml").environments
    if args.env not in known:
        raise LocalCloudError(f"unknown environment '{args.env}' (known: {', '.join(sorted(known))})")
    selectors = stack_selectors(_load_catalog(root), args.env, args.automation, args.owner)
    print(to_json({"environment": args.env, "stacks": selectors}) if args.json else "\n".join(selectors))
    return 0


def _synth(args: argparse.Namespace) -> int:
    from infra.app_builder import build_app
    from infra.synthesis import synthesize

    figures = synthesize(build_app(root=Path(args.root), outdir=args.outdir))
    if args.json:
        print(to_json({env: [stack.as_json() for stack in stacks] for env, stacks in figures.items()}))
        return 0
    for env, stacks in figures.items():
        worst = max(stacks, key=lambda stack: stack.headroom())
        print(
            f"{env}: {len(stacks)} stacks into {args.outdir}/assembly-{env} (cdk-nag: clean); fullest {worst.stack} "
            f"at {worst.headroom():.0%} of a quota ({worst.resources} resources, {worst.template_bytes / 1024:.0f} KiB)"
        )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from keel import manifest_schema

    root = Path(args.root)
    if args.check:
        if manifest_schema.is_current(root):
            print(f"{manifest_schema.SCHEMA_PATH} is up to date")
            return 0
        print(f"keel: {manifest_schema.SCHEMA_PATH} is not what infra/manifest.py generates: run `keel schema`", file=sys.stderr)
        return 1
    changed = manifest_schema.write(root)
    print(f"{'wrote' if changed else 'unchanged:'} {manifest_schema.SCHEMA_PATH}")
    return 0


def _local_template(args: argparse.Namespace, *, force_synth: bool = False) -> EnvironmentTemplate:
    """The environment's synthesized stacks, synthesizing first when they are missing or out of date."""
    from keel.local.template import is_stale, load_environment

    root, outdir = Path(args.root), Path(args.outdir)
    _check_environment(root, args.env)
    if force_synth or is_stale(outdir, args.env, root):
        from infra.app_builder import build_app
        from infra.synthesis import synthesize

        print(f"keel: synthesizing into {outdir} ...", file=sys.stderr)
        synthesize(build_app(root=root, outdir=str(outdir)))
    return load_environment(outdir, args.env)


def _check_environment(root: Path, env: str) -> None:
    """An environment name is refused before anything is synthesized for it, with the known ones."""
    from infra.config import load_environments

    path = root / "config" / "environments.yaml"
    if path.is_file():
        known = load_environments(path).environments
        if env not in known:
            raise LocalCloudError(f"unknown environment '{env}' (known: {', '.join(sorted(known))})")


def _check_run_names(args: argparse.Namespace, template: EnvironmentTemplate, faults: FaultPlan) -> None:
    """Functions named by --fail/--timeout/--throttle and the --bus exist in the deployed environment."""
    functions = _deployed(template, "AWS::Lambda::Function", "FunctionName")
    # keel-<env>-<automation>-<module>: module names have no dashes
    modules = {name.rsplit("-", 1)[-1] for name in functions}
    for named in [fault.function for fault in faults.functions] + [slowdown.function for slowdown in faults.slowdowns]:
        if named not in functions | modules:
            raise LocalCloudError(
                f"fault '{named}': no such function in {template.environment} "
                f"(modules: {', '.join(sorted(modules))}; or a deployed name such as {min(functions)})"
            )
    from keel.local.cloud import deployed_apis

    apis = set(deployed_apis(template))
    for api_fault in faults.apis:
        if api_fault.api not in apis:
            raise LocalCloudError(
                f"API fault '{api_fault.api}': no such API in {template.environment} (APIs: {', '.join(sorted(apis)) or 'none'})"
            )
    buses = {"default", *_deployed(template, "AWS::Events::EventBus", "Name")}
    if args.bus is not None and args.bus not in buses:
        raise LocalCloudError(f"unknown bus '{args.bus}' (buses of {template.environment}: {', '.join(sorted(buses))})")


def _deployed(template: EnvironmentTemplate, kind: str, name: str) -> set[str]:
    return {
        resource["Properties"][name]
        for resource in template.resources.values()
        if resource["Type"] == kind and isinstance(resource.get("Properties", {}).get(name), str)
    }


def _fault_plan(args: argparse.Namespace) -> FaultPlan:
    from keel.local.fake_apis import parse_api_fault
    from keel.local.faults import FaultPlan, parse_fault, parse_slowdown

    functions = [parse_fault(spec, "error") for spec in args.fail]
    functions += [parse_fault(spec, "timeout") for spec in args.timeout]
    functions += [parse_fault(spec, "throttle") for spec in args.throttle]
    apis = [parse_api_fault(spec) for spec in args.api_fault]
    slowdowns = [parse_slowdown(spec) for spec in args.slow]
    return FaultPlan(functions=functions, failed_starts=args.fail_start, apis=apis, slowdowns=slowdowns)


def _local_run(args: argparse.Namespace) -> int:
    from keel.local.eventbridge import load_event_file
    from keel.local.render import as_json, as_text
    from keel.local.runner import History, RunOptions, event_files, run_events

    files = [load_event_file(path) for path in event_files([Path(name) for name in args.events])]
    if not files:
        raise LocalCloudError(f"no event files in {' '.join(args.events)}")
    faults, apis_dir = _fault_plan(args), Path(args.root) / "apis"
    options = RunOptions(
        faults=faults,
        decision=args.decision,
        duplicate=args.duplicate,
        bus=args.bus,
        apis_dir=apis_dir,
        rotate=tuple(args.rotate),
        history=History(args.history, args.history_every),
    )
    template = _local_template(args, force_synth=args.synth)
    _check_run_names(args, template, options.faults)
    run = run_events(template, files, options)
    graphs = _graphs(run.report.executions, Path(args.graph)) if args.graph else []
    if args.json:
        print(as_json(run))
        for outcome in run.unmatched:
            print(
                f"keel: {outcome.source.path}: event {outcome.source.event['id']} matches no rule on bus {outcome.bus}",
                file=sys.stderr,
            )
        for graph in graphs:
            print(f"keel: graph {graph}", file=sys.stderr)
    else:
        print(as_text(run, logs=args.logs))
        print(*(f"graph {graph}" for graph in graphs), sep="\n", end="\n" if graphs else "")
    return 0 if run.succeeded else 1


def _graphs(executions: list[ExecutionReport], directory: Path) -> list[Path]:
    """Each execution drawn with its path: DIR/<automation>-<execution name>.svg."""
    from keel.execution_graph import draw

    return [
        draw(execution.definition, execution.states, directory / f"{execution.automation}-{execution.name}.svg", title)
        for execution in executions
        for title in [f"{execution.automation}\n{execution.name}: {execution.status}"]
    ]


def _local_up(args: argparse.Namespace) -> int:
    from keel.local import server

    _local_template(args)
    state = server.start(Path(args.root), args.env, args.port, Path(args.outdir), speed=args.speed)
    region = _region(args)
    if args.json:
        described = {"environment": args.env, "region": region, "endpoint": state.endpoint, "pid": state.pid, "log": state.log}
        print(to_json(described))
        return 0
    print(f"keel local: {args.env} is up on {state.endpoint} (pid {state.pid}, log {state.log})")
    # Hints people paste anywhere, run as printed by a test: the local cloud takes any credentials, but
    # an AWS client sends none unless some are set, so the hint sets throwaway ones for that command only.
    print(
        "  try: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"aws stepfunctions list-state-machines --endpoint-url {state.endpoint} --region {region}"
    )
    print(f"  or: keel ops pending --env {args.env} --region {region} --endpoint-url {state.endpoint}")
    print(
        "  alarms: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"aws cloudwatch describe-alarms --state-value ALARM --endpoint-url {state.endpoint} --region {region}"
    )
    print(f"  stop it with: keel local down --root {Path(args.root).resolve()}")
    return 0


def _region(args: argparse.Namespace) -> str:
    from keel.local.template import load_environment

    return load_environment(Path(args.outdir), args.env).region


def _local_serve(args: argparse.Namespace) -> int:
    from keel.local import server

    server.serve_forever(_local_template(args), args.port, args.speed)
    return 0


def _local_down(args: argparse.Namespace) -> int:
    from keel.local import server

    state = server.stop(Path(args.root) / server.STATE_DIR)
    if args.json:
        print(to_json({"stopped": None if state is None else {"endpoint": state.endpoint, "pid": state.pid}}))
        return 0
    print("keel local: no local cloud was up" if state is None else f"keel local: stopped {state.endpoint} (pid {state.pid})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from infra.asl import load_asl, waits_for_task_token
    from keel.local.demo import DemoAutomation, expected_endings, run_demo, sample_events
    from keel.local.template import load_environment

    root = Path(args.root)
    catalog = _load_catalog(root)
    _synthesized(root, Path(args.outdir), args.env)
    template = load_environment(Path(args.outdir), args.env)
    automations = []
    for automation in catalog.automations:
        events = sample_events(root, automation.name)
        definition = load_asl(root / "statemachines" / automation.manifest.workflow.definition)
        automations.append(
            DemoAutomation(
                name=automation.name,
                functions=list(automation.manifest.functions),
                events=events,
                waits_for_token=bool(waits_for_task_token(definition)),
                oncall=automation.manifest.oncall,
                expected=expected_endings(root, automation.name, events),
                apis=list(automation.manifest.apis),
            )
        )
    results = run_demo(template, automations, lambda text: print(text, flush=True))
    return 0 if all(result.passed for result in results) else 1


def _synthesized(root: Path, outdir: Path, env: str) -> None:
    """The environment's stacks in outdir, synthesized (that environment only) when missing or out of date,
    saying so as it goes."""
    import time

    from infra.app_builder import build_app
    from infra.config import EnvironmentTable, load_environments
    from infra.synthesis import synthesize
    from keel.local.template import assembly_dir, is_stale

    _check_environment(root, env)
    if not is_stale(outdir, env, root):
        print(f"keel demo: {env} is up to date in {assembly_dir(outdir, env)}", flush=True)
        return
    table = load_environments(root / "config" / "environments.yaml")
    print(f"keel demo: synthesizing {env} into {outdir} (cdk-nag and the quota guard on) ...", flush=True)
    started = time.monotonic()
    only = EnvironmentTable(environments={env: table.get(env)})
    app = build_app(root=root, outdir=str(outdir), environments=only, catalog=_load_catalog(root))
    figures = synthesize(app)
    print(f"keel demo: {env}: {len(figures[env])} stacks in {time.monotonic() - started:.1f} s", flush=True)


def _add_local(commands: Any) -> None:
    local = commands.add_parser("local", help="run the synthesized app on the embedded local cloud (moto)")
    actions = local.add_subparsers(dest="action", required=True)

    run = actions.add_parser("run", help="deploy an environment locally, deliver event files, run every execution to an end")
    run.add_argument("events", nargs="+", metavar="EVENT_FILE", help="EventBridge event JSON files (or directories of them)")
    _environment_options(run)
    run.add_argument(
        "--json", action="store_true", help="print one JSON document: executions (with their logs), dead letters, alarms, pages"
    )
    run.add_argument("--logs", action="store_true", help="show what each Lambda invocation logged, under its execution and state")
    decision = run.add_mutually_exclusive_group()
    decision.add_argument("--approve", dest="decision", action="store_const", const="approve", help="approve every task token")
    decision.add_argument("--reject", dest="decision", action="store_const", const="reject", help="reject every task token")
    faults = run.add_argument_group("fault injection")
    faults.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="FUNCTION[:ERROR][:N]",
        help="the function's next N invocations (default 1) raise ERROR (default TransientError)",
    )
    faults.add_argument(
        "--timeout",
        action="append",
        default=[],
        metavar="FUNCTION[:N]",
        help="the function's next N invocations time out (Sandbox.Timedout)",
    )
    faults.add_argument(
        "--throttle",
        action="append",
        default=[],
        metavar="FUNCTION[:N]",
        help="the function's next N invocations are throttled (Lambda.TooManyRequestsException)",
    )
    faults.add_argument(
        "--fail-start",
        type=int,
        default=0,
        metavar="N",
        help="EventBridge's next N StartExecution calls are throttled (beyond the retry policy: DLQ)",
    )
    faults.add_argument(
        "--api-fault",
        action="append",
        default=[],
        metavar="API:STATUS|timeout[:N]",
        help="the fake API's next N requests (default 1) get STATUS (429 with Retry-After, 503, 400...) or no answer in time",
    )
    faults.add_argument(
        "--slow",
        action="append",
        default=[],
        metavar="FUNCTION:SECONDS[:N]",
        help="the function's next N invocations (default: every one) take SECONDS longer on their execution's clock",
    )
    faults.add_argument("--duplicate", action="store_true", help="deliver every event twice (same event id)")
    history = run.add_argument_group("history (a baseline for anomaly detection alarms)")
    history.add_argument(
        "--history",
        type=_positive,
        default=0,
        metavar="N",
        help="first deliver fresh copies of the events N times, one period apart and without faults, as their past",
    )
    history.add_argument(
        "--history-every",
        type=_positive,
        default=60,
        metavar="MINUTES",
        help="the world's time between two rounds of the history (default 60, the anomaly alarms' default period)",
    )
    run.add_argument(
        "--rotate",
        action="append",
        default=[],
        metavar="SECRET",
        help="rotate this secret of the environment's catalog first (RotateSecret, through its rotation function)",
    )
    run.add_argument("--bus", help="put the events on this bus (default: aws.* sources on default, others on keel-<env>)")
    run.add_argument("--synth", action="store_true", help="synthesize first even if cdk.out looks up to date")
    run.add_argument(
        "--graph", metavar="DIR", help="draw each execution's state machine with the path it took: DIR/<automation>-<name>.svg"
    )
    run.set_defaults(run=_local_run)

    up = actions.add_parser("up", help="serve the local cloud on 127.0.0.1 in the background (any AWS client, --endpoint-url)")
    _environment_options(up)
    up.add_argument("--port", type=int, default=4566)
    _speed_option(up)
    up.add_argument("--json", action="store_true", help="print where it serves as JSON")
    up.set_defaults(run=_local_up)

    serve = actions.add_parser("serve", help="serve the local cloud in the foreground (what `up` starts)")
    _environment_options(serve)
    serve.add_argument("--port", type=int, default=4566)
    _speed_option(serve)
    serve.set_defaults(run=_local_serve)

    down = actions.add_parser("down", help="stop the local cloud started by `keel local up`")
    down.add_argument("--json", action="store_true", help="print what was stopped as JSON")
    down.set_defaults(run=_local_down)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return int(text)


def _speed_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help="its clock runs N times as fast as real time: schedules fire and alarms are evaluated on it (default 1)",
    )


def _environment_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--env", default="dev", help="the environment whose template to deploy (default: dev)")
    command.add_argument("--outdir", default="cdk.out", help="the cloud assembly directory (default: cdk.out)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="keel", description="Keel: automations as production AWS infrastructure.")
    commands = root.add_subparsers(dest="command", required=True)

    catalog = commands.add_parser(
        "catalog", help="the automations in automations/ and an environment's stacks with their quota figures"
    )
    catalog.add_argument("--json", action="store_true", help="print JSON instead of tables")
    catalog.add_argument("--no-stacks", dest="stacks", action="store_false", help="the automations only (no synth)")
    _environment_options(catalog)
    catalog.set_defaults(run=_catalog)

    stacks = commands.add_parser(
        "stacks", help="the CDK stack selectors of an environment (all, or some automations' or teams'), for cdk deploy|diff"
    )
    stacks.add_argument("--env", required=True, help="the environment")
    stacks.add_argument("--automation", action="append", default=[], help="this automation's stack (repeatable)")
    stacks.add_argument("--owner", action="append", default=[], help="this team's automation and team stacks (repeatable)")
    stacks.add_argument("--json", action="store_true", help="print JSON instead of one selector a line")
    stacks.set_defaults(run=_stacks)

    synth = commands.add_parser("synth", help="synthesize every environment (cdk-nag and the quota guard enforced)")
    synth.add_argument("--outdir", default="cdk.out")
    synth.add_argument("--json", action="store_true", help="print each stack's quota figures as JSON")
    synth.set_defaults(run=_synth)

    schema = commands.add_parser(
        "schema", help="write schemas/automation-manifest.schema.json from the manifest model (editor completion)"
    )
    schema.add_argument("--check", action="store_true", help="only check that the committed schema is current (exit 1 if not)")
    schema.set_defaults(run=_schema)

    demo = commands.add_parser(
        "demo", help="replay every automation's sample events and failure paths on the local cloud, checking each scenario"
    )
    _environment_options(demo)
    demo.set_defaults(run=_demo)

    _add_local(commands)
    from keel.scaffold.cli import register as register_new

    register_new(commands)
    from keel.ops.cli import register as register_ops

    register_ops(commands)
    from keel.bench.main import register as register_bench

    register_bench(commands)
    share(root, [SharedOption(("--root",), "the Keel repository (default: current directory)", {"default": "."})])
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader went away (`keel catalog --json | head -1`): nothing is wrong and nothing more can
        # be said to it. Python would report the unflushed rest at exit, so stdout goes nowhere from here.
        _silence_stdout()
        return SIGPIPE_EXIT


def _run(args: argparse.Namespace) -> int:
    # Imported once a command runs: `keel --help` loads neither pydantic nor the CDK.
    from infra.errors import KeelConfigError
    from infra.quotas import QuotaExceeded
    from keel.execution_graph import GraphError

    try:
        code: int = args.run(args)
    except KeelConfigError as error:
        print(f"keel: invalid configuration: {error}", file=sys.stderr)
        return 1
    except QuotaExceeded as error:
        print(f"keel: quota: {error}", file=sys.stderr)
        return 1
    except LocalCloudError as error:
        print(f"keel: {error}", file=sys.stderr)
        return 2
    except GraphError as error:
        print(f"keel: {error}", file=sys.stderr)
        return 1
    return code


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file descriptor (captured): nothing to silence
        pass
    finally:
        os.close(devnull)
