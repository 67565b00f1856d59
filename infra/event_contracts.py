"""Event contracts at synth: each published schema current, recorded, and changed only additively.

Every contract in functions/shared/contracts/ has its JSON schema in schemas/<name>.v<major>.schema.json,
generated from its models (`scripts/export_event_schemas.py`). schemas/contracts.lock.json records
each published version: its fingerprint (sha256 of the canonical schema) and the schema itself, the
shape consumers were built against. Synth stops with one line when a schema file is not what its
models generate, when a version is not recorded yet, when a recorded version has disappeared, or
when a version changed in a way that is not additive (infra/schema_compatibility.py). The export
script records an additive change in the lock; a breaking change is a new major version (a new file).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.shared.contracts import CONTRACTS, EventContract
from functions.shared.runtime.contract_schema import json_schema as model_schema
from infra.errors import KeelConfigError
from infra.json_documents import read_json_document
from infra.schema_compatibility import UnsupportedSchemaError, breaking_changes

SCHEMAS = Path("schemas")
LOCK = SCHEMAS / "contracts.lock.json"
JSON_SCHEMA_2020 = "https://json-schema.org/draft/2020-12/schema"
EXPORT = "scripts/export_event_schemas.py"


@dataclass(frozen=True)
class PublishedContract:
    """A contract version as the platform stack publishes it."""

    contract: EventContract
    schema: dict[str, Any]


def json_schema(contract: EventContract) -> dict[str, Any]:
    """The contract's published schema: the event's model as JSON schema draft 2020-12."""
    generated = model_schema(contract.event, by_alias=True)
    kebab = contract.detail_type.lower().replace(" ", "-")
    return {
        "$schema": JSON_SCHEMA_2020,
        "$id": f"https://keel.example.com/schemas/{contract.source}/{kebab}/v{contract.major}.json",
        "title": f"{contract.detail_type} ({contract.source})",
        "description": contract.description,
        **{key: value for key, value in generated.items() if key not in ("title", "description")},
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def fingerprint(schema: dict[str, Any]) -> str:
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def read_lock(root: Path) -> dict[str, Any]:
    lock = read_json_document(root / LOCK, "the contracts lock", shown_as=LOCK)
    versions = lock.get("contracts") if isinstance(lock, dict) else None
    if not isinstance(versions, dict):
        raise KeelConfigError(LOCK, "contracts", "must be an object of recorded contract versions")
    return versions


def lock_entry(schema: dict[str, Any]) -> dict[str, Any]:
    return {"fingerprint": fingerprint(schema), "schema": schema}


def check_contracts(root: Path) -> list[PublishedContract]:
    """Every contract's committed schema, once each is checked against its models and the lock."""
    recorded = read_lock(root)
    known = {contract.key for contract in CONTRACTS}
    for key in sorted(set(recorded) - known):
        raise KeelConfigError(LOCK, f"contracts.{key}", "a published contract version is gone; its consumers still expect it")
    return [PublishedContract(contract, _checked(root, contract, recorded.get(contract.key))) for contract in CONTRACTS]


def _checked(root: Path, contract: EventContract, recorded: dict[str, Any] | None) -> dict[str, Any]:
    path = SCHEMAS / contract.file_name
    schema = json_schema(contract)
    committed = root / path
    if not committed.is_file() or committed.read_text() != render(schema):
        raise KeelConfigError(path, "(document)", f"not what the contract's models generate: run {EXPORT}")
    if recorded is None:
        raise KeelConfigError(LOCK, f"contracts.{contract.key}", f"not recorded: run {EXPORT} to publish it")
    if recorded.get("fingerprint") == fingerprint(schema):
        return schema
    problem = compatibility_problem(recorded.get("schema", {}), schema)
    if problem is not None:
        raise KeelConfigError(path, problem[0], f"{problem[1]} ({contract.name}.v{contract.major + 1}.schema.json)")
    raise KeelConfigError(LOCK, f"contracts.{contract.key}", f"an additive change is not recorded yet: run {EXPORT}")


def compatibility_problem(published: dict[str, Any], schema: dict[str, Any]) -> tuple[str, str] | None:
    """(field, what changed) for the first breaking change of a published version, or None."""
    try:
        breaks = breaking_changes(published, schema)
    except UnsupportedSchemaError as error:
        return error.field, str(error)
    if not breaks:
        return None
    first = breaks[0]
    more = f" (and {len(breaks) - 1} more)" if len(breaks) > 1 else ""
    return first.field, f"{first.change}{more} in a published version: breaks its consumers; make it a new major version"
