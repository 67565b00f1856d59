"""The platform's model store (`keel-<env>-models`, DynamoDB, encrypted with the platform key): advisor
models that retraining produced, each with its evaluation, and which one an automation advises from in
shadow (and, once a person promotes one, live).

Items (partition key `id`):
  model#<automation>#<model version>   {"model": <the model's JSON, as text>, "evaluation": {...},
                                        "digest": "sha256:...", "stored_at": ..., "drift_id": ...}
  pointer#<automation>#<role>          {"model_version": ..., "set_at": ..., "set_by": ..., "reason": ...}

A model version names one model forever: the model item is written under a condition (no item with its
key), so nothing overwrites a stored version; writing the same model again (a retried task) is a no-op.
Why DynamoDB and not S3: one conditional write makes versions immutable, the platform's table construct
already carries the key, point-in-time recovery and its nag findings, and a model (25 to 75 KiB today)
is far under an item's 400 KB
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items);
one that is not is refused with its size.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol

from functions.shared.runtime.errors import ConflictError, InvalidInputError

# DynamoDB's item size limit is 400 KB, attribute names and values included: the model text gets most of it.
MAX_MODEL_BYTES = 350_000
Role = Literal["shadow", "live"]


class Items(Protocol):
    def get(self, key: dict[str, Any]) -> dict[str, Any] | None: ...

    def put(self, values: dict[str, Any]) -> None: ...

    def put_if_absent(self, values: dict[str, Any], key_attribute: str) -> bool: ...


def model_key(automation: str, model_version: str) -> str:
    return f"model#{automation}#{model_version}"


def pointer_key(automation: str, role: str) -> str:
    return f"pointer#{automation}#{role}"


def model_text(model: dict[str, Any]) -> str:
    return json.dumps(model, sort_keys=True, separators=(",", ":"))


def model_digest(model: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(model_text(model).encode()).hexdigest()


class ModelStore:
    def __init__(self, table: Items, table_name: str) -> None:
        self.table = table
        self.table_name = table_name

    def where(self, automation: str, model_version: str) -> str:
        """Where a stored model is, as a decision records it."""
        return f"dynamodb://{self.table_name}/{model_key(automation, model_version)}"

    def put_model(self, automation: str, model_version: str, model: dict[str, Any], record: dict[str, Any]) -> bool:
        """Store a new model version; False when this very model is already stored under it (a retry).
        Another model under the same version is a ConflictError: versions are never overwritten."""
        text = model_text(model)
        if len(text.encode()) > MAX_MODEL_BYTES:
            raise InvalidInputError(
                f"model {model_version}: {len(text.encode())} bytes is more than the model store takes ({MAX_MODEL_BYTES})"
            )
        digest = model_digest(model)
        item = {"id": model_key(automation, model_version), "model": text, "digest": digest, **record}
        if self.table.put_if_absent(item, "id"):
            return True
        stored = self.table.get({"id": model_key(automation, model_version)})
        if stored is not None and stored.get("digest") == digest:
            return False
        raise ConflictError(f"model {model_version} of {automation} is already stored with other contents")

    def model(self, automation: str, model_version: str) -> dict[str, Any] | None:
        """The stored model's JSON, or None when no such version was stored."""
        item = self.table.get({"id": model_key(automation, model_version)})
        if item is None:
            return None
        model: dict[str, Any] = json.loads(item["model"])
        return model

    def record(self, automation: str, model_version: str) -> dict[str, Any] | None:
        """The stored item without the model text: its evaluation, what it was trained on, when."""
        item = self.table.get({"id": model_key(automation, model_version)})
        return None if item is None else {key: value for key, value in item.items() if key != "model"}

    def point(self, automation: str, role: Role, model_version: str, fields: dict[str, Any]) -> None:
        self.table.put({"id": pointer_key(automation, role), "model_version": model_version, **fields})

    def pointer(self, automation: str, role: Role) -> dict[str, Any] | None:
        return self.table.get({"id": pointer_key(automation, role)})
