"""functions/shared/runtime/contract.py: the light model layer Lambda code uses instead of pydantic.

The same model is declared twice, once with the contract module and once with pydantic, and both
must accept the same inputs into the same values and refuse the same inputs at the same places
with the same kind of error: the contract module is a subset of pydantic, not a dialect of it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.shared.runtime import contract
from functions.shared.runtime.contract import (
    ConfigDict,
    Field,
    Model,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from tests.support.hostile_input import PROPERTY_SETTINGS, deeply_nested


class Limits(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=1, le=10)
    ratio: float = Field(gt=0, lt=1)


class Sample(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=2, max_length=5)
    code: str = Field(pattern=r"^[A-Z]{3}$")
    when: datetime
    enabled: bool
    tier: Literal["standard", "vip"] = "standard"
    limits: Limits
    tags: dict[str, str] = Field(default_factory=dict)
    items: list[int] = Field(default_factory=list, min_length=0)
    note: str | None = None
    anything: Any = None


class PydanticLimits(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    count: int = pydantic.Field(ge=1, le=10)
    ratio: float = pydantic.Field(gt=0, lt=1)


class PydanticSample(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    name: str = pydantic.Field(min_length=2, max_length=5)
    code: str = pydantic.Field(pattern=r"^[A-Z]{3}$")
    when: datetime
    enabled: bool
    tier: Literal["standard", "vip"] = "standard"
    limits: PydanticLimits
    tags: dict[str, str] = pydantic.Field(default_factory=dict)
    items: list[int] = pydantic.Field(default_factory=list, min_length=0)
    note: str | None = None
    anything: Any = None


VALID: dict[str, Any] = {
    "name": "abc",
    "code": "ABC",
    "when": "2026-11-22T10:00:00Z",
    "enabled": True,
    "limits": {"count": 3, "ratio": 0.5},
}

CASES: list[tuple[str, dict[str, Any]]] = [
    ("valid", VALID),
    ("text coerced", {**VALID, "enabled": "true", "limits": {"count": "4", "ratio": "0.25"}}),
    ("optional fields set", {**VALID, "tier": "vip", "tags": {"a": "b"}, "items": [1, "2"], "note": "n", "anything": {"x": [1]}}),
    ("offset datetime", {**VALID, "when": "2026-11-22T10:00:00+02:00"}),
    ("missing fields", {"name": "abc"}),
    ("too short and too long", {**VALID, "name": "a"}),
    ("too long", {**VALID, "name": "abcdefgh"}),
    ("pattern", {**VALID, "code": "abc"}),
    ("pattern's end is the text's end", {**VALID, "code": "ABC\n"}),
    ("bad datetime", {**VALID, "when": "yesterday"}),
    ("bad bool", {**VALID, "enabled": "maybe"}),
    ("bad literal", {**VALID, "tier": "gold"}),
    ("bounds", {**VALID, "limits": {"count": 0, "ratio": 1}}),
    ("upper bound", {**VALID, "limits": {"count": 11, "ratio": 0}}),
    ("bad int", {**VALID, "limits": {"count": "three", "ratio": 0.5}}),
    ("extra field", {**VALID, "colour": "red"}),
    ("nested extra", {**VALID, "limits": {"count": 1, "ratio": 0.5, "x": 1}}),
    ("wrong container types", {**VALID, "tags": ["a"], "items": {"a": 1}}),
    ("bad items", {**VALID, "tags": {"a": 1}, "items": [1, "x"]}),
    ("nested not an object", {**VALID, "limits": 3}),
    ("string expected", {**VALID, "name": 12, "note": 3}),
    # Hostile numbers: refused as pydantic refuses them, never raised as Python's own errors.
    ("non-finite ints", {**VALID, "limits": {"count": float("inf"), "ratio": float("nan")}, "items": [float("-inf")]}),
    ("fractional int", {**VALID, "limits": {"count": 2.5, "ratio": 0.5}}),
    ("float beyond i64 as int", {**VALID, "items": [1e19, -(2.0**63), 1e18]}),
    ("int text beyond Python's digits", {**VALID, "items": ["9" * 4301, "9" * 4300]}),
    ("digits of another script", {**VALID, "items": ["\u0661\u0662"], "limits": {"count": 1, "ratio": "\u0663.\u0665"}}),
    ("int beyond float range", {**VALID, "limits": {"count": 1, "ratio": 10**400}}),
    ("huge int as bool", {**VALID, "enabled": 10**50}),
    ("int as bool", {**VALID, "enabled": 2}),
    ("timestamps", {**VALID, "when": 2e10}),
    ("millisecond timestamp", {**VALID, "when": 253_402_300_799_000}),
    ("timestamp after 9999", {**VALID, "when": 253_402_300_800_000}),
    ("timestamp before 0000", {**VALID, "when": -62_135_596_800_001}),
    ("huge int timestamp", {**VALID, "when": 10**400}),
    ("infinite timestamp", {**VALID, "when": float("-inf")}),
    ("NaN timestamp", {**VALID, "when": float("nan")}),
    ("lone surrogate and deep nesting", {**VALID, "name": "a\ud800", "anything": deeply_nested(200)}),
]


def outcome(model: Any, data: dict[str, Any], error_type: type[Exception]) -> Any:
    try:
        # As text: NaN equals NaN there, and a value pydantic keeps as it is dumps the same way.
        return ("ok", json.dumps(model.model_validate(data).model_dump(mode="json"), default=str))
    except error_type as error:
        return ("error", sorted((tuple(item["loc"]), item["type"], item["msg"]) for item in error.errors()))  # type: ignore[attr-defined]


def assert_agree(ours: Any, theirs: Any, case: str) -> None:
    """Both accept into the same JSON, or both refuse at the same places with the same kind of error."""
    assert ours[0] == theirs[0], case
    if ours[0] == "ok":
        assert ours[1] == theirs[1], case
    else:
        assert [(loc, kind) for loc, kind, _ in ours[1]] == [(loc, kind) for loc, kind, _ in theirs[1]], case
        for (_, _, mine), (_, _, pydantics) in zip(ours[1], theirs[1], strict=True):
            # The same sentence up to the detail after the comma (pydantic names its parser's finding).
            assert mine.split(",")[0] == pydantics.replace("Pydantic", "").split(",")[0], case


@pytest.mark.parametrize(("case", "data"), CASES, ids=[case for case, _ in CASES])
def test_the_contract_module_agrees_with_pydantic(case: str, data: dict[str, Any]) -> None:
    # Given the same model declared with both / When the same input is validated by each
    ours = outcome(Sample, data, ValidationError)
    theirs = outcome(PydanticSample, data, pydantic.ValidationError)

    # Then both accept it into the same JSON, or both refuse it at the same places with the same kind of error
    assert_agree(ours, theirs, case)


class Scalars(Model):
    count: int | None = None
    ratio: float | None = None
    enabled: bool | None = None
    when: datetime | None = None
    name: str | None = None


class PydanticScalars(pydantic.BaseModel):
    count: int | None = None
    ratio: float | None = None
    enabled: bool | None = None
    when: datetime | None = None
    name: str | None = None


NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**38, 10**126, 10**400, -(10**400), 2**63, -(2**63), 253_402_300_800_000]),
    st.floats(allow_nan=True, allow_infinity=True),
)
DIGIT_TEXT = st.from_regex(r"\A[+-]?[0-9]{1,25}\Z").map(str) | st.sampled_from(["9" * 4301, "-" + "9" * 4300, "\u0661\u0662"])
OTHER_SHAPES = st.one_of(
    st.none(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@PROPERTY_SETTINGS
@given(
    count=NUMBERS | DIGIT_TEXT | OTHER_SHAPES,
    ratio=NUMBERS | DIGIT_TEXT | st.sampled_from(["1e400", "-1e-400", "nan", "Infinity"]) | OTHER_SHAPES,
    enabled=st.integers() | st.sampled_from([10**50, "true", "off", "2", "Y"]) | OTHER_SHAPES,
    # Whole-number timestamps: how each rounds a fraction of a microsecond is not compared.
    when=st.integers()
    | st.sampled_from([10**400, 2**63, -(2**70), 253_402_300_800_000, float("nan"), float("-inf"), 2e10])
    | OTHER_SHAPES,
    name=st.text(alphabet=st.characters(codec=None), max_size=8) | NUMBERS | OTHER_SHAPES,
)
def test_hostile_scalars_are_refused_as_pydantic_refuses_them(count: Any, ratio: Any, enabled: Any, when: Any, name: Any) -> None:
    # Given hostile values (non-finite, huge, fractional, surrogates, the wrong shape) for each scalar type
    data = {"count": count, "ratio": ratio, "enabled": enabled, "when": when, "name": name}

    # When both validate them / Then they agree, and the contract module raises nothing but ValidationError
    assert_agree(outcome(Scalars, data, ValidationError), outcome(PydanticScalars, data, pydantic.ValidationError), repr(data))


def test_models_are_frozen_and_copied_with_updates() -> None:
    # Given a valid model
    sample = Sample.model_validate(VALID)

    # When a field is assigned / Then it is refused; model_copy makes a changed copy instead
    with pytest.raises(TypeError, match="frozen"):
        sample.name = "other"  # type: ignore[misc]
    changed = sample.model_copy(update={"name": "xyz"})
    assert (changed.name, sample.name) == ("xyz", "abc")
    assert changed != sample
    assert changed.model_copy(update={"name": "abc"}) == sample
    assert hash(sample.limits) == hash(Limits(count=3, ratio=0.5))


def test_a_bool_is_not_an_int() -> None:
    # Stricter than pydantic's lax mode, which reads True as 1: a flag in a count is a mistake.
    with pytest.raises(ValidationError, match="valid integer"):
        Limits.model_validate({"count": True, "ratio": 0.5})


def test_keyword_construction_validates_like_model_validate() -> None:
    with pytest.raises(ValidationError, match="count"):
        Limits(count=0, ratio=0.5)
    assert Limits(count="2", ratio=0.5).count == 2  # type: ignore[arg-type]


def test_dump_modes_and_exclusions() -> None:
    sample = Sample.model_validate(VALID)

    assert sample.model_dump()["when"] == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert sample.model_dump(mode="json")["when"] == "2026-11-22T10:00:00Z"
    assert "note" not in sample.model_dump(exclude_none=True)
    assert sample.model_dump()["limits"] == {"count": 3, "ratio": 0.5}


class Checked(Model):
    model_config = ConfigDict(frozen=True)

    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> Checked:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Aliased(Model):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    later: Later | None = None


class Later(Model):
    value: int


def test_whole_model_checks_run_after_the_fields() -> None:
    assert Checked.model_validate({"low": 1, "high": 2}).high == 2
    with pytest.raises(ValidationError) as raised:
        Checked.model_validate({"low": 3, "high": 2})
    assert raised.value.errors() == [{"loc": (), "msg": "Value error, low must not exceed high", "type": "value_error"}]


class Reading(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal["s", "ms"] = "s"
    value: int
    label: str = "reading"

    @field_validator("value")
    @classmethod
    def _within_a_minute(cls, value: int, info: ValidationInfo) -> int:
        limit = 60_000 if info.data.get("unit") == "ms" else 60
        if not 0 <= value <= limit:
            raise ValueError(f"must be between 0 and {limit} ({info.field_name})")
        return value

    @field_validator("label")
    @classmethod
    def _trimmed(cls, label: str) -> str:
        if label != label.strip():
            raise ValueError("no spaces around it")
        return label.upper()


class PydanticReading(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    unit: Literal["s", "ms"] = "s"
    value: int
    label: str = "reading"

    @pydantic.field_validator("value")
    @classmethod
    def _within_a_minute(cls, value: int, info: pydantic.ValidationInfo) -> int:
        limit = 60_000 if info.data.get("unit") == "ms" else 60
        if not 0 <= value <= limit:
            raise ValueError(f"must be between 0 and {limit} ({info.field_name})")
        return value

    @pydantic.field_validator("label")
    @classmethod
    def _trimmed(cls, label: str) -> str:
        if label != label.strip():
            raise ValueError("no spaces around it")
        return label.upper()


READINGS: list[tuple[str, dict[str, Any]]] = [
    ("valid, validator's value kept", {"unit": "ms", "value": 1500, "label": "cpu"}),
    ("earlier field's default is in info.data", {"value": 61}),
    ("over the limit of the earlier field", {"unit": "s", "value": 120}),
    ("earlier field invalid: not in info.data", {"unit": "h", "value": 1500}),
    ("value's type wrong: validator not run", {"value": "many"}),
    ("validator without info", {"value": 1, "label": " cpu "}),
    ("default not validated", {"value": 1}),
]


@pytest.mark.parametrize(("case", "data"), READINGS, ids=[case for case, _ in READINGS])
def test_field_validators_agree_with_pydantic(case: str, data: dict[str, Any]) -> None:
    # Given field validators, with and without the fields validated before them / When both validate
    ours = outcome(Reading, data, ValidationError)
    theirs = outcome(PydanticReading, data, pydantic.ValidationError)

    # Then they accept and refuse alike, at the field's place
    assert_agree(ours, theirs, case)


def test_a_field_validator_must_name_fields_of_its_model() -> None:
    with pytest.raises(TypeError, match="validates colour, which are not fields"):

        class Odd(Model):
            value: int

            @field_validator("colour")
            @classmethod
            def _check(cls, colour: str) -> str:
                return colour


def test_aliases_forward_references_and_ignored_extras() -> None:
    # Given a model with an alias, populate_by_name, a field typed by a class defined after it
    by_alias = Aliased.model_validate({"detail-type": "x", "later": {"value": "5"}, "unknown": 1})
    by_name = Aliased.model_validate({"detail_type": "x"})

    # Then both spellings work, the forward reference resolves and unknown keys are ignored
    assert (by_alias.detail_type, by_alias.later) == ("x", Later(value=5))
    assert by_name.detail_type == "x"
    assert by_alias.model_dump(by_alias=True) == {"detail-type": "x", "later": {"value": 5}}
    with pytest.raises(ValidationError, match="detail-type"):
        Aliased.model_validate({})


def test_json_schema_describes_fields_constraints_and_nested_models() -> None:
    schema = Sample.model_json_schema()

    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "code", "when", "enabled", "limits"}
    assert schema["properties"]["name"] == {"type": "string", "minLength": 2, "maxLength": 5}
    assert schema["properties"]["tier"] == {"enum": ["standard", "vip"], "type": "string", "default": "standard"}
    assert schema["properties"]["limits"] == {"$ref": "#/$defs/Limits"}
    assert schema["$defs"]["Limits"]["properties"]["ratio"] == {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
    assert schema["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}


def test_unsupported_declarations_fail_loudly() -> None:
    with pytest.raises(TypeError, match="does not take"):
        contract.FieldInfo(unknown=1)

    class Odd(Model):
        value: complex

    with pytest.raises(TypeError, match="cannot be of type"):
        Odd.model_validate({"value": 1})
