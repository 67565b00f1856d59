"""A picture of an execution: its state machine as deployed (Keel's prologue and failure path included)
with the path taken, the retries and the failing state marked, as SVG or a self-contained HTML page.

The graph is written in Graphviz's DOT and laid out by Graphviz itself, compiled to WebAssembly in
the npm package @viz-js/viz (pinned in package.json, installed by `make install`): no system binary,
nothing downloaded when drawing. Every state is a node whose SVG group carries classes saying what
happened to it (`taken`, `succeeded`, `retried`, `caught`, `failed`, `running`, `keel` for the states
Keel adds), so the picture can be checked, and styled, by its structure.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.execution_path import StateVisit

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
VIZ_MODULE = Path("node_modules") / "@viz-js" / "viz"
START, END = "__start__", "__end__"
MAX_LABEL = 40
# Fill and border per status; states not taken stay white and grey.
COLOURS = {
    "succeeded": ("#e3f9e5", "#2f8132"),
    "retried": ("#fff3c4", "#cb6e17"),
    "caught": ("#ffe8d9", "#c65d21"),
    "failed": ("#ffe3e3", "#c62828"),
    "running": ("#dceefb", "#186faf"),
}
NOT_TAKEN = ("#ffffff", "#9aa5b1")
TAKEN_EDGE = "#243b53"
LEGEND = "\n".join(
    [
        "green: succeeded",
        "amber: succeeded after retries",
        "orange: error caught",
        "red: failed",
        "dashed: added by Keel",
        "dark arrows: the path taken",
    ]
)
# Node runs Graphviz (WebAssembly) on the DOT read from stdin and prints the SVG.
RENDER = """
const { instance } = require(process.argv[1]);
let dot = "";
process.stdin.on("data", (chunk) => (dot += chunk));
process.stdin.on("end", async () => {
  const result = (await instance()).render(dot, { format: "svg" });
  if (result.status !== "success") {
    console.error(result.errors.map((e) => e.message).join("; "));
    process.exit(1);
  }
  process.stdout.write(result.output);
});
"""


class GraphError(Exception):
    """The graph cannot be drawn here (no Node.js, no @viz-js/viz), said in one line."""


@dataclass
class _Graph:
    """The DOT statements of a state machine, and which state belongs to which scope (a branch)."""

    lines: list[str] = field(default_factory=list)
    scope: dict[str, str] = field(default_factory=dict)


def draw(definition: dict[str, Any], visits: list[StateVisit], path: Path, title: str) -> Path:
    """Write the picture to `path`: SVG, or a self-contained HTML page when it ends in .html."""
    svg = render_svg(to_dot(definition, visits, title))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(svg, title) if path.suffix.lower() in (".html", ".htm") else svg)
    return path


def to_dot(definition: dict[str, Any], visits: list[StateVisit], title: str) -> str:
    graph = _Graph()
    by_name: dict[str, StateVisit] = {}
    attempts: dict[str, int] = {}
    for visit in visits:  # a state visited more than once (a loop) shows its last visit, and every attempt
        by_name[visit.name] = visit
        attempts[visit.name] = attempts.get(visit.name, 0) + max(visit.attempts, 1)
    _states(graph, definition, "top", by_name, attempts)
    taken = _taken_edges(graph, visits, definition)
    lines = [
        "digraph execution {",
        '  graph [fontname="Helvetica", pad=0.4, rankdir=TB, nodesep=0.3, ranksep=0.35];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.7];',
        f'  "{START}" [label="start", shape=circle, width=0.45, fixedsize=true, style=filled, fillcolor="#243b53", '
        'fontcolor=white, class="terminal taken", id="start"];',
        f'  "{END}" [label="end", shape=doublecircle, width=0.4, fixedsize=true, style=filled, fillcolor="#ffffff", '
        'class="terminal", id="end"];',
        f'  "legend" [label={_legend(title)}, shape=plaintext, style="", fontcolor="#52606d", class="legend"];',
        *graph.lines,
        *_edges(definition, by_name, taken),
        "}",
    ]
    return "\n".join(lines) + "\n"


def _legend(title: str) -> str:
    """The title and the key, as one node: a graph's own label can be cut where it is wider than the graph."""
    key = "<br/>".join(html.escape(line) for line in LEGEND.splitlines())
    heading = "<br/>".join(html.escape(line) for line in title.splitlines())
    return f'<<font point-size="11"><b>{heading}</b></font><br/><font point-size="8">{key}</font>>'


