"""A manifest's EventBridge event pattern, checked at synth against what EventBridge accepts.

The rule is given the manifest's pattern unchanged (infra/constructs/automation.py), so what this
module accepts is exactly what reaches PutRule and the local cloud. Each refusal names the path
below `trigger.event_pattern` (e.g. `detail.state.0.prefix`) and says what EventBridge wants there.

The rules come from AWS's EventBridge user guide: "Comparison operators for use in event patterns"
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (the page
formerly titled "Content filtering in Amazon EventBridge event patterns") and "Event pattern syntax"
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html. Where the guide leaves
a detail open (which keys a matcher object may hold, CIDR mask bits, names reserved inside `$or`,
which numbers compare), the rule is that of Event Ruler (github.com/aws/event-ruler: JsonRuleCompiler,
CIDR, ComparableNumber), the open-source matching library EventBridge is built on.

No library does this: PyPI's `event-ruler` (0.3.0, 2023) wraps a Go port behind one match function
that answers true or false, and moto's EventPattern checks only that values are lists or objects,
then treats an unknown matcher as matching everything.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from infra.errors import NestedFieldError

# EventBridge's top-level event fields ("Event structure reference" in the user guide).
EVENT_FIELDS = ("source", "detail-type", "detail", "account", "region", "resources", "id", "time", "version")
OR = "$or"
# In the order the user guide lists them. Event Ruler also compiles `exactly`, which EventBridge does
# not document, so a manifest cannot rely on it.
MATCHERS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr")
ANYTHING_BUT_FORMS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
# Event Ruler refuses these as field names inside a `$or` branch (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP):
# the matchers, the numeric operators, and names it keeps for matchers to come.
RESERVED_IN_OR = frozenset(
    {
        *MATCHERS,
        *NUMERIC_OPERATORS,
        "exactly",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
# PutRule's EventPattern is a string of at most 4096 characters (Amazon EventBridge API Reference,
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html). The compact JSON is
# the shortest form CloudFormation can send, so a pattern longer than this can never be created.
MAX_PATTERN_CHARACTERS = 4096
# Event Ruler's test for an IPv6 literal: hex digits and colons only (no embedded IPv4, no zone).
IPV6_LITERAL = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
# The order CDK's typed EventPattern rendered the top-level fields in (its property names, sorted).
# Rules keep it so templates synthesized before Keel passed patterns through are byte-identical and
# no stack redeploys for a reordering; the values are the manifest's, untouched.
RULE_FIELD_ORDER = ("account", "detail", "detail-type", "id", "region", "resources", "source", "time", "version", OR)

Path = tuple[str | int, ...]


def rule_pattern(pattern: dict[str, Any]) -> dict[str, Any]:
    """The manifest's (checked) pattern as the rule's EventPattern: same fields and values, CDK's field order."""
    return {field: pattern[field] for field in RULE_FIELD_ORDER if field in pattern}


def check_event_pattern(pattern: dict[str, Any]) -> None:
    """Raise NestedFieldError (its field is the path below the pattern) for the first thing EventBridge would refuse."""
    if not pattern:
        raise NestedFieldError("", "must not be empty: name at least one event field")
    _check_event_fields(pattern, ())
    _check_object(pattern, (), in_or=False)
    size = len(json.dumps(pattern, separators=(",", ":"), ensure_ascii=False))
    if size > MAX_PATTERN_CHARACTERS:
        raise NestedFieldError(
            "", f"is {size} characters as compact JSON; EventBridge takes at most {MAX_PATTERN_CHARACTERS} per rule"
        )


def _fail(path: Path, message: str) -> NestedFieldError:
    return NestedFieldError(".".join(str(part) for part in path), message)


def _check_event_fields(node: dict[str, Any], path: Path) -> None:
    """The top level holds event fields (or `$or` branches of them), and every field but detail is matched by a list."""
    unknown = sorted(set(node) - {*EVENT_FIELDS, OR})
    if unknown:
        raise _fail(path, f"unknown event field(s) {', '.join(unknown)} (fields: {', '.join(EVENT_FIELDS)})")
    for key, value in node.items():
        if key == OR and isinstance(value, list):
            for index, branch in enumerate(value):
                if isinstance(branch, dict):
                    _check_event_fields(branch, (*path, OR, index))
        elif key not in (OR, "detail") and not isinstance(value, list):
            raise _fail((*path, key), "must be a list of values or matchers")


