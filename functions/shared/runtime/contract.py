"""Validated, typed contracts for Lambda inputs, settings and stored records, without pydantic.

Why not pydantic in functions/: cold start. `make bench` measured importing pydantic at about 0.27x
of a bare boto3 handler, and every model class builds its core schema at import on top of that,
which put every module at 1.6-1.75x against a 1.3x target. Lambda pays that on every cold start;
infra/ and keel/ (synth time and the CLI) still use pydantic.

This module is the small subset of pydantic's model API the functions use, with pydantic's names
and error wording so messages read the same across the project:
`Model.model_validate`, `Model(**fields)`, `model_dump(mode="json")`, `model_copy(update=...)`,
`model_fields`, `model_json_schema()`, `Field(...)` constraints (min_length, max_length, pattern,
ge, gt, le, lt, alias, default, default_factory, description), `model_validator(mode="after")`,
`field_validator(...)` (after mode, optionally with `ValidationInfo.data`: the fields validated before
it), and `ConfigDict(frozen=..., extra="forbid"|"ignore", populate_by_name=...)`. Types: str, int, float,
bool, datetime, Any, Literal, X | None, unions of models, list[T], dict[str, T] and nested models.
Coercion follows pydantic's lax mode where inputs come from text (environment variables, JSON):
"12" is a valid int, "true" a valid bool, an ISO 8601 string a valid datetime. Hostile values are
refused as pydantic refuses them, never raised as Python's own errors: an infinite or fractional
number where an int belongs, a float beyond i64 or an int beyond float range, a timestamp past 9999.

Annotations are resolved on a class's first validation, not at import: forward references to
classes defined later in a module work, and importing a module costs only its class statements.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypedDict, TypeVar, dataclass_transform

Loc = tuple[str | int, ...]
_MISSING: Any = type("Missing", (), {"__repr__": lambda _self: "MISSING"})()
_BAD: Any = type("Invalid", (), {"__repr__": lambda _self: "INVALID"})()
_AFTER = "__contract_after__"
_VALIDATES = "__contract_validates__"
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}
M = TypeVar("M", bound="Model")
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
# pydantic reads a float into an int only within i64; the text form of an int has Python's limit.
_INT_FROM_FLOAT_LIMIT = 2.0**63
_INT_TEXT_DIGITS = 4300
# Unix timestamps, as pydantic reads them: beyond 2e10 a number is milliseconds; years 1 to 9999.
_MILLISECONDS_FROM = 2e10
_EARLIEST, _LATEST = -62_135_596_800, 253_402_300_800
# pydantic reads an int as a timestamp while it converts to a float.
_FLOAT_MAX = 2**1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ErrorDetails(TypedDict):
    loc: Loc
    msg: str
    type: str


class ValidationError(ValueError):
    """Every problem found in one input, each with where it is (`loc`) and what is wrong (`msg`)."""

    def __init__(self, title: str, errors: list[ErrorDetails]) -> None:
        self.title = title
        self._errors = errors
        lines = [f"{len(errors)} validation error{'s' if len(errors) != 1 else ''} for {title}"]
        for error in errors:
            lines.append(".".join(str(part) for part in error["loc"]) or "(input)")
            lines.append(f"  {error['msg']} [type={error['type']}]")
        super().__init__("\n".join(lines))

    def errors(self) -> list[ErrorDetails]:
        return list(self._errors)


class FieldInfo:
    """What `Field(...)` declares about one field."""

    def __init__(self, default: Any = _MISSING, **options: Any) -> None:
        self.default = default
        self.default_factory: Callable[[], Any] | None = options.pop("default_factory", None)
        self.alias: str | None = options.pop("alias", None)
        self.description: str | None = options.pop("description", None)
        self.constraints: dict[str, Any] = {key: value for key, value in options.items() if value is not None}
        unknown = set(self.constraints) - set(_RULES)  # each constraint is a rule below
        if unknown:
            raise TypeError(f"Field() does not take {', '.join(sorted(unknown))}")

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None

    def initial(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


# pydantic's names (Field, ConfigDict), so models read the same in infra/ and functions/.
def Field(
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    alias: str | None = None,
    description: str | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    return FieldInfo(
        default,
        default_factory=default_factory,
        alias=alias,
        description=description,
        min_length=min_length,
        max_length=max_length,
        pattern=pattern,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
    )


def ConfigDict(
    *, frozen: bool = False, extra: Literal["forbid", "ignore"] = "ignore", populate_by_name: bool = False
) -> dict[str, Any]:
    return {"frozen": frozen, "extra": extra, "populate_by_name": populate_by_name}


def model_validator(*, mode: Literal["after"]) -> Callable[[F], F]:
    """Marks a method that checks the whole model once its fields are valid; a ValueError it raises
    becomes a validation error of the model."""

    def mark(function: F) -> F:
        setattr(function, _AFTER, mode)
        return function

    return mark


def field_validator(*fields: str, mode: Literal["after"] = "after") -> Callable[[T], T]:
    """Marks a classmethod that checks a field once its type is valid: `(cls, value)` or `(cls, value,
    info)`, where `info.data` holds the fields declared (and validated) before it. It returns the
    value; a ValueError it raises becomes a validation error of that field. Defaults are not checked."""

    def mark(function: T) -> T:
        setattr(function, _VALIDATES, (fields, mode))
        return function

    return mark


class ValidationInfo:
    """What a field validator that takes a second argument receives (pydantic's name)."""

    __slots__ = ("data", "field_name")

    def __init__(self, data: dict[str, Any], field_name: str) -> None:
        self.data = data
        self.field_name = field_name


Check = Callable[[Any, Loc, list[ErrorDetails]], Any]
FieldCheck = Callable[..., Any]
# A field validator bound to its class, and whether it takes the ValidationInfo.
BoundCheck = tuple[FieldCheck, bool]
PlanEntry = tuple[str, str, "FieldInfo", Check, tuple[BoundCheck, ...]]


def _error(errors: list[ErrorDetails], loc: Loc, msg: str, kind: str) -> Any:
    errors.append({"loc": loc, "msg": msg, "type": kind})
    return _BAD


@dataclass_transform(kw_only_default=True, field_specifiers=(Field, FieldInfo))
class Model:
    """Base of every contract: declare fields as annotations, optionally with `= Field(...)`."""

    model_config: ClassVar[dict[str, Any]] = ConfigDict()
    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    _after_validators: ClassVar[tuple[Callable[[Any], Any], ...]] = ()
    # (attribute name, fields it checks) of every field validator, inherited ones first.
    _field_validators: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = ()
    _contract_plan: ClassVar[tuple[PlanEntry, ...] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.model_fields)
        for name, annotation in inspect.get_annotations(cls).items():
            if name.startswith("_") or str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            declared = cls.__dict__.get(name, _MISSING)
            fields[name] = declared if isinstance(declared, FieldInfo) else FieldInfo(declared)
            if declared is not _MISSING:
                delattr(cls, name)
        cls.model_fields = fields
        inherited = next(base.model_config for base in cls.__mro__[1:] if issubclass(base, Model))
        cls.model_config = {**inherited, **cls.__dict__.get("model_config", {})}
        own = tuple(value for value in cls.__dict__.values() if getattr(value, _AFTER, None) == "after")
        cls._after_validators = cls._after_validators + own
        checks = tuple(
            (name, getattr(value, _VALIDATES)[0]) for name, value in cls.__dict__.items() if hasattr(value, _VALIDATES)
        )
        for name, checked in checks:
            unknown = set(checked) - set(fields)
            if unknown:
                raise TypeError(f"{cls.__name__}.{name} validates {', '.join(sorted(unknown))}, which are not fields")
        inherited_checks = tuple(entry for entry in cls._field_validators if entry[0] not in dict(checks))
        cls._field_validators = inherited_checks + checks

    # -- construction -------------------------------------------------------------------------

    def __init__(self, **data: Any) -> None:
        errors: list[ErrorDetails] = []
        built = type(self)._build(data, (), errors)
        if errors:
            raise ValidationError(type(self).__name__, errors)
        self.__dict__.update(built.__dict__)

    @classmethod
    def model_validate(cls: type[M], data: Any) -> M:
        errors: list[ErrorDetails] = []
        built = cls._build(data, (), errors)
        if errors:
            raise ValidationError(cls.__name__, errors)
        instance: M = built
        return instance

    @classmethod
    def _plan(cls) -> tuple[PlanEntry, ...]:
        plan: tuple[PlanEntry, ...] | None = cls.__dict__.get("_contract_plan")
        if plan is None:
            hints = typing.get_type_hints(cls)
            plan = tuple(
                (name, info.alias or name, info, _checker(hints[name], info), cls._checks_of(name))
                for name, info in cls.model_fields.items()
            )
            cls._contract_plan = plan  # on this class only: a subclass has fields of its own
        return plan

    @classmethod
    def _checks_of(cls, field: str) -> tuple[BoundCheck, ...]:
        bound = [getattr(cls, name) for name, fields in cls._field_validators if field in fields]
        return tuple((check, len(inspect.signature(check).parameters) == 2) for check in bound)

    @classmethod
    def _build(cls, data: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            return _error(errors, loc, f"Input should be a valid dictionary or instance of {cls.__name__}", "model_type")
        found = len(errors)
        values = cls._values(data, loc, errors)
        if len(errors) > found:
            return _BAD
        instance = cls.__new__(cls)
        instance.__dict__.update(values)
        for validator in cls._after_validators:
            try:
                validator(instance)
            except ValueError as error:
                return _error(errors, loc, f"Value error, {error}", "value_error")
        return instance

    @classmethod
    def _values(cls, data: Mapping[str, Any], loc: Loc, errors: list[ErrorDetails]) -> dict[str, Any]:
        by_name = cls.model_config["populate_by_name"]
        values: dict[str, Any] = {}
        used: set[str] = set()
        for name, key, info, check, field_checks in cls._plan():
            source = key if key in data else name if by_name and name in data else None
            if source is None:
                if info.required:
                    _error(errors, (*loc, key), "Field required", "missing")
                else:
                    values[name] = info.initial()
                continue
            used.add(source)
            value = check(data[source], (*loc, key), errors)
            if value is not _BAD and field_checks:
                value = _checked_field(field_checks, value, ValidationInfo(values, name), (*loc, key), errors)
            if value is not _BAD:
                values[name] = value
        if cls.model_config["extra"] == "forbid":
            for key in data:
                if key not in used:
                    _error(errors, (*loc, key), "Extra inputs are not permitted", "extra_forbidden")
        return values

    # -- behaviour of instances ---------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if type(self).model_config["frozen"]:
            raise TypeError(f"{type(self).__name__} is frozen: use model_copy(update=...)")
        super().__setattr__(name, value)

    def _field_values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__.get(name) for name in self.model_fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and type(other) is type(self) and self._field_values() == other._field_values()

    def __hash__(self) -> int:
        if not type(self).model_config["frozen"]:
            raise TypeError(f"unhashable type: {type(self).__name__} (not frozen)")
        return hash((type(self), self._field_values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__.get(name)!r}" for name in self.model_fields)
        return f"{type(self).__name__}({shown})"

    def model_copy(self: M, *, update: Mapping[str, Any] | None = None) -> M:
        """A copy with some fields replaced; like pydantic, the update is not validated."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update({name: self.__dict__[name] for name in self.model_fields})
        copy.__dict__.update(update or {})
        return copy

    def model_dump(
        self, *, mode: Literal["python", "json"] = "python", exclude_none: bool = False, by_alias: bool = False
    ) -> dict[str, Any]:
        dumped: dict[str, Any] = {}
        for name, info in self.model_fields.items():
            value = self.__dict__[name]
            if exclude_none and value is None:
                continue
            key = info.alias if by_alias and info.alias else name
            dumped[key] = dump_value(value, as_json=mode == "json", exclude_none=exclude_none, by_alias=by_alias)
        return dumped

    @classmethod
    def model_json_schema(cls, by_alias: bool = True) -> dict[str, Any]:
        # Imported here: publishing a schema is a build step (scripts/), never part of a cold start.
        from functions.shared.runtime.contract_schema import json_schema

        return json_schema(cls, by_alias)


def _checked_field(checks: tuple[BoundCheck, ...], value: Any, info: ValidationInfo, loc: Loc, errors: list[ErrorDetails]) -> Any:
    for check, takes_info in checks:
        try:
            value = check(value, info) if takes_info else check(value)
        except ValueError as error:
            return _error(errors, loc, f"Value error, {error}", "value_error")
    return value


# -- dumping ------------------------------------------------------------------------------------


def dump_value(value: Any, *, as_json: bool, exclude_none: bool = False, by_alias: bool = False) -> Any:
    if isinstance(value, Model):
        return value.model_dump(mode="json" if as_json else "python", exclude_none=exclude_none, by_alias=by_alias)
    if isinstance(value, dict):
        return {
            key: dump_value(item, as_json=as_json, exclude_none=exclude_none, by_alias=by_alias) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [dump_value(item, as_json=as_json, exclude_none=exclude_none, by_alias=by_alias) for item in value]
    if as_json and isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if as_json and isinstance(value, Decimal):
        return str(value)
    return value


# -- checkers: one function per field, built from its type and constraints -----------------------


def _checker(annotation: Any, info: FieldInfo | None = None) -> Check:
    check = _type_checker(annotation)
    constraints = info.constraints if info is not None else {}
    return _constrained(check, constraints) if constraints else check


def _type_checker(annotation: Any) -> Check:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return _literal(typing.get_args(annotation))
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(annotation))
    if origin is list:
        return _list(_checker(typing.get_args(annotation)[0]))
    if origin is dict:
        return _dict(_checker(typing.get_args(annotation)[1]))
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation._build
    scalar = _SCALARS.get(annotation)
    if scalar is None:
        raise TypeError(f"contract fields cannot be of type {annotation!r}")
    return scalar


def _any(value: Any, _loc: Loc, _errors: list[ErrorDetails]) -> Any:
    return value


def _str(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    return value if isinstance(value, str) else _error(errors, loc, "Input should be a valid string", "string_type")


def _int(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float | Decimal):
        return _int_from_number(value, loc, errors)
    if isinstance(value, str):
        return _int_from_text(value.strip(), loc, errors)
    return _error(errors, loc, "Input should be a valid integer", "int_type")


def _int_from_number(value: float | Decimal, loc: Loc, errors: list[ErrorDetails]) -> Any:
    if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
        return _error(errors, loc, "Input should be a finite number", "finite_number")
    if value != int(value):
        return _error(errors, loc, "Input should be a valid integer, got a number with a fractional part", "int_from_float")
    if isinstance(value, float) and abs(value) >= _INT_FROM_FLOAT_LIMIT:
        return _error(errors, loc, "Unable to parse input string as an integer, exceeded maximum size", "int_parsing_size")
    return int(value)


def _int_from_text(text: str, loc: Loc, errors: list[ErrorDetails]) -> Any:
    digits = text[1:] if text[:1] in ("-", "+") else text
    if text.isascii() and digits.isdigit() and len(digits) > _INT_TEXT_DIGITS:
        return _error(errors, loc, "Unable to parse input string as an integer, exceeded maximum size", "int_parsing_size")
    try:
        # ASCII only: Python's int() also reads other scripts' digits, which pydantic refuses.
        if text.isascii():
            return int(text)
    except ValueError:
        pass
    return _error(errors, loc, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")


def _float(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond the largest float
            return _error(errors, loc, "Input should be a valid number", "float_type")
    if isinstance(value, str):
        try:
            if value.isascii():
                return float(value.strip())
        except ValueError:
            pass
        return _error(errors, loc, "Input should be a valid number, unable to parse string as a number", "float_parsing")
    return _error(errors, loc, "Input should be a valid number", "float_type")


def _bool(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        if isinstance(value, int) and not -_INT_FROM_FLOAT_LIMIT <= value < _INT_FROM_FLOAT_LIMIT:  # beyond i64
            return _error(errors, loc, "Input should be a valid boolean", "bool_type")
        # An int is 0 or 1, compared as a number: the text of a huge int is an error of its own.
        text = value.strip().lower() if isinstance(value, str) else {0: "0", 1: "1"}.get(value, "")
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        return _error(errors, loc, "Input should be a valid boolean, unable to interpret input", "bool_parsing")
    return _error(errors, loc, "Input should be a valid boolean", "bool_type")


def _datetime(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return _error(
                errors, loc, "Input should be a valid datetime or date, unable to parse string", "datetime_from_date_parsing"
            )
    elif isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < _FLOAT_MAX):
        return _datetime_from_timestamp(value, loc, errors)
    return _error(errors, loc, "Input should be a valid datetime", "datetime_type")


def _datetime_from_timestamp(value: float, loc: Loc, errors: list[ErrorDetails]) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return _error(errors, loc, "Input should be a valid datetime, NaN values not permitted", "datetime_parsing")
    # Out of range whatever the unit is checked first: an int too large for a float cannot be divided.
    seconds = value if abs(value) <= _MILLISECONDS_FROM or abs(value) >= _LATEST * 1000 else value / 1000
    if seconds >= _LATEST:
        return _error(
            errors,
            loc,
            "Input should be a valid datetime, dates after 9999 are not supported as unix timestamps",
            "datetime_parsing",
        )
    if seconds < _EARLIEST:
        return _error(
            errors,
            loc,
            "Input should be a valid datetime, dates before 0000 are not supported as unix timestamps",
            "datetime_parsing",
        )
    if isinstance(value, int):  # whole seconds or milliseconds: exact
        return _EPOCH + (timedelta(seconds=value) if abs(value) <= _MILLISECONDS_FROM else timedelta(milliseconds=value))
    return datetime.fromtimestamp(seconds, UTC)


def _none(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    return None if value is None else _error(errors, loc, "Input should be None", "none_required")


_SCALARS: dict[Any, Check] = {
    Any: _any,
    object: _any,
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    datetime: _datetime,
    type(None): _none,
}


def _literal(allowed: tuple[Any, ...]) -> Check:
    expected = ", ".join(repr(value) for value in allowed[:-1])
    expected = f"{expected} or {allowed[-1]!r}" if expected else repr(allowed[-1])

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if isinstance(value, str) and not encodes_utf8(value):
            return _error(errors, loc, _UNICODE_ERROR, "string_unicode")
        for option in allowed:
            if value == option and type(value) is type(option):
                return option
        return _error(errors, loc, f"Input should be {expected}", "literal_error")

    return check


# pydantic reads a constrained or literal string as Unicode: a lone surrogate is an error there.
_UNICODE_ERROR = "Input should be a valid string, unable to parse raw data as a unicode string"


def encodes_utf8(text: str) -> bool:
    """False for text holding a lone surrogate, which no UTF-8 encoder (nor DynamoDB, nor JSON out) takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _union(members: tuple[Any, ...]) -> Check:
    optional = type(None) in members
    checks = [_checker(member) for member in members if member is not type(None)]

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if value is None and optional:
            return None
        attempts: list[ErrorDetails] = []
        for member in checks:
            tried: list[ErrorDetails] = []
            result = member(value, loc, tried)
            if not tried:
                return result
            attempts.extend(tried)
        errors.extend(attempts)
        return _BAD

    return check


def _list(item: Check) -> Check:
    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if not isinstance(value, list | tuple):
            return _error(errors, loc, "Input should be a valid list", "list_type")
        found = len(errors)
        items = [item(element, (*loc, index), errors) for index, element in enumerate(value)]
        return _BAD if len(errors) > found else items

    return check


def _dict(item: Check) -> Check:
    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if not isinstance(value, Mapping):
            return _error(errors, loc, "Input should be a valid dictionary", "dict_type")
        found = len(errors)
        items = {}
        for key, element in value.items():
            if not isinstance(key, str):
                _error(errors, (*loc, str(key)), "Input should be a valid string", "string_type")
                continue
            items[key] = item(element, (*loc, key), errors)
        return _BAD if len(errors) > found else items

    return check


def _constrained(check: Check, constraints: dict[str, Any]) -> Check:
    # In pydantic's order: the first rule broken is the one reported.
    rules = [_RULES[name](constraints[name]) for name in _RULES if name in constraints]

    def constrained(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        value = check(value, loc, errors)
        if value is _BAD or value is None:
            return value
        if isinstance(value, str) and not encodes_utf8(value):
            return _error(errors, loc, _UNICODE_ERROR, "string_unicode")
        for rule in rules:
            problem = rule(value)
            if problem is not None:
                return _error(errors, loc, *problem)
        return value

    return constrained


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _min_length(limit: int) -> Callable[[Any], tuple[str, str] | None]:
    def rule(value: Any) -> tuple[str, str] | None:
        if not hasattr(value, "__len__") or len(value) >= limit:
            return None
        if isinstance(value, str):
            return f"String should have at least {_plural(limit, 'character')}", "string_too_short"
        return f"List should have at least {_plural(limit, 'item')} after validation, not {len(value)}", "too_short"

    return rule


def _max_length(limit: int) -> Callable[[Any], tuple[str, str] | None]:
    def rule(value: Any) -> tuple[str, str] | None:
        if not hasattr(value, "__len__") or len(value) <= limit:
            return None
        if isinstance(value, str):
            return f"String should have at most {_plural(limit, 'character')}", "string_too_long"
        return f"List should have at most {_plural(limit, 'item')} after validation, not {len(value)}", "too_long"

    return rule


def _pattern(pattern: str) -> Callable[[Any], tuple[str, str] | None]:
    # A final `$` ends the text, as in pydantic's regex engine: Python's would also pass "name\n".
    anchored = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
    compiled = re.compile(anchored)

    def rule(value: Any) -> tuple[str, str] | None:
        if isinstance(value, str) and compiled.search(value) is None:
            return f"String should match pattern '{pattern}'", "string_pattern_mismatch"
        return None

    return rule


def _bound(words: str, kind: str, holds: Callable[[Any, Any], bool]) -> Callable[[Any], Callable[[Any], tuple[str, str] | None]]:
    def make(limit: Any) -> Callable[[Any], tuple[str, str] | None]:
        def rule(value: Any) -> tuple[str, str] | None:
            return None if holds(value, limit) else (f"Input should be {words} {limit}", kind)

        return rule

    return make


_RULES: dict[str, Callable[[Any], Callable[[Any], tuple[str, str] | None]]] = {
    "min_length": _min_length,
    "max_length": _max_length,
    "pattern": _pattern,
    "le": _bound("less than or equal to", "less_than_equal", lambda value, limit: value <= limit),
    "lt": _bound("less than", "less_than", lambda value, limit: value < limit),
    "ge": _bound("greater than or equal to", "greater_than_equal", lambda value, limit: value >= limit),
    "gt": _bound("greater than", "greater_than", lambda value, limit: value > limit),
}
