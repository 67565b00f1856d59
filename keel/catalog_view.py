"""`keel catalog` and `keel stacks`: what automations exist, how each is governed, which stacks
deploy them and how close each stack is to CloudFormation's quotas."""

from __future__ import annotations

from typing import Any

from infra import names
from infra.catalog import Catalog
from infra.quotas import GUARD, StackFigures, figures_of
from keel.local.errors import LocalCloudError
from keel.local.template import EnvironmentTemplate
from keel.render import table, to_json


def catalog_rows(catalog: Catalog) -> list[dict[str, Any]]:
    rows = []
    for automation in catalog.automations:
        manifest = automation.manifest
        trigger = manifest.trigger
        triggers = []
        if trigger.event_pattern is not None:
            triggers.append(f"events on {trigger.bus} bus")
        if trigger.schedule is not None:
            triggers.append(trigger.schedule)
        rows.append(
            {
                "automation": manifest.name,
                "version": manifest.version,
                "owner": manifest.owner,
                "oncall": manifest.oncall,
                "classification": manifest.data_classification,
                "trigger": ", ".join(triggers),
                "workflow": f"{manifest.workflow.type} ({manifest.workflow.definition})",
                "functions": ", ".join(manifest.functions) or "-",
            }
        )
    return rows


def stack_rows(environment: EnvironmentTemplate) -> list[StackFigures]:
    """Each synthesized stack's figures, in deploy order."""
    return [figures_of(stack.stack_name, stack.path) for stack in environment.stacks if stack.path is not None]


def render(catalog: Catalog, stacks: list[StackFigures] | None, *, as_json: bool, env: str) -> str:
    rows = catalog_rows(catalog)
    if as_json:
        document: dict[str, Any] = {"automations": rows}
        if stacks is not None:
            document["stacks"] = [stack.as_json() | {"fullest_quota_share": round(stack.headroom(), 4)} for stack in stacks]
        return to_json(document)
    if stacks is None:
        return table(rows)
    figures = [
        {
            "stack": stack.stack,
            "resources": stack.resources,
            "template_kib": round(stack.template_bytes / 1024, 1),
            "parameters": stack.parameters,
            "outputs": stack.outputs,
            "dashboard_kib": round(stack.dashboard_bytes / 1024, 1),
            "fullest_quota": f"{stack.headroom():.0%}",
        }
        for stack in stacks
    ]
    heading = f"stacks of {env} (synth stops a stack above {GUARD:.0%} of any quota):"
    return "\n".join([table(rows), "", heading, table(figures)])


def stack_selectors(catalog: Catalog, env: str, automations: list[str], owners: list[str]) -> list[str]:
    """The CDK CLI's selectors (`<env>/<stack>`) for the environment, or for some automations and teams.

    The CLI adds each stack's dependency, the platform stack, and skips a stack whose template did
    not change, so deploying one team's stacks touches the platform only when it changed."""
    known = {automation.name: automation for automation in catalog.automations}
    teams = sorted({automation.manifest.owner for automation in catalog.automations})
    for name in automations:
        if name not in known:
            raise LocalCloudError(f"unknown automation '{name}' (known: {', '.join(sorted(known))})")
    for owner in owners:
        if owner not in teams:
            raise LocalCloudError(f"unknown owner '{owner}' (owners: {', '.join(teams)})")
    if not automations and not owners:
        return [f"{env}/*"]
    chosen = [name for name in sorted(known) if name in automations or known[name].manifest.owner in owners]
    selected = [f"{env}/{names.automation_stack(env, name)}" for name in chosen]
    return selected + [f"{env}/{names.team_stack(env, owner)}" for owner in sorted(set(owners))]
