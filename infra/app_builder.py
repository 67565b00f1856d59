"""Builds the CDK app: one Stage per environment, cdk-nag on all of it. Used by app.py and tests.

Each environment is a platform stack, one stack per automation and one per owning team. Automation
and team stacks depend on the platform stack for their deploy order only: they reach its resources
by name (infra/names.py), so no stack exports anything and each deploys on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk

from infra import names
from infra.catalog import Catalog, load_catalog
from infra.config import Environment, EnvironmentTable, load_environments
from infra.constructs.api_rotation import MODULE as ROTATION_MODULE
from infra.constructs.decision_anchor import MODULE as ANCHOR_MODULE
from infra.nag import enable_checks
from infra.packaging import stage_package
from infra.stacks.automation_stack import AutomationStack, AutomationStackProps, stage_packages
from infra.stacks.platform_stack import PlatformStack
from infra.stacks.team_stack import TeamStack

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EnvironmentStacks:
    """An environment's stacks: the platform, then an automation's or a team's by name."""

    environment: Environment
    platform: PlatformStack
    automations: dict[str, AutomationStack] = field(default_factory=dict)
    teams: dict[str, TeamStack] = field(default_factory=dict)

    def all(self) -> list[cdk.Stack]:
        return [self.platform, *self.automations.values(), *self.teams.values()]


@dataclass(frozen=True)
class KeelApp:
    app: cdk.App
    environments: dict[str, EnvironmentStacks]


def build_app(
    root: Path = ROOT, outdir: str | None = None, environments: EnvironmentTable | None = None, catalog: Catalog | None = None
) -> KeelApp:
    """The whole app. Raises KeelConfigError, naming file and field, for any invalid input."""
    environments = environments or load_environments(root / "config" / "environments.yaml")
    catalog = catalog or load_catalog(root, environments)
    app = cdk.App(outdir=outdir, context=feature_flags()) if outdir else cdk.App(context=feature_flags())
    # Packages are staged beside the assembly they belong to, so concurrent synths never share them.
    build_root = Path(app.outdir) / ".keel-build"
    built = {env.name: _environment(app, env, catalog, build_root / env.name) for env in environments.environments.values()}
    enable_checks(app)
    return KeelApp(app=app, environments=built)


def feature_flags() -> dict[str, object]:
    """The context of cdk.json beside this app (CDK's feature flags). The CDK CLI hands it to the app
    itself; `python app.py`, `keel synth`, the local cloud and the tests build the app without the CLI,
    so they read it here and synthesize what `cdk deploy` deploys, whichever catalog root they build.
    Context the CLI passes takes precedence over this."""
    context: dict[str, object] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def _environment(app: cdk.App, env: Environment, catalog: Catalog, build_dir: Path) -> EnvironmentStacks:
    stage = cdk.Stage(app, env.name, env=cdk.Environment(account=env.account, region=env.region))
    platform_name = names.platform_stack(env.name)
    platform = PlatformStack(
        stage,
        platform_name,
        stack_name=platform_name,
        description=f"Keel {env.name}: the platform (bus, key, tables, decision anchor, on-call topics, platform dashboard)",
        environment=env,
        anchor_package=stage_package(catalog.root / "functions", ANCHOR_MODULE, build_dir),
        rotation_package=stage_package(catalog.root / "functions", ROTATION_MODULE, build_dir),
        contracts=catalog.contracts,
    )
    stacks = EnvironmentStacks(environment=env, platform=platform)
    packages = stage_packages(catalog, build_dir)
    for automation in catalog.automations:
        name = names.automation_stack(env.name, automation.name)
        stack = AutomationStack(
            stage,
            name,
            AutomationStackProps(environment=env, automation=automation, catalog=catalog, packages=packages),
            stack_name=name,
            description=f"Keel {env.name}: automation {automation.name} {automation.manifest.version} "
            f"({automation.manifest.owner})",
        )
        stack.add_stack_dependency(platform, "reaches the platform's resources by name: deploy the platform first")
        stacks.automations[automation.name] = stack
    for owner in sorted({automation.manifest.owner for automation in catalog.automations}):
        name = names.team_stack(env.name, owner)
        team = TeamStack(
            stage,
            name,
            stack_name=name,
            description=f"Keel {env.name}: dashboard of team {owner}",
            environment=env,
            owner=owner,
            automations=[automation for automation in catalog.automations if automation.manifest.owner == owner],
        )
        team.add_stack_dependency(platform, "deployed after the platform, like every stack of the environment")
        stacks.teams[owner] = team
    return stacks