def _check_object(node: dict[str, Any], path: Path, *, in_or: bool) -> None:
    if not node:
        raise _fail(path, "an empty object is refused by EventBridge: name a field to match, or leave this one out")
    for key, value in node.items():
        here = (*path, key)
        if key == OR:
            _check_or(value, here)
        elif in_or and key in RESERVED_IN_OR:
            raise _fail(here, f"'{key}' is a matcher name, which EventBridge refuses as a field name inside $or")
        elif isinstance(value, dict):
            _check_object(value, here, in_or=in_or)
        elif isinstance(value, list):
            _check_values(value, here)
        else:
            raise _fail(here, f"must be an object of nested fields or a list of values and matchers, got {_kind(value)}")


def _check_or(branches: Any, path: Path) -> None:
    if not isinstance(branches, list) or len(branches) < 2:
        raise _fail(path, "$or takes a list of at least two objects, each a set of fields that may match")
    for index, branch in enumerate(branches):
        if not isinstance(branch, dict):
            raise _fail((*path, index), f"each $or branch must be an object of fields, got {_kind(branch)}")
        _check_object(branch, (*path, index), in_or=True)


def _check_values(values: list[Any], path: Path) -> None:
    """A leaf: exact values (string, number, true, false, null) and matcher objects, any one of which matches."""
    if not values:
        raise _fail(path, "an empty list is refused by EventBridge: list at least one value or matcher")
    for index, value in enumerate(values):
        here = (*path, index)
        if isinstance(value, dict):
            _check_matcher(value, here)
        elif not (value is None or isinstance(value, str | int | float)):
            raise _fail(here, f"must be a string, number, true, false, null or a matcher object, got {_kind(value)}")


