"""A published event schema may change only additively within its major version."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from functions.shared.contracts import find
from infra.event_contracts import json_schema
from infra.schema_compatibility import Break, UnsupportedSchemaError, breaking_changes


def published() -> dict[str, Any]:
    contract = find("user_signed_up", 1)
    assert contract is not None
    return json_schema(contract)


def detail(schema: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = schema["$defs"]["UserSignedUp"]
    return found


def removed(schema: dict[str, Any]) -> None:
    del detail(schema)["properties"]["name"]
    detail(schema)["required"].remove("name")


def retyped(schema: dict[str, Any]) -> None:
    detail(schema)["properties"]["name"] = {"type": "integer"}


def made_required(schema: dict[str, Any]) -> None:
    detail(schema)["properties"]["team"] = {"type": "string"}
    detail(schema)["required"].append("team")


def narrowed(schema: dict[str, Any]) -> None:
    detail(schema)["properties"]["plan"]["enum"].remove("free")


def limited(schema: dict[str, Any]) -> None:
    detail(schema)["properties"]["name"]["maxLength"] = 100


def repatterned(schema: dict[str, Any]) -> None:
    detail(schema)["properties"]["user_id"]["pattern"] = "^usr_[0-9]{1,60}$"


def recast(schema: dict[str, Any]) -> None:
    schema["properties"]["source"]["const"] = "app.users"


@pytest.mark.parametrize(
    ("change", "field", "what"),
    [
        (removed, "detail.name", "field removed"),
        (retyped, "detail.name", 'type changed from "string" to "integer"'),
        (made_required, "detail.team", "field made required"),
        (narrowed, "detail.plan", 'enum narrowed: ["free"] no longer allowed'),
        (limited, "detail.name", "maxLength tightened from 200 to 100"),
        (repatterned, "detail.user_id", "pattern changed"),
        (recast, "source", 'const changed from "app.accounts" to "app.users"'),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_each_kind_of_breaking_change_is_found_with_its_field(change: Any, field: str, what: str) -> None:
    # Given the published v1 schema and a new version changed in one breaking way
    old = published()
    new = copy.deepcopy(old)
    change(new)

    # When they are compared
    breaks = breaking_changes(old, new)

    # Then that one change is reported, naming the field
    assert len(breaks) == 1
    assert breaks[0].field == field
    assert what in breaks[0].change


def test_tightening_additional_properties_breaks() -> None:
    # Given a published version that allowed fields it does not list, and a new one that refuses them
    old = published()
    detail(old)["additionalProperties"] = True
    new = published()

    # When compared / Then the tightening is named
    assert breaking_changes(old, new) == [Break("detail", "additionalProperties tightened to false")]


def test_additive_changes_pass() -> None:
    # Given a new version with an optional field, a wider enum, a looser limit and a new description
    old = published()
    new = copy.deepcopy(old)
    detail(new)["properties"]["referrer"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    detail(new)["properties"]["plan"]["enum"].append("nonprofit")
    detail(new)["properties"]["name"]["maxLength"] = 400
    detail(new)["properties"]["name"]["description"] = "As the user typed it."

    # When compared / Then nothing breaks
    assert breaking_changes(old, new) == []


def test_a_keyword_outside_the_compared_subset_is_refused() -> None:
    # Given a new version using oneOf, which the comparison does not cover
    new = published()
    detail(new)["properties"]["plan"] = {"oneOf": [{"type": "string"}, {"type": "integer"}]}

    # When compared / Then it is refused, naming the field, rather than half-compared
    with pytest.raises(UnsupportedSchemaError, match="'oneOf'") as raised:
        breaking_changes(published(), new)
    assert raised.value.field == "$defs.UserSignedUp.plan"
