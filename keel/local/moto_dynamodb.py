"""moto's DynamoDB without the costs that grow with a table, and with Time to Live.

A long local run slowed down as its tables grew (about 7 events/s in its first minute, 2 in its
tenth, 2,000 events): every Query listed and sorted every item of the table before keeping those
with the queried key, and an index query compared every item's attributes. The decisions table,
queried by resource for each cooldown check, only grows. So:

- a Query on the table (or on a local secondary index, which shares the table's partition key) starts
  from the items of the queried partition only;
- a Query on a global secondary index starts from the items with the queried key values, found in an
  index of the table kept as items are put, updated and deleted (built at the index's first query);
- moto's own query then does the rest (range conditions, order, filters, pages, projections) on those
  items, so results are the same as moto's (tests/local/test_moto_dynamodb.py compares both).

moto never expires items with a TTL, so tables of claims and idempotency records only grow, and a
claim that should have expired never does. `expire_items` deletes what DynamoDB's TTL process would:
items of a table with TTL enabled whose TTL attribute is a Number of epoch seconds earlier than now
but no more than five years earlier
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html).
DynamoDB deletes them within days and they may be read until then; the local cloud deletes them when
it sweeps (when its world time moves on, and while it drives executions), which is within that window.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

MODELS = "moto.dynamodb.models"
TABLE_QUERY = (f"{MODELS}.table", "Table", "query")
TABLE_PUT = (f"{MODELS}.table", "Table", "put_item")
TABLE_DELETE = (f"{MODELS}.table", "Table", "delete_item")
BACKEND_UPDATE = (MODELS, "DynamoDBBackend", "update_item")
FIVE_YEARS_SECONDS = 5 * 365 * 86_400

Key = tuple[Any, ...]


class _GlobalIndex:
    """A global secondary index's items by their index partition key values (moto's DynamoType values)."""

    def __init__(self, attributes: list[str], items: list[Any]) -> None:
        self.attributes = attributes
        self.items: dict[Key, dict[Key, Any]] = {}
        self.key_of: dict[Key, Key] = {}  # an item's primary key -> its index key
        for item in items:
            self.put(item)

    def _index_key(self, item: Any) -> Key | None:
        values = tuple(item.attrs.get(attribute) for attribute in self.attributes)
        return None if any(value is None for value in values) else values

    def put(self, item: Any) -> None:
        primary = (item.hash_key, item.range_key)
        self.remove(primary)
        key = self._index_key(item)
        if key is not None:  # an item without the index's keys is not in the index
            self.items.setdefault(key, {})[primary] = item
            self.key_of[primary] = key

    def remove(self, primary: Key) -> None:
        key = self.key_of.pop(primary, None)
        if key is not None:
            members = self.items[key]
            members.pop(primary, None)
            if not members:
                del self.items[key]

    def members(self, values: Key) -> list[Any]:
        return list(self.items.get(values, {}).values())


class TableIndexes:
    """The global secondary indexes the local cloud keeps, per moto table (forgotten with the table)."""

    def __init__(self) -> None:
        self._tables: weakref.WeakKeyDictionary[Any, dict[str, _GlobalIndex]] = weakref.WeakKeyDictionary()

    def index(self, table: Any, name: str, attributes: list[str]) -> _GlobalIndex:
        indexes = self._tables.setdefault(table, {})
        if name not in indexes:
            indexes[name] = _GlobalIndex(attributes, _all_items(table))
        return indexes[name]

    def put(self, table: Any, item: Any) -> None:
        for index in self._tables.get(table, {}).values():
            index.put(item)

    def remove(self, table: Any, item: Any) -> None:
        for index in self._tables.get(table, {}).values():
            index.remove((item.hash_key, item.range_key))


def _all_items(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


def _partition(table: Any, hash_key: Any) -> list[Any]:
    stored = table.items.get(hash_key)
    if stored is None:
        return []
    return list(stored.values()) if table.range_key_attr else [stored]


def _candidates(indexes: TableIndexes, table: Any, arguments: dict[str, Any]) -> list[Any] | None:
    """The items a query can return, before moto's own conditions; None: let moto look at every item."""
    index_name = arguments.get("index_name")
    conditions = dict(arguments.get("hash_key_conditions") or [])
    if not index_name:
        hash_key = arguments.get("hash_key")
        return None if hash_key is None else _partition(table, hash_key)
    index = next((found for found in table.all_indexes() if found.name == index_name), None)
    if index is None:
        return None  # moto answers with its own validation error
    attributes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    if not attributes or any(attribute not in conditions for attribute in attributes):
        return None
    if attributes == [table.hash_key_attr]:
        return _partition(table, conditions[table.hash_key_attr])
    if index not in (table.global_indexes or []):
        return None
    return indexes.index(table, index_name, attributes).members(tuple(conditions[attribute] for attribute in attributes))


QUERY_PARAMETERS = (
    "hash_key",
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
    "hash_key_conditions",
    "range_key_conditions",
)


def indexed_query(original: Callable[..., Any], indexes: TableIndexes) -> Callable[..., Any]:
    """Table.query starting from the candidates instead of every item (each request is atomic, so
    nothing else sees the table's all_items narrowed for the call)."""

    def query(table: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = {**dict(zip(QUERY_PARAMETERS, args, strict=False)), **kwargs}
        candidates = _candidates(indexes, table, arguments)
        if candidates is None:
            return original(table, *args, **kwargs)
        table.all_items = lambda: candidates
        try:
            return original(table, *args, **kwargs)
        finally:
            del table.all_items

    return query


def tracking_put(original: Callable[..., Any], indexes: TableIndexes) -> Callable[..., Any]:
    def put_item(table: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(table, *args, **kwargs)
        indexes.put(table, item)
        return item

    return put_item


def tracking_delete(original: Callable[..., Any], indexes: TableIndexes) -> Callable[..., Any]:
    def delete_item(table: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(table, *args, **kwargs)
        if item is not None:
            indexes.remove(table, item)
        return item

    return delete_item


def tracking_update(original: Callable[..., Any], indexes: TableIndexes) -> Callable[..., Any]:
    """DynamoDBBackend.update_item changes the stored item in place: index it again."""

    def update_item(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(backend, table_name, *args, **kwargs)
        indexes.put(backend.get_table(table_name), item)
        return item

    return update_item


def expire_items(backends: Any, now: float) -> int:
    """Delete every item whose TTL has passed, in every table of every account and region; how many."""
    expired = 0
    for _account, regions in list(backends.items()):
        for _region, backend in list(regions.items()):
            for table in list(backend.tables.values()):
                expired += _expire_table(table, now)
    return expired


def _expire_table(table: Any, now: float) -> int:
    if table.ttl.get("TimeToLiveStatus") != "ENABLED" or not table.ttl.get("AttributeName"):
        return 0
    attribute = table.ttl["AttributeName"]
    gone = [item for item in _all_items(table) if _expired(item.attrs.get(attribute), now)]
    for item in gone:
        table.delete_item(item.hash_key, item.range_key)
    return len(gone)


def _expired(value: Any, now: float) -> bool:
    if value is None or value.type != "N":
        return False  # no TTL attribute, or not a Number: DynamoDB's TTL ignores the item
    try:
        expires = Decimal(value.value)
    except InvalidOperation:
        return False
    return now - FIVE_YEARS_SECONDS <= expires < now
