"""Markdown tables, as BENCHMARKS.md shows every figure, and its sections, which runs of their own keep."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _span(text: str, heading: str) -> tuple[int, int] | None:
    """Where the section under `heading` starts, and where it ends (its last newline, or the end of `text`)."""
    start = text.find(heading)
    if start < 0:
        return None
    end = text.find("\n## ", start + len(heading))
    return start, end if end >= 0 else len(text)


def with_section(text: str, heading: str, new: str) -> str:
    """`text` with the section under `heading` (to the next `## `) replaced by `new`, or `new` added at the end."""
    new = new.rstrip("\n") + "\n"
    span = _span(text, heading)
    if span is None:
        return text.rstrip("\n") + "\n\n" + new
    start, end = span
    rest = text[end + 1 :]
    return text[:start] + new + ("\n" + rest if rest else "")


def kept_section(text: str, heading: str) -> str | None:
    """The section under `heading` of an existing BENCHMARKS.md, to keep when the file is rewritten."""
    span = _span(text, heading)
    return None if span is None else text[span[0] : span[1] + 1]
