"""Builds the CDK app: one Stage per environment, cdk-nag on all of it. Used by app.py and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from infra.catalog import Catalog, load_catalog
from infra.config import EnvironmentTable, load_environments
from infra.nag import enable_checks
from infra.stacks.keel_stack import KeelStack

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class KeelApp:
    app: cdk.App
    stacks: dict[str, KeelStack]


def build_app(
    root: Path = ROOT, outdir: str | None = None, environments: EnvironmentTable | None = None, catalog: Catalog | None = None
) -> KeelApp:
    """The whole app. Raises KeelConfigError, naming file and field, for any invalid input."""
    environments = environments or load_environments(root / "config" / "environments.yaml")
    catalog = catalog or load_catalog(root, environments)
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    # Packages are staged beside the assembly they belong to, so concurrent synths never share them.
    build_root = Path(app.outdir) / ".keel-build"
    stacks = {}
    for env in environments.environments.values():
        stage = cdk.Stage(app, env.name, env=cdk.Environment(account=env.account, region=env.region))
        stacks[env.name] = KeelStack(
            stage,
            "Keel",
            stack_name=env.stack_name,
            description=f"Keel automation platform, environment {env.name}",
            environment=env,
            catalog=catalog,
            build_dir=build_root / env.name,
        )
    enable_checks(app)
    return KeelApp(app=app, stacks=stacks)
