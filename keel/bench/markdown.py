"""Markdown tables, as BENCHMARKS.md shows every figure, and its sections, which runs of their own keep."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def with_section(text: str, heading: str, new: str) -> str:
    """`text` with the section under `heading` (to the next `## `) replaced by `new`, or `new` added at the end."""
    new = new.rstrip("\n") + "\n"
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + new
    end = text.find("\n## ", start + len(heading))
    rest = text[end + 1 :] if end >= 0 else ""
    return text[:start] + new + ("\n" + rest if rest else "")


def kept_section(text: str, heading: str) -> str | None:
    """The section under `heading` of an existing BENCHMARKS.md, to keep when the file is rewritten."""
    start = text.find(heading)
    if start < 0:
        return None
    end = text.find("\n## ", start + len(heading))
    return text[start : end + 1 if end >= 0 else len(text)]
