"""`keel catalog`: what automations exist and how each is governed, as a table or JSON."""

from __future__ import annotations

from typing import Any

from infra.catalog import Catalog
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


def render(catalog: Catalog, *, as_json: bool) -> str:
    rows = catalog_rows(catalog)
    return to_json({"automations": rows}) if as_json else table(rows)
