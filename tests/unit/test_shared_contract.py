"""functions/shared/runtime/contract.py: the light model layer Lambda code uses instead of pydantic.

The same model is declared twice, once with the contract module and once with pydantic, and both
must accept the same inputs into the same values and refuse the same inputs at the same places
with the same kind of error: the contract module is a subset of pydantic, not a dialect of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import pydantic
import pytest

from functions.shared.runtime import contract
from functions.shared.runtime.contract import ConfigDict, Field, Model, ValidationError, model_validator


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
]


def outcome(model: Any, data: dict[str, Any], error_type: type[Exception]) -> Any:
    try:
        return ("ok", model.model_validate(data).model_dump(mode="json"))
    except error_type as error:
        return ("error", sorted((tuple(item["loc"]), item["type"], item["msg"]) for item in error.errors()))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("case", "data"), CASES, ids=[case for case, _ in CASES])
def test_the_contract_module_agrees_with_pydantic(case: str, data: dict[str, Any]) -> None:
    # Given the same model declared with both / When the same input is validated by each
    ours = outcome(Sample, data, ValidationError)
    theirs = outcome(PydanticSample, data, pydantic.ValidationError)

    # Then both accept it into the same JSON, or both refuse it at the same places with the same kind of error
    assert ours[0] == theirs[0], case
    if ours[0] == "ok":
        assert ours[1] == theirs[1]
    else:
        assert [(loc, kind) for loc, kind, _ in ours[1]] == [(loc, kind) for loc, kind, _ in theirs[1]]
        for (_, _, mine), (_, _, pydantics) in zip(ours[1], theirs[1], strict=True):
            # The same sentence up to the detail after the comma (pydantic names its parser's finding).
            assert mine.split(",")[0] == pydantics.replace("Pydantic", "").split(",")[0]


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
