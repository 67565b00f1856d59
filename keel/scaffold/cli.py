"""`keel new automation NAME [--like EXISTING]` and `keel new module NAME`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keel.scaffold.writer import Files


def register(commands: Any) -> None:
    new = commands.add_parser("new", help="write a working automation or module to start from (passes make test as written)")
    kinds = new.add_subparsers(dest="kind", required=True)

    automation = kinds.add_parser(
        "automation", help="a manifest, its workflow, its deciding module, sample events and tests (or: like an existing one)"
    )
    automation.add_argument("name", help="the automation's name (lower-case letters, digits, underscores)")
    automation.add_argument("--like", metavar="EXISTING", help="share this automation's workflow and modules, copy its events")
    automation.add_argument("--owner", help="the owning team (default: platform-team, or EXISTING's)")
    automation.add_argument("--oncall", help="its on-call route (default: a route every environment has, or EXISTING's)")
    automation.set_defaults(run=_new_automation)

    module = kinds.add_parser("module", help="a function module (handler, logic, function.yaml) and its unit test")
    module.add_argument("name", help="the module's name (lower-case letters, digits, underscores)")
    module.set_defaults(run=_new_module)


def _new_automation(args: argparse.Namespace) -> int:
    from infra.config import load_environments
    from keel.scaffold.generate import new_automation, new_automation_like

    root = Path(args.root)
    if args.like:
        files = new_automation_like(root, args.name, args.like, args.owner, args.oncall)
    else:
        environments = load_environments(root / "config" / "environments.yaml")
        files = new_automation(root, args.name, environments, args.owner, args.oncall)
    _report(files, f"make test, then: keel local run --synth events/{args.name}/")
    return 0


def _new_module(args: argparse.Namespace) -> int:
    from keel.scaffold.generate import new_module

    files = new_module(Path(args.root), args.name)
    _report(files, f"list it in an automation's functions and invoke it as ${{{args.name}}} in its ASL; make test")
    return 0


def _report(files: Files, next_step: str) -> None:
    for path in files.write():
        print(f"wrote {path}")
    print(f"next: {next_step}")
