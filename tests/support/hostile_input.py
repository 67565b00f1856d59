"""Hostile task inputs for property tests: a module's real payloads, broken the ways external events
and hand-made inputs break them, and the check that a handler answers each with a result or one of
the project's errors (an InvalidInputError naming the field).

The examples are fixed (derandomize) and few, so `make test` stays fast and repeatable;
KEEL_PROPERTY_EXAMPLES=5000 runs a deeper search, new examples every run.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from functions.shared.runtime.errors import InvalidInputError, KeelError
from functions.shared.runtime.parsing import where

Path = tuple[str | int, ...]
# Places deeper than this are not broken further (the real payloads are at most 10 levels deep).
MAX_BROKEN_DEPTH = 12

# A deeper search (KEEL_PROPERTY_EXAMPLES=N) draws new examples on every run.
DEEPER = os.environ.get("KEEL_PROPERTY_EXAMPLES")
PROPERTY_SETTINGS = settings(
    max_examples=int(DEEPER or "60"),
    derandomize=DEEPER is None,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example, HealthCheck.data_too_large],
)


class Nested(list[Any]):
    """Lists inside each other, shown by their depth: printing them whole would recurse as deep."""

    def __init__(self, levels: int, leaf: Any) -> None:
        super().__init__()
        value = leaf
        for _ in range(levels - 1):
            value = [value]
        self.append(value)
        self.levels = levels

    def __repr__(self) -> str:
        return f"deeply_nested({self.levels})"


def deeply_nested(levels: int, leaf: Any = 1) -> list[Any]:
    """`levels` lists inside each other (built without recursion, as a hostile producer would send it)."""
    return Nested(levels, leaf)


# Text a JSON parser hands over that Python cannot encode (a lone surrogate, from "\ud800").
UNENCODABLE = st.builds(
    lambda before, surrogate, after: before + surrogate + after,
    st.text(max_size=3),
    st.characters(codec=None, categories=["Cs"]),
    st.text(max_size=3),
)
# Longer than anything Step Functions hands a task (262,144 bytes), in one and in two bytes a character.
HUGE_TEXT = st.sampled_from(["x" * 300_000, "\u00e9" * 140_000])
# What DynamoDB cannot store: more than 38 digits, beyond 1E+125, below 1E-130, not finite.
UNSTORABLE_NUMBERS = st.sampled_from(
    [10**38, -(10**40) - 1, 10**126, 1e200, -1e300, 1e-131, 5e-324, float("nan"), float("inf"), float("-inf")]
)
LOOKALIKES = st.sampled_from(
    ["", " ", "0", "-1", "1e999", "NaN", "null", "true", "[]", "{}", "2026-13-45T99:99:99Z", "i-", "TCK-", "a\nb"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    LOOKALIKES,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
HOSTILE = st.one_of(
    JSON,
    UNENCODABLE,
    UNSTORABLE_NUMBERS,
    HUGE_TEXT,
    st.integers(min_value=33, max_value=1200).map(deeply_nested),
    st.just({}),
    st.just([]),
)


def paths(document: Any) -> list[Path]:
    """Every place in a document, the document itself first; not inside what is already nested too deep."""
    found: list[Path] = []
    pending: list[tuple[Any, Path]] = [(document, ())]
    while pending:
        value, path = pending.pop(0)
        found.append(path)
        if len(path) > MAX_BROKEN_DEPTH:
            continue
        if isinstance(value, dict):
            pending.extend((child, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            pending.extend((child, (*path, index)) for index, child in enumerate(value))
    return found


def _at(document: Any, path: Path) -> Any:
    for part in path:
        document = document[part]
    return document


# How one value is broken: each takes the value there and a draw, and returns its replacement.
Breaker = Callable[[Any, Callable[[st.SearchStrategy[Any]], Any]], Any]
BREAKERS: dict[str, Breaker] = {
    "hostile value": lambda _value, draw: draw(HOSTILE),
    "a string where it was an object or a number": lambda value, _draw: json.dumps(value),
    "a list around it": lambda value, _draw: [value],
    "an object around it": lambda value, _draw: {"value": value},
    "emptied": lambda value, _draw: next((empty for empty in ("", [], {}) if isinstance(value, type(empty))), None),
}


@st.composite
def broken(draw: Callable[[st.SearchStrategy[Any]], Any], payloads: list[dict[str, Any]]) -> Any:
    """One of the payloads with one to three places broken: replaced, wrapped, emptied, removed or joined by an extra key."""
    document: Any = copy.deepcopy(draw(st.sampled_from(payloads)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(document)))
        operation = draw(st.sampled_from([*BREAKERS, "removed", "extra key"]))
        if not path:
            document = BREAKERS["hostile value"](document, draw) if operation in BREAKERS else document
            continue
        parent, key = _at(document, path[:-1]), path[-1]
        if operation == "removed":
            del parent[key]
        elif operation == "extra key" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6) | UNENCODABLE)] = draw(HOSTILE)
        elif operation in BREAKERS:
            parent[key] = BREAKERS[operation](parent[key], draw)
    return document


def hostile_payloads(payloads: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """Mostly the real payloads broken in places; sometimes anything at all."""
    return broken(payloads) | HOSTILE


@dataclass(frozen=True)
class Context:
    function_name: str = "keel-dev-property-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:111111111111:function:keel-dev-property-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def names_a_field(message: str, title: str, fields: set[str], payload: Any) -> bool:
    """The message (after its model's name, if it starts with it) starts with a field of the input or its model."""
    text = message.removeprefix(f"{title}: ")
    if text.startswith("(input): "):
        # The whole input is not an object, or a check of the whole model names the field it is about.
        text = text.removeprefix("(input): Value error, ")
        if text.startswith("(input): "):
            return not isinstance(payload, dict)
    known = fields | ({where((key,)) for key in payload if isinstance(key, str)} if isinstance(payload, dict) else set())
    return any(text.startswith((f"{name}.", f"{name}: ")) for name in known)


def assert_answered(handler: Callable[[Any, Any], Any], payload: Any, title: str, fields: set[str]) -> None:
    """The handler returns a JSON result or raises one of the project's errors; an InvalidInputError
    names the field, on one line that can be encoded (Lambda returns it as JSON)."""
    try:
        result = handler(payload, Context())
    except InvalidInputError as error:
        message = str(error)
        assert names_a_field(message, title, fields, payload), message[:500]
        assert "\n" not in message, message[:500]
        message.encode("utf-8")
        return
    except KeelError:
        return
    json.dumps(result, allow_nan=False).encode("utf-8")