def _check_matcher(matcher: dict[str, Any], path: Path) -> None:
    if len(matcher) != 1:
        found = ", ".join(str(key) for key in matcher) or "none"
        raise _fail(
            path,
            f"a matcher object has exactly one matcher (found: {found}); put several side by side in the list, "
            "any one of which matches",
        )
    name, value = next(iter(matcher.items()))
    check = MATCHER_CHECKS.get(name)
    if check is None:
        close = difflib.get_close_matches(str(name), MATCHERS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise _fail(path, f"unknown matcher '{name}' (matchers: {', '.join(MATCHERS)}){hint}")
    check(value, (*path, name))


def _check_affix(value: Any, path: Path) -> None:
    """prefix and suffix: a string, or {equals-ignore-case: string} to ignore case."""
    if isinstance(value, dict):
        if list(value) != ["equals-ignore-case"]:
            raise _fail(path, "takes a string or {equals-ignore-case: <string>}")
        _check_string(value["equals-ignore-case"], (*path, "equals-ignore-case"))
    else:
        _check_string(value, path, "takes a string or {equals-ignore-case: <string>}")


def _check_string(value: Any, path: Path, wants: str = "must be a string") -> None:
    if not isinstance(value, str):
        raise _fail(path, f"{wants}, got {_kind(value)}")


def _check_wildcard(value: Any, path: Path) -> None:
    """`*` matches any run of characters; `\\*` and `\\\\` are a literal star and backslash, nothing else is escaped.

    EventBridge also refuses a pattern whose wildcards it finds too complex to match, by a measure it does
    not publish (the guide only advises fewer wildcards and less repetition after them): deploy reports that.
    """
    _check_string(value, path)
    index = 0
    while index < len(value):
        if value.startswith("**", index):
            raise _fail(path, f"consecutive wildcard characters at position {index}: one * already matches any run")
        if value[index] == "\\":
            if value[index + 1 : index + 2] not in ("*", "\\"):
                raise _fail(path, f"'\\' at position {index} may only escape * or \\")
            index += 1
        index += 1


def _check_exists(value: Any, path: Path) -> None:
    if not isinstance(value, bool):
        raise _fail(path, f"takes true or false, got {_kind(value)}")


def _check_numeric(value: Any, path: Path) -> None:
    """One comparison [op, number], or a range [">" or ">=", low, "<" or "<=", high] with low below high."""
    if not isinstance(value, list) or len(value) not in (2, 4):
        raise _fail(path, 'takes a comparison such as [">=", 10] or a range such as [">", 0, "<=", 5]')
    if len(value) == 2:
        _check_comparison(value, path, 0, NUMERIC_OPERATORS)
        return
    _check_comparison(value, path, 0, (">", ">="))
    _check_comparison(value, path, 2, ("<", "<="))
    if value[1] >= value[3]:
        raise _fail(path, f"the range's lower bound {value[1]} must be below its upper bound {value[3]}")


def _check_comparison(value: list[Any], path: Path, at: int, operators: tuple[str, ...]) -> None:
    operator = value[at]
    if operator not in operators:
        where = "" if len(operators) == len(NUMERIC_OPERATORS) else " here"
        raise _fail((*path, at), f"operator {operator!r} is not one of {', '.join(operators)}{where}")
    _check_number(value[at + 1], (*path, at + 1))


def _check_number(value: Any, path: Path) -> None:
    """A JSON number that Event Ruler can compare: it converts numbers to IEEE-754 doubles and refuses
    one whose double, written shortest, is not the number given (ComparableNumber.generate)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"must be a number, got {_kind(value)}")
    if not math.isfinite(value if isinstance(value, float) else 0.0):
        raise _fail(path, f"{value} is not a finite number")
    if isinstance(value, int):
        nearest = _nearest_double(value)
        if nearest is None or Decimal(repr(nearest)) != value:
            shown = "none" if nearest is None else repr(nearest)
            raise _fail(path, f"{value} is not exactly a double (nearest: {shown}), so EventBridge cannot compare it")


def _nearest_double(value: int) -> float | None:
    try:
        return float(value)
    except OverflowError:
        return None


def _check_cidr(value: Any, path: Path) -> None:
    _check_string(value, path, "takes an IP address range such as 10.0.0.0/24")
    address, slash, bits = value.partition("/")
    if not slash or "/" in bits:
        raise _fail(path, f"'{value}' needs one '/' between the address and the mask bits, as in 10.0.0.0/24")
    if not bits.isdigit():
        raise _fail(path, f"mask bits '{bits}' must be a whole number")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise _fail(path, f"'{address}' is not an IPv4 or IPv6 address") from None
    if parsed.version == 6 and not IPV6_LITERAL.fullmatch(address):
        raise _fail(path, f"'{address}': EventBridge takes IPv6 addresses as hex digits and colons only")
    # Event Ruler refuses a whole-address mask (/32, /128): one address is matched by its plain string value.
    widest = 31 if parsed.version == 4 else 127
    if int(bits) > widest:
        raise _fail(path, f"mask bits must be at most {widest}; to match the one address, list '{address}' as a value")


def _check_anything_but(value: Any, path: Path) -> None:
    """A string or number, a list of only strings or only numbers, or a prefix/suffix/equals-ignore-case/wildcard form."""
    if isinstance(value, dict):
        _check_anything_but_form(value, path)
    elif isinstance(value, list):
        _check_excluded_values(value, path)
    elif value is None or isinstance(value, bool):
        forms = "|".join(ANYTHING_BUT_FORMS)
        raise _fail(path, f"takes a string, a number, a list of either, or {{{forms}: ...}}, got {_kind(value)}")
    elif not isinstance(value, str):
        _check_number(value, path)


def _check_excluded_values(values: list[Any], path: Path) -> None:
    if not values:
        raise _fail(path, "an empty list excludes nothing; list the values to exclude")
    strings = [isinstance(item, str) for item in values]
    if all(strings):
        return
    if any(strings):
        raise _fail(path, "takes a list of strings only or of numbers only, not both")
    for index, item in enumerate(values):
        _check_number(item, (*path, index))


def _check_anything_but_form(value: dict[str, Any], path: Path) -> None:
    if len(value) != 1 or next(iter(value)) not in ANYTHING_BUT_FORMS:
        found = ", ".join(str(key) for key in value) or "none"
        raise _fail(path, f"takes one of {', '.join(ANYTHING_BUT_FORMS)} (found: {found})")
    form, inner = next(iter(value.items()))
    here = (*path, form)
    if isinstance(inner, list) and not inner:
        raise _fail(here, "an empty list excludes nothing; list the values to exclude")
    items = list(enumerate(inner)) if isinstance(inner, list) else [(None, inner)]
    for index, item in items:
        at = here if index is None else (*here, index)
        _check_string(item, at)
        if form in ("prefix", "suffix") and not item:
            raise _fail(at, f"an empty {form} is refused by EventBridge (it would exclude every string)")
        if form == "wildcard":
            _check_wildcard(item, at)


def _kind(value: Any) -> str:
    """A value as the manifest's author wrote it, in JSON's terms (YAML turns an unquoted date into a date)."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float | str):
        return f"{value!r} ({'a string' if isinstance(value, str) else 'a number'})"
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    return f"{value} (a {type(value).__name__}: quote it to make it a string)"


MATCHER_CHECKS: dict[str, Callable[[Any, Path], None]] = {
    "prefix": _check_affix,
    "suffix": _check_affix,
    "equals-ignore-case": _check_string,
    "wildcard": _check_wildcard,
    "anything-but": _check_anything_but,
    "numeric": _check_numeric,
    "exists": _check_exists,
    "cidr": _check_cidr,
}
