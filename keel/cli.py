"""The `keel` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.errors import KeelConfigError


def _catalog(args: argparse.Namespace) -> int:
    from infra.catalog import load_catalog
    from infra.config import load_environments
    from keel.catalog_view import render

    root = Path(args.root)
    catalog = load_catalog(root, load_environments(root / "config" / "environments.yaml"))
    print(render(catalog, as_json=args.json))
    return 0


def _synth(args: argparse.Namespace) -> int:
    from infra.app_builder import build_app

    keel = build_app(root=Path(args.root), outdir=args.outdir)
    keel.app.synth()
    for name, stack in keel.stacks.items():
        print(f"{name}: {stack.stack_name} -> {args.outdir}/{stack.artifact_id}.template.json (cdk-nag: clean)")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="keel", description="Keel: automations as production AWS infrastructure.")
    root.add_argument("--root", default=".", help="the Keel repository (default: current directory)")
    commands = root.add_subparsers(dest="command", required=True)

    catalog = commands.add_parser("catalog", help="list the automations in automations/")
    catalog.add_argument("--json", action="store_true", help="print JSON instead of a table")
    catalog.set_defaults(run=_catalog)

    synth = commands.add_parser("synth", help="synthesize every environment (cdk-nag enforced)")
    synth.add_argument("--outdir", default="cdk.out")
    synth.set_defaults(run=_synth)

    demo = commands.add_parser("demo", help="synthesize, then show the catalog")
    demo.add_argument("--outdir", default="cdk.out")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(run=lambda args: _synth(args) or _catalog(args))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KeelConfigError as error:
        print(f"keel: invalid configuration: {error}", file=sys.stderr)
        return 1
    return code
