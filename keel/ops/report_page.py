"""`keel ops report --html FILE`: one self-contained page, the team's KPI table and one chart per trend.

The charts are pygal's SVG, inlined in the page, with pygal's tooltip script turned off (`js=[]`: by
default a chart links a script on the web), so the page fetches nothing when it is opened. pygal was
chosen over matplotlib and plotly for its size (README "Reports" gives the figures).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.ops.session import OpsError

if TYPE_CHECKING:
    from keel.ops.report import Report

# (key in a trend point, chart title): one chart each.
TRENDS = (
    ("runs", "Runs"),
    ("success_rate", "Success rate (%)"),
    ("p90_s", "p90 duration (s)"),
    ("actions_taken", "Actions taken"),
    ("refused", "Refused by guardrails"),
)
STYLE = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"


def imported_pygal() -> Any:
    """pygal, without the import hook its import appends to `sys.meta_path`.

    pygal 3.1.3's hook (for `pygal.maps` plugins, which Keel does not use) has no `find_spec`, so
    every later failed import in the process (optional imports, such as cfn-lint's) falls back to
    `find_module` with an ImportWarning, which the test suite treats as an error.
    """
    import pygal

    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]
    return pygal


def chart(title: str, labels: list[str], series: dict[str, list[float | None]]) -> str:
    """One line chart as an inline <svg> element, a line per automation, a point per period."""
    pygal = imported_pygal()
    # Legends under the chart, never truncated: automations are told apart by their whole names.
    drawn = pygal.Line(
        title=title,
        x_label_rotation=30,
        js=[],
        disable_xml_declaration=True,
        show_dots=True,
        width=900,
        height=360 + 22 * ((len(series) + 1) // 2),
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        truncate_legend=-1,
    )
    drawn.x_labels = labels
    for name, values in series.items():
        drawn.add(name, values)
    return str(drawn.render(is_unicode=True))


def page(result: Report) -> str:
    from keel.ops.report import COLUMNS, rows

    figures = result.as_json()
    automations = figures["automations"]
    labels = [point["start"][:16].replace("T", " ") for point in automations[0]["trend"]] if automations else []
    charts = [
        f'<section class="trend" data-trend="{key}">'
        + chart(title, labels, {item["automation"]: [point[key] for point in item["trend"]] for item in automations})
        + "</section>"
        for key, title in TRENDS
    ]
    headings = [heading for _, heading in COLUMNS]
    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headings) + "</tr>"
    for row in rows(result):
        table += "<tr>" + "".join(f"<td>{_cell(row[h])}</td>" for h in headings) + "</tr>"
    table += "</table>"
    who = html.escape(result.owner or "every team")
    when = f"{figures['start']} to {figures['end']}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Keel report: {who}</title>'
        f"<style>{STYLE}</style></head><body><h1>Keel report: {who}</h1><p>{html.escape(when)}</p>"
        f"{table}{''.join(charts)}</body></html>\n"
    )


def _cell(value: Any) -> str:
    return "-" if value is None else html.escape(str(value))


def write_page(result: Report, path: Path) -> Path:
    try:
        path.write_text(page(result), encoding="utf-8")
    except OSError as error:
        raise OpsError(f"cannot write --html {path}: {error.strerror}") from None
    return path
