"""JSON schema (draft 2020-12) of a contract model, for publishing event contracts (scripts/).

Kept apart from functions/shared/runtime/contract.py so Lambda code never compiles it.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any, Literal

from functions.shared.runtime.contract import Model, dump_value

_SCALAR_SCHEMAS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    datetime: {"type": "string", "format": "date-time"},
    type(None): {"type": "null"},
    Any: {},
}
_SCHEMA_KEYWORDS = {
    "min_length": ("minLength", "minItems"),
    "max_length": ("maxLength", "maxItems"),
    "pattern": ("pattern", "pattern"),
    "ge": ("minimum", "minimum"),
    "gt": ("exclusiveMinimum", "exclusiveMinimum"),
    "le": ("maximum", "maximum"),
    "lt": ("exclusiveMaximum", "exclusiveMaximum"),
}


def _object_schema(model: type[Model], definitions: dict[str, Any], by_alias: bool) -> dict[str, Any]:
    hints = typing.get_type_hints(model)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias if by_alias and info.alias else name
        schema = _type_schema(hints[name], definitions, by_alias)
        textual = schema.get("type") == "string"
        for constraint, limit in info.constraints.items():
            schema[_SCHEMA_KEYWORDS[constraint][0 if textual else 1]] = limit
        if info.description:
            schema["description"] = info.description
        if info.required:
            required.append(key)
        elif info.default_factory is None:
            schema["default"] = dump_value(info.default, as_json=True, by_alias=by_alias)
        properties[key] = schema
    schema = {"title": model.__name__, "type": "object", "properties": properties, "required": required}
    if model.__doc__:
        schema["description"] = " ".join(model.__doc__.split())
    if model.model_config["extra"] == "forbid":
        schema["additionalProperties"] = False
    return schema


def _type_schema(annotation: Any, definitions: dict[str, Any], by_alias: bool) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is Literal:
        kind = _SCALAR_SCHEMAS[type(arguments[0])]
        return {"const": arguments[0], **kind} if len(arguments) == 1 else {"enum": list(arguments), **kind}
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [_type_schema(member, definitions, by_alias) for member in arguments]}
    if origin is list:
        return {"type": "array", "items": _type_schema(arguments[0], definitions, by_alias)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(arguments[1], definitions, by_alias)}
    if isinstance(annotation, type) and issubclass(annotation, Model):
        if annotation.__name__ not in definitions:
            definitions[annotation.__name__] = {}  # placed first: a model that refers to itself terminates
            definitions[annotation.__name__] = _object_schema(annotation, definitions, by_alias)
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    return dict(_SCALAR_SCHEMAS[annotation])


def json_schema(model: type[Model], by_alias: bool = True) -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    schema = _object_schema(model, definitions, by_alias)
    if definitions:
        schema["$defs"] = dict(sorted(definitions.items()))
    return schema
