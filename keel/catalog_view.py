"""`keel catalog`: what automations exist and how each is governed, as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

from infra.catalog import Catalog


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


def render_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(none)"
    columns = list(rows[0])
    widths = {column: max(len(column), *(len(str(row[column])) for row in rows)) for column in columns}
    lines = ["  ".join(column.upper().ljust(widths[column]) for column in columns)]
    lines += ["  ".join(str(row[column]).ljust(widths[column]) for column in columns) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def render(catalog: Catalog, *, as_json: bool) -> str:
    rows = catalog_rows(catalog)
    return json.dumps({"automations": rows}, indent=2) if as_json else render_table(rows)
