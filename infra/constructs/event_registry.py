"""The environment's EventBridge schema registry: one schema per event contract version.

`keel-<env>-events` holds each contract of functions/shared/contracts/ as
`<source>@<DetailType>-v<major>` (app.accounts@UserSignedUp-v1), so producers and consumers outside
Keel find, download and generate code bindings for the events on the keel bus. A new major version
is a new schema; an additive change updates the schema's content, which the registry keeps as a new
version of that schema. Content is JSON schema draft 4: CloudFormation's AWS::EventSchemas::Schema
accepts the types OpenApi3 and JSONSchemaDraft4 only
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-eventschemas-schema.html),
so the published draft 2020-12 schema is written in draft 4's words (draft4 below).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra import names
from infra.config import Environment
from infra.event_contracts import PublishedContract

DRAFT_4 = "http://json-schema.org/draft-04/schema#"


@dataclass(frozen=True)
class EventRegistryProps:
    environment: Environment
    contracts: list[PublishedContract]


class EventRegistry(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: EventRegistryProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment.name
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=names.schema_registry(env),
            description=f"Keel {env}: the contracts of the events on the keel-{env} bus (schemas/ in the repository)",
        )
        self.schemas: dict[str, eventschemas.CfnSchema] = {}
        for published in props.contracts:
            contract = published.contract
            schema = eventschemas.CfnSchema(
                self,
                f"Schema-{contract.name}-v{contract.major}",
                registry_name=names.schema_registry(env),
                schema_name=names.event_schema(contract.source, contract.detail_type, contract.major),
                type="JSONSchemaDraft4",
                content=json.dumps(draft4(published.schema), sort_keys=True, separators=(",", ":")),
                description=contract.description,
            )
            schema.node.add_dependency(self.registry)
            self.schemas[contract.key] = schema


def draft4(schema: dict[str, Any]) -> dict[str, Any]:
    """A contract's draft 2020-12 schema in draft 4: $defs as definitions, const as a one-value enum,
    $id as id, numeric exclusive limits as the draft 4 boolean form."""
    converted: dict[str, Any] = _converted(schema)
    converted["$schema"] = DRAFT_4
    if "$id" in converted:
        converted["id"] = converted.pop("$id")
    return converted


def _converted(value: Any) -> Any:
    if isinstance(value, list):
        return [_converted(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted: dict[str, Any] = {}
    for key, item in value.items():
        if key == "$defs":
            converted["definitions"] = _converted(item)
        elif key == "$ref" and isinstance(item, str):
            converted["$ref"] = item.replace("#/$defs/", "#/definitions/")
        elif key == "const":
            converted["enum"] = [item]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(item, bool):
            converted["minimum" if key == "exclusiveMinimum" else "maximum"] = item
            converted[key] = True
        else:
            converted[key] = _converted(item)
    return converted
