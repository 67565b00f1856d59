"""Is a new version of a published event schema compatible with the old one? (additive changes only)

Every event a published version accepts must stay valid under the next one (producers not moved on
yet, events waiting in a dead-letter queue for a redrive, consumers' samples and tests all rely on
it), so within a major version a schema may only widen: a new optional field, a new enum value, a looser
limit, a description. What narrows it is breaking: a field removed, a type changed, a field made
required, an enum narrowed or a constant changed, additionalProperties tightened, a limit tightened
(minLength up, maxLength down, ...), a pattern or format changed or added.

The comparison covers the JSON schema subset Keel's contract models generate
(functions/shared/runtime/contract_schema.py): type, properties, required, additionalProperties,
items, enum, const, $ref to #/$defs, anyOf (an optional `X | None` field: a member may be added, none
removed or changed), and the keywords in LIMITS, PATTERNS and ANNOTATIONS. A schema
using any other keyword (oneOf, allOf, not, if, ...) is refused rather than compared partly.

Libraries that compare JSON schemas were looked at on PyPI: jsoncompat (alpha; it says it misses some
incompatible changes and reports false positives) and jsonschema-changelog (0.x, one maintainer).
Neither is a dependency worth its weight for this subset; this "deserializer" direction (jsoncompat's
term: every value the old schema accepts, the new one accepts) is what consumers need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Keywords whose change is breaking only in one direction: (keyword, True when a larger value narrows).
LIMITS = {
    "minLength": True,
    "minItems": True,
    "minimum": True,
    "exclusiveMinimum": True,
    "maxLength": False,
    "maxItems": False,
    "maximum": False,
    "exclusiveMaximum": False,
}
# Keywords whose every change (or addition) may refuse values the old version allowed.
PATTERNS = ("pattern", "format")
ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$schema", "$id", "$defs"})
STRUCTURE = frozenset({"type", "properties", "required", "additionalProperties", "items", "enum", "const", "$ref", "anyOf"})
SUBSET = STRUCTURE | ANNOTATIONS | frozenset(LIMITS) | frozenset(PATTERNS)


@dataclass(frozen=True)
class Break:
    """One breaking change: the field (dotted path from the event's root) and what changed."""

    field: str
    change: str


class UnsupportedSchemaError(ValueError):
    def __init__(self, field: str, keyword: str) -> None:
        self.field = field
        super().__init__(f"uses '{keyword}', outside the schema subset synth compares (infra/schema_compatibility.py)")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Break]:
    """Every way `new` refuses an event `old` accepts; [] when the change is additive."""
    _check_subset(new, new, "(root)")
    return list(_compare(_Node(old, old), _Node(new, new), ""))


@dataclass(frozen=True)
class _Node:
    root: dict[str, Any]
    schema: dict[str, Any]

    def resolved(self) -> dict[str, Any]:
        schema = self.schema
        while "$ref" in schema:
            name = str(schema["$ref"]).removeprefix("#/$defs/")
            schema = self.root["$defs"][name]
        return schema

    def child(self, schema: dict[str, Any]) -> _Node:
        return _Node(self.root, schema)


def _check_subset(root: dict[str, Any], schema: dict[str, Any], field: str) -> None:
    for keyword in schema:
        if keyword not in SUBSET:
            raise UnsupportedSchemaError(field, keyword)
    ref = schema.get("$ref")
    if ref is not None and not (str(ref).startswith("#/$defs/") and str(ref).removeprefix("#/$defs/") in root.get("$defs", {})):
        raise UnsupportedSchemaError(field, f"$ref {ref}")
    for name, definition in schema.get("$defs", {}).items():
        _check_subset(root, definition, f"$defs.{name}")
    for name, child in schema.get("properties", {}).items():
        _check_subset(root, child, _join(field, name))
    if isinstance(schema.get("items"), dict):
        _check_subset(root, schema["items"], _join(field, "[]"))
    for member in schema.get("anyOf", []):
        _check_subset(root, member, field)
    if isinstance(schema.get("additionalProperties"), dict):
        raise UnsupportedSchemaError(field, "additionalProperties as a schema")


def _join(field: str, name: str) -> str:
    return name if field in ("", "(root)") else f"{field}.{name}"


def _compare(old_node: _Node, new_node: _Node, field: str) -> Iterator[Break]:
    old, new = old_node.resolved(), new_node.resolved()
    where = field or "(root)"
    if "anyOf" in old or "anyOf" in new:
        yield from _members(old_node, new_node, where)
        return
    if old.get("type") != new.get("type"):
        yield Break(where, f"type changed from {_show(old.get('type'))} to {_show(new.get('type'))}")
        return
    yield from _values(old, new, where)
    yield from _limits(old, new, where)
    yield from _objects(old_node, new_node, field)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        yield from _compare(old_node.child(old["items"]), new_node.child(new["items"]), _join(field, "[]"))


def _members(old_node: _Node, new_node: _Node, where: str) -> Iterator[Break]:
    """A union may gain members; each member the published version had must still be there, unchanged."""
    old, new = old_node.resolved(), new_node.resolved()
    kept = [_canonical(new_node.child(member)) for member in new.get("anyOf", [new])]
    for member in old.get("anyOf", [old]):
        if _canonical(old_node.child(member)) not in kept:
            yield Break(where, f"type narrowed: {_show(member)} no longer allowed")


def _canonical(node: _Node) -> str:
    return json.dumps(node.resolved(), sort_keys=True)


def _values(old: dict[str, Any], new: dict[str, Any], where: str) -> Iterator[Break]:
    if "const" in new and ("const" not in old or old["const"] != new["const"]):
        yield Break(where, f"const changed from {_show(old.get('const'))} to {_show(new['const'])}")
    if "enum" in new:
        allowed = old.get("enum", [old["const"]] if "const" in old else None)
        removed = [value for value in allowed or [] if value not in new["enum"]]
        if allowed is None:
            yield Break(where, f"enum added ({_show(new['enum'])}): it refuses values the published version allows")
        elif removed:
            yield Break(where, f"enum narrowed: {_show(removed)} no longer allowed")


def _limits(old: dict[str, Any], new: dict[str, Any], where: str) -> Iterator[Break]:
    for keyword, larger_narrows in LIMITS.items():
        if keyword not in new:
            continue
        before = old.get(keyword)
        if before is None or (new[keyword] > before if larger_narrows else new[keyword] < before):
            yield Break(where, f"{keyword} tightened from {_show(before)} to {_show(new[keyword])}")
    for keyword in PATTERNS:
        if keyword in new and old.get(keyword) != new[keyword]:
            yield Break(where, f"{keyword} changed from {_show(old.get(keyword))} to {_show(new[keyword])}")


def _objects(old_node: _Node, new_node: _Node, field: str) -> Iterator[Break]:
    old, new = old_node.resolved(), new_node.resolved()
    where = field or "(root)"
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    for name, schema in old_properties.items():
        if name not in new_properties:
            yield Break(_join(field, name), "field removed")
        else:
            yield from _compare(old_node.child(schema), new_node.child(new_properties[name]), _join(field, name))
    for name in new.get("required", []):
        if name not in old.get("required", []):
            yield Break(_join(field, name), "field made required")
    if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
        yield Break(where, "additionalProperties tightened to false")


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value)
