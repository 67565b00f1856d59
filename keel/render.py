"""Tables and JSON for people and scripts, shared by every keel command.

On a terminal, a table fits its width (long text wraps; names, numbers and statuses never break),
statuses are coloured, numbers right-aligned and links are terminal hyperlinks (OSC 8). Piped or
redirected, nothing is coloured or cut and links are printed in full; scripts take `--json`.
NO_COLOR (https://no-color.org) turns colour off, FORCE_COLOR turns it on through a pipe. rich
draws the tables; it is imported when a table is drawn, not when `keel` starts, so `keel --help`
does not pay for it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.text import Text

# Statuses Keel prints, by what they mean for the reader: done well, needs a look, went wrong.
GOOD = frozenset(
    [
        "SUCCEEDED",
        "succeeded",
        "ok",
        "enabled",
        "intact",
        "started",
        "same",
        "approved",
        "taken",
        "resolved",
    ]
)
PENDING = frozenset(
    [
        "RUNNING",
        "PENDING_REDRIVE",
        "waiting",
        "running",
        "retried",
        "caught",
        "would-start",
        "planned",
        "changed",
    ]
)
BAD = frozenset(
    [
        "FAILED",
        "TIMED_OUT",
        "ABORTED",
        "failed",
        "expired",
        "disabled",
        "BROKEN",
        "rejected",
        "dead-lettered",
    ]
)
STYLES = {**dict.fromkeys(GOOD, "green"), **dict.fromkeys(PENDING, "yellow"), **dict.fromkeys(BAD, "bold red")}
# Columns whose values are statuses (coloured by STYLES).
STATUS_COLUMNS = frozenset({"status", "state", "outcome", "result"})
# A piped table has no width limit: wide enough for any row.
UNLIMITED = 100_000
# Spaces between columns; the narrowest a cut column gets; the longest word a wrapped column keeps whole.
GAP = 2
MIN_CUT = 10
MAX_WORD = 20


@dataclass(frozen=True)
class Terminal:
    """Where the output goes: a terminal `width` columns wide, or a pipe (width None: no limit)."""

    width: int | None
    colour: bool
    links: bool

    @classmethod
    def detect(cls, stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> Terminal:
        stream = stream or sys.stdout
        environ = os.environ if environ is None else environ
        tty = _isatty(stream)
        width = shutil.get_terminal_size().columns if tty else None
        colour = (tty or bool(environ.get("FORCE_COLOR"))) and not environ.get("NO_COLOR")
        return cls(width=width, colour=colour, links=tty)


PIPE = Terminal(width=None, colour=False, links=False)


@dataclass(frozen=True)
class Link:
    """A URL shown as `text` where the terminal can follow links, in full everywhere else."""

    url: str
    text: str

    def __str__(self) -> str:
        return self.url


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    terminal: Terminal | None = None,
    right: Sequence[str] = (),
) -> str:
    """Rows as a table; on a terminal too narrow for the columns, as one block per row (nothing is lost).
    Numbers are right-aligned, and the columns named in `right` (figures already formatted, like `51 ms`)."""
    if not rows:
        return "(none)"
    terminal = terminal or Terminal.detect()
    from rich.table import Table

    columns = list(columns or rows[0])
    layouts = [
        _layout([_shown(row.get(column), terminal) for row in rows], column, first=index == 0, right=column in right)
        for index, column in enumerate(columns)
    ]
    needed = sum(layout.min_width for layout in layouts) + GAP * (len(columns) - 1)
    if terminal.width is not None and needed > terminal.width:
        return _blocks(rows, columns, terminal)
    drawn = Table(box=None, pad_edge=False, show_edge=False, padding=(0, GAP // 2), header_style=_bold(terminal))
    for column, layout in zip(columns, layouts, strict=True):
        drawn.add_column(column.upper(), **layout.settings)
    for row in rows:
        drawn.add_row(*(_cell(row.get(column), column, terminal) for column in columns))
    return render(drawn, terminal)


@dataclass(frozen=True)
class _Layout:
    settings: dict[str, Any]
    min_width: int


def _layout(values: list[Any], column: str, *, first: bool, right: bool) -> _Layout:
    """How a column gives way when the terminal is narrow: the first column (what names the row, to be
    copied), numbers and statuses never do; text with spaces wraps between words; other tokens (times,
    ids) are cut with an ellipsis."""
    texts = [_plain(value) for value in values]
    widest = max(len(column), *map(len, texts))
    numeric = right or all(value is None or _is_number(value) for value in values)
    if first or numeric or column in STATUS_COLUMNS:
        justify = "right" if numeric else "left"
        return _Layout({"justify": justify, "no_wrap": True, "min_width": widest}, widest)
    if any(" " in text for text in texts):
        least = min(max(len(word) for text in [column, *texts] for word in text.split()), MAX_WORD)
        return _Layout({"overflow": "fold", "min_width": least}, least)
    least = min(widest, MIN_CUT)
    return _Layout({"no_wrap": True, "overflow": "ellipsis", "min_width": least}, least)


def _blocks(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], terminal: Terminal) -> str:
    """Each row as its first value, then `column  value` lines: what a table too wide becomes."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    blocks: list[Any] = []
    for row in rows:
        fields = Table.grid(padding=(0, GAP))
        fields.add_column(no_wrap=True)
        fields.add_column(overflow="fold")
        for column in columns[1:]:
            fields.add_row(f"  {column}", _cell(row.get(column), column, terminal))
        blocks += [Text(_plain(row.get(columns[0])), style=_bold(terminal)), fields]
    return render(Group(*blocks), terminal)


def _bold(terminal: Terminal) -> str:
    return "bold" if terminal.colour else ""


def render(renderable: Any, terminal: Terminal | None = None) -> str:
    """Anything rich can draw, as text for this terminal (ANSI codes only where they are wanted)."""
    from rich.console import Console

    terminal = terminal or Terminal.detect()
    styled = terminal.colour or terminal.links
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=terminal.width or UNLIMITED,
        force_terminal=styled,
        no_color=not terminal.colour,
        color_system="standard" if styled else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    console.print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())


def status(text: str, terminal: Terminal | None = None) -> str:
    """A status word, coloured for what it means where colour is wanted."""
    terminal = terminal or Terminal.detect()
    style = STYLES.get(text) or STYLES.get(text.split(" ", 1)[0])
    if not terminal.colour or not style:
        return text
    from rich.text import Text

    return render(Text(text, style=style), terminal)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def _cell(value: Any, column: str, terminal: Terminal) -> Text | str:
    from rich.text import Text

    if isinstance(value, Link):
        if terminal.links:
            return Text(value.text, style=f"link {value.url}")
        return value.url
    text = _plain(value)
    style = STYLES.get(text) or STYLES.get(text.split(" ", 1)[0])  # `SUCCEEDED (duplicate)` reads as SUCCEEDED
    if terminal.colour and column in STATUS_COLUMNS and style:
        return Text(text, style=style)
    return text


def _shown(value: Any, terminal: Terminal) -> Any:
    """What a cell shows: a link's text where the terminal follows links, its URL elsewhere."""
    if isinstance(value, Link):
        return value.text if terminal.links else value.url
    return value


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False
