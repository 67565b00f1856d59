"""TransactWriteItems in moto without copying whole tables.

moto rolls a failed transaction back by deep-copying every table it names before it starts: each
transaction costs time in proportion to the table. The decision record appends with a transaction
to a table that only grows, so a long local run (`make bench`, 200 events per automation) slowed
down quadratically, and handler durations measured locally were mostly moto's copying.

A transaction can change only the items it names. This wrapper keeps a copy of those items (or
notes that they did not exist), hands moto a deep copy that is the live table itself (so its own
backup costs nothing), and on failure puts the named items back as they were: the same
all-or-nothing result, at a cost in proportion to the transaction.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.exceptions import MockValidationException

MODELS = "moto.dynamodb.models"
BACKEND = (MODELS, "DynamoDBBackend", "transact_write_items")

Snapshot = list[tuple[str, dict[str, Any], dict[str, Any] | None]]


def _named_key(backend: Any, operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    kind, body = next(iter(operation.items()))
    table_name = body.get("TableName")
    if table_name not in backend.tables:
        return None  # moto reports the missing table itself
    if kind != "Put":
        return table_name, dict(body.get("Key", {}))
    table = backend.tables[table_name]
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    if not all(name in body.get("Item", {}) for name in names):
        return None  # moto refuses the item itself
    return table_name, {name: body["Item"][name] for name in names}


def snapshot(backend: Any, operations: list[dict[str, Any]]) -> Snapshot:
    """Each named item as it is now (its attributes as moto's JSON), or None when it does not exist."""
    taken: Snapshot = []
    for operation in operations:
        named = _named_key(backend, operation)
        if named is None:
            continue
        table_name, key = named
        try:
            current = backend.get_item(table_name, key)
        except MockValidationException:
            continue  # a malformed key: moto reports it from the transaction itself
        taken.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    return taken


def restore(backend: Any, taken: Snapshot) -> None:
    for table_name, key, attributes in reversed(taken):
        if attributes is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attributes)


class _LiveTableCopy(types.ModuleType):
    """Stands in for the `copy` module inside moto's transaction: a table "copy" is the table."""

    def __init__(self, tables: type) -> None:
        super().__init__("copy")
        self._tables = tables

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._tables):
            return value
        return copy.deepcopy(value, memo)


def fast_transact_write_items(original: Callable[..., None], models: types.ModuleType) -> Callable[..., None]:
    shim = _LiveTableCopy(models.Table)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        taken = snapshot(backend, transact_items)
        with _module_attribute(models, "copy", shim):
            try:
                original(backend, transact_items)
            except Exception:
                restore(backend, taken)
                raise

    return transact_write_items


@contextmanager
def _module_attribute(module: types.ModuleType, name: str, value: Any) -> Iterator[None]:
    # Each request is atomic (keel/local/request_lock.py): no other request sees the shim.
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)
