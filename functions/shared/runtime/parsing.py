"""Input parsed into its model, or InvalidInputError naming each field that breaks it.

`parse_task` is what the handler wrapper runs on a task's whole input: the limits every input must
meet (input_limits.py), then its model. `parse` also serves a part of the input that a module reads
by its kind (an alarm's or a finding's detail), with `at` saying where that part sits in the input.
Messages read `Model: dotted.path: problem`, one line, whatever the input held.
"""

from __future__ import annotations

from typing import Any, TypeVar

from functions.shared.runtime.contract import Model, ValidationError, encodes_utf8
from functions.shared.runtime.errors import InvalidInputError
from functions.shared.runtime.input_limits import MAX_LISTED, Loc, Problem, problems

M = TypeVar("M", bound=Model)
# Characters of an input's text a message quotes at most.
SHOWN = 60


def parse_task(model: type[M], event: Any) -> M:
    # Something other than an object is refused by the model as a whole, whatever it holds.
    found = problems(event) if isinstance(event, dict) else []
    if found:
        raise InvalidInputError(message(model.__name__, found))
    return parse(model, event)


def parse(model: type[M], data: Any, *, at: Loc = (), title: str | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        found = [((*at, *item["loc"]), item["msg"]) for item in error.errors()]
        raise InvalidInputError(message(title or model.__name__, found)) from None


def message(title: str, found: list[Problem]) -> str:
    listed = "; ".join(f"{where(loc)}: {problem}" for loc, problem in found[:MAX_LISTED])
    more = f"; and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
    return f"{title}: {listed}{more}"


def where(loc: Loc) -> str:
    """A field's dotted path; a key that would break the line or the encoding is escaped, an empty one quoted."""
    return ".".join(_part(part) for part in loc) if loc else "(input)"


def shown(text: str) -> str:
    """Text from the input as a message quotes it: escaped, and cut short."""
    cut = text if len(text) <= SHOWN else f"{text[:SHOWN]}..."
    return f"'{_escaped(cut)}'"


def _part(part: str | int) -> str:
    return _escaped(str(part)) or "''"


def _escaped(text: str) -> str:
    return text if text.isprintable() and encodes_utf8(text) else text.encode("unicode_escape").decode("ascii")
