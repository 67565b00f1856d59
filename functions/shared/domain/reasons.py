"""A decision's reason as auditors read it: an error's type and a short message, never a stack trace or a file path.

A reason is kept for as long as the decision record (and its anchored copy) is kept, and is shown to
people who do not operate the code: `keel ops explain`, `keel ops audit`, pages. A stack trace there
says where the code lives, not why the automation did what it did, and file paths leak the layout of
the deployment. The whole error stays where engineers look for it: the execution's history (each
failed task's error and cause) and the function's log.
"""

from __future__ import annotations

import re

# Long enough for an error's type and the sentence that explains it; a reason is not a log.
MAX_REASON_CHARS = 300
TRACEBACK = "Traceback (most recent call last):"
# A stack frame (`  File "/var/task/x.py", line 3, in f`) and the lines Python prints between chained errors.
FRAME = re.compile(r'^\s*File "[^"]*", line \d+')
CHAINING = re.compile(r"^(During handling of the above exception|The above exception was the direct cause)")
CARETS = re.compile(r"^\s*[\^~]+\s*$")
# An absolute path (/var/task/functions/x.py, C:\work\x.py) that starts a word: not the "/web/api" of
# an ARN's "service/web/api" or the "//" of a URL, which follow a letter or a colon.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.\\-])(?:[A-Za-z]:)?[\\/](?:[\w.@+-]+[\\/])+[\w.@+-]*")
# A Python source file, relative or not, with its line number (functions/x/logic.py:42).
SOURCE_FILE = re.compile(r"(?<![\w/.\\-])[\w.-]+(?:[\\/][\w.-]+)*\.pyc?(?::\d+)?\b")
PATH_PLACEHOLDER = "<path>"


def short_reason(text: str) -> str:
    """`text` as one short line: the error line of a traceback, paths replaced, at most MAX_REASON_CHARS."""
    line = " ".join(_without_traceback(text).split())
    line = SOURCE_FILE.sub(PATH_PLACEHOLDER, ABSOLUTE_PATH.sub(PATH_PLACEHOLDER, line))
    if len(line) > MAX_REASON_CHARS:
        line = line[: MAX_REASON_CHARS - 1].rstrip() + "…"
    return line or "(no reason given)"


def _without_traceback(text: str) -> str:
    """The text before a traceback and the error line that ends it (a chained traceback ends with the last error)."""
    if TRACEBACK not in text:
        return text
    before = text[: text.index(TRACEBACK)].strip()
    remaining = [line for line in _outside_frames(text[text.index(TRACEBACK) :].splitlines()) if line.strip()]
    last = remaining[-1].strip() if remaining else ""
    return f"{before} {last}".strip()


def _outside_frames(lines: list[str]) -> list[str]:
    """Lines that are neither a traceback's header, frames, the source lines under them, nor chaining notes."""
    kept: list[str] = []
    in_frame = False
    for line in lines:
        if line.startswith(TRACEBACK) or CHAINING.match(line) or CARETS.match(line):
            in_frame = False
            continue
        if FRAME.match(line):
            in_frame = True
            continue
        if in_frame and line.startswith((" ", "\t")):
            continue  # the source line (and its carets) printed under a frame
        in_frame = False
        kept.append(line)
    return kept
