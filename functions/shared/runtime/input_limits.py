"""What every task input must be, whatever its model: JSON that Keel can store, hash and log.

The handler wrapper checks this before the input is parsed. Models keep parts of external events as
`Any` or `dict[str, Any]` (an event's detail, a decision's evidence, an approval's details), and
those parts are later hashed, logged or written to DynamoDB; a value that cannot be (a lone
surrogate, a number DynamoDB cannot hold, nesting deeper than DynamoDB stores) would fail there,
deep inside, as Python's own error. Here it is refused first, with its place named.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

Loc = tuple[str | int, ...]

# DynamoDB stores nested attributes up to 32 levels deep:
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-data-types
MAX_DEPTH = 32
# DynamoDB numbers: up to 38 digits of precision, magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125:
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes
MAX_DIGITS, MIN_EXPONENT, MAX_EXPONENT = 38, -130, 125
# Step Functions hands a task at most 262,144 bytes of UTF-8 JSON (TaskScheduledEventDetails.parameters):
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskScheduledEventDetails.html
# No string of a real task input can be longer.
MAX_STRING_BYTES = 262_144
# Problems listed in one error; the rest are counted.
MAX_LISTED = 10

Problem = tuple[Loc, str]


def problems(value: Any) -> list[Problem]:
    """Every place in `value` that breaks the limits (walked without recursion: depth is what is checked)."""
    found: list[Problem] = []
    pending: list[tuple[Any, Loc]] = [(value, ())]
    while pending:
        item, loc = pending.pop()
        if isinstance(item, dict | list) and len(loc) > MAX_DEPTH:
            found.append((loc, f"nested deeper than {MAX_DEPTH} levels (DynamoDB's limit for a stored document)"))
        elif isinstance(item, dict):
            for key, child in item.items():
                key_problem = _key_problem(key)
                if key_problem is not None:
                    found.append(((*loc, key if isinstance(key, str) else repr(key)), key_problem))
                else:
                    pending.append((child, (*loc, key)))
        elif isinstance(item, list):
            pending.extend((child, (*loc, index)) for index, child in enumerate(item))
        else:
            problem = _scalar_problem(item)
            if problem is not None:
                found.append((loc, problem))
    return sorted(found, key=lambda entry: [str(part) for part in entry[0]])


def _key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return "object keys must be strings"
    problem = _text_problem(key)
    return None if problem is None else f"key {problem}"


def _scalar_problem(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, int | float):
        return _number_problem(value)
    return f"not a JSON value ({type(value).__name__})"


def _text_problem(text: str) -> str | None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        return f"not valid Unicode: a lone surrogate at position {error.start}"
    if size > MAX_STRING_BYTES:
        return f"a string of {size:,} bytes, more than the {MAX_STRING_BYTES:,} a task input can hold"
    return None


def _number_problem(value: float) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    # A float as its shortest repr: how the DynamoDB adapter writes it.
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number:
        return None
    digits, exponent = len(number.as_tuple().digits), number.adjusted()
    if digits > MAX_DIGITS or not MIN_EXPONENT <= exponent <= MAX_EXPONENT:
        limits = f"{MAX_DIGITS} digits at most, magnitude 1E{MIN_EXPONENT} to below 1E+{MAX_EXPONENT + 1}"
        return f"a number DynamoDB cannot store ({limits})"
    return None