def _states(graph: _Graph, machine: dict[str, Any], scope: str, visits: dict[str, StateVisit], attempts: dict[str, int]) -> None:
    for name, state in machine.get("States", {}).items():
        graph.scope[name] = scope
        graph.lines.append(_node(name, state, visits.get(name), attempts.get(name, 0)))
        for index, branch in enumerate(_branches(state)):
            cluster = f"{name}#{index}"
            graph.lines.append(f'  subgraph "cluster_{_escape(cluster)}" {{')
            part = f"branch {index + 1}" if state["Type"] == "Parallel" else "each item"
            graph.lines.append(f'    label="{_escape(name)}: {part}";')
            graph.lines.append('    style="rounded,dashed"; color="#9aa5b1"; fontname="Helvetica"; fontsize=9;')
            _states(graph, branch, cluster, visits, attempts)
            graph.lines.append("  }")


def _branches(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", []))
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if processor else []
    return []


def _node(name: str, state: dict[str, Any], visit: StateVisit | None, attempts: int) -> str:
    kind = state.get("Type", "?")
    status = visit.status if visit else None
    fill, border = COLOURS[status] if status else NOT_TAKEN
    label = [name, _what(state)]
    if visit and attempts > 1 and kind in ("Task", "Parallel", "Map"):
        label.append(f"{attempts} attempts ({attempts - 1} retried)")
    if visit and visit.errors:
        label.append(f"{'failed' if status == 'failed' else 'error'}: {visit.errors[-1]['error']}")
    classes = ["state", f"type-{kind.lower()}", *(["keel"] if name.startswith("Keel") else [])]
    classes += ["taken", status] if status else ["not-taken"]
    if visit and attempts > 1:
        classes.append("has-retries")
    style = "rounded,filled,dashed" if name.startswith("Keel") else "rounded,filled"
    shape = {"Fail": "octagon", "Succeed": "box", "Choice": "diamond"}.get(kind, "box")
    width = 2.5 if status == "failed" else 1.6 if status else 1.0
    return (
        f'  "{_escape(name)}" [label="{_escape(chr(10).join(part for part in label if part))}", shape={shape}, '
        f'style="{style}", fillcolor="{fill}", color="{border}", fontcolor="{"#102a43" if status else "#7b8794"}", '
        f'penwidth={width}, class="{" ".join(classes)}", id="state-{_escape(name)}", '
        f'tooltip="{_escape(_tooltip(name, kind, visit))}"];'
    )


def _what(state: dict[str, Any]) -> str:
    """What a task calls, in a few words: `lambda emit_heartbeat`, `dynamodb:putItem`, ..."""
    resource = str(state.get("Resource", ""))
    if not resource:
        return f"({state.get('Type', '?')})"
    function = state.get("Parameters", {}).get("FunctionName") if isinstance(state.get("Parameters"), dict) else None
    if "lambda:invoke" in resource and isinstance(function, str):
        # keel-<env>-<automation>-<module>: the module is what the reader knows (module names have no dashes).
        module = function.rsplit(":", 1)[-1].rsplit("-", 1)[-1]
        return _short(f"lambda {module}" + (" (waits for a token)" if "waitForTaskToken" in resource else ""))
    return _short(resource.removeprefix("arn:aws:states:::").removeprefix("aws-sdk:"))


def _tooltip(name: str, kind: str, visit: StateVisit | None) -> str:
    if visit is None:
        return f"{name} ({kind}): not taken"
    told = f"{name} ({kind}): {visit.status}"
    if visit.duration_ms is not None:
        told += f" in {visit.duration_ms} ms"
    for error in visit.errors:
        told += f"; {error['error']}: {_short(error['cause'], 200)}"
    return told


def _edges(machine: dict[str, Any], visits: dict[str, StateVisit], taken: set[tuple[str, str, bool]]) -> Iterator[str]:
    yield _edge(START, machine["StartAt"], "", (START, machine["StartAt"], False) in taken)
    for source, target, label, kind in _transitions(machine):
        yield _edge(source, target, label, (source, target, kind == "catch") in taken, kind)
    for name, visit in visits.items():
        if visit.attempts > 1:
            yield _edge(name, name, "", True, "retry")  # the count is in the node: a loop's label gets cut


def _transitions(machine: dict[str, Any], top: bool = True) -> Iterator[tuple[str, str, str, str]]:
    """(source, target, label, kind) of every transition, nested branches included (their ends stay inside)."""
    for name, state in machine.get("States", {}).items():
        if state.get("Next"):
            yield name, state["Next"], "", "next"
        for index, choice in enumerate(state.get("Choices", [])):
            yield name, choice["Next"], _short(_condition(choice)) or f"choice {index + 1}", "choice"
        if state.get("Default"):
            yield name, state["Default"], "default", "choice"
        for catcher in state.get("Catch", []):
            yield name, catcher["Next"], _short("catch " + ", ".join(catcher.get("ErrorEquals", []))), "catch"
        if top and state.get("End"):
            yield name, END, "", "next"
        for branch in _branches(state):
            yield name, branch["StartAt"], "", "branch"
            yield from _transitions(branch, top=False)


def _condition(choice: dict[str, Any]) -> str:
    variable = choice.get("Variable", "")
    for key, value in choice.items():
        if key not in ("Variable", "Next") and not isinstance(value, dict | list):
            return f"{variable} {key} {json.dumps(value)}".strip()
    return "and/or/not" if any(key in choice for key in ("And", "Or", "Not")) else ""


def _edge(source: str, target: str, label: str, taken: bool, kind: str = "next") -> str:
    colour = TAKEN_EDGE if taken else "#cbd2d9"
    style = {"catch": "dashed", "branch": "dotted", "retry": "bold"}.get(kind, "solid")
    width = 2.2 if taken else 1.0
    classes = f"transition {kind}{' taken' if taken else ''}"
    return (
        f'  "{_escape(source)}" -> "{_escape(target)}" [label="{_escape(label)}", color="{colour}", '
        f'fontcolor="{colour}", style={style}, penwidth={width}, class="{classes}"];'
    )


def _taken_edges(graph: _Graph, visits: list[StateVisit], machine: dict[str, Any]) -> set[tuple[str, str, bool]]:
    """Transitions the execution made, as (source, target, through a Catch): consecutive visits in the
    same scope (interleaved branches apart); a state whose error was caught left through its Catch."""
    defined = {(source, target, kind == "catch") for source, target, _label, kind in _transitions(machine)}
    last: dict[str, StateVisit] = {}
    taken: set[tuple[str, str, bool]] = set()
    for visit in visits:
        scope = graph.scope.get(visit.name, "top")
        previous = last.get(scope)
        if previous is None:
            taken.add((START, visit.name, False) if scope == "top" else (_parent(scope), visit.name, False))
        else:
            caught = previous.status == "caught" and (previous.name, visit.name, True) in defined
            taken.add((previous.name, visit.name, caught))
        last[scope] = visit
    final = visits[-1] if visits else None
    if final is not None and final.status in ("succeeded", "retried"):
        taken.add((final.name, END, False))
    return taken


def _parent(scope: str) -> str:
    return scope.rsplit("#", 1)[0]


def render_svg(dot: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise GraphError("drawing a graph needs Node.js (the `node` command), which `make install` also needs")
    module = PACKAGE_ROOT / VIZ_MODULE
    if not module.is_dir():
        raise GraphError(f"drawing a graph needs the npm package @viz-js/viz in {module.parent.parent}: run `make install`")
    result = subprocess.run(  # noqa: S603 (a fixed script; the DOT goes through stdin)
        [node, "-e", RENDER, str(module)], input=dot, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise GraphError(f"graphviz could not draw the graph: {result.stderr.strip() or result.returncode}")
    return result.stdout


def page(svg: str, title: str) -> str:
    """The SVG in a self-contained HTML page: no script, no stylesheet or font fetched."""
    body = svg[svg.index("<svg") :]
    title = " ".join(title.split())
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:Helvetica,Arial,sans-serif;margin:1rem}svg{max-width:100%;height:auto}</style>\n"
        f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}</body>\n</html>\n"
    )


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
