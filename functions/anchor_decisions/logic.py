"""Copy every new decision record from the decisions table's stream into the anchor bucket.

Each record is written once, under a key of its own (functions/shared/domain/anchor.py), and kept under
Object Lock (compliance mode) for the environment's retention. A redelivered stream record finds its
copy already there; anything else the stream shows happening to a record (changed, removed, inserted
again with other content) or to a chain's head (removed) is kept as an alteration beside the records:
evidence of when the table was changed, whatever the table says afterwards. Step markers and a head
moving on (every append) are the table's own bookkeeping and are not copied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from functions.shared.adapters.dynamodb import from_item
from functions.shared.domain import anchor
from functions.shared.domain.decisions import CHAIN_PREFIX, HEAD, RECORD_PREFIX
from functions.shared.runtime.contract import ConfigDict, Field, Model


class StreamChange(Model):
    """A stream record's `dynamodb` part (NEW_AND_OLD_IMAGES), in DynamoDB's attribute-value JSON."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    keys: dict[str, Any] = Field(alias="Keys")
    new_image: dict[str, Any] | None = Field(default=None, alias="NewImage")
    old_image: dict[str, Any] | None = Field(default=None, alias="OldImage")
    sequence_number: str = Field(alias="SequenceNumber", min_length=1)
    # Epoch seconds, when DynamoDB wrote the change to the stream.
    created: float | None = Field(default=None, alias="ApproximateCreationDateTime")


class StreamRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    event_name: Literal["INSERT", "MODIFY", "REMOVE"] = Field(alias="eventName")
    change: StreamChange = Field(alias="dynamodb")


class StreamBatch(Model):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    records: list[StreamRecord] = Field(alias="Records")


class Anchor(Protocol):
    def create(self, key: str, body: bytes) -> bool: ...
    def read(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class Dependencies:
    anchor: Anchor


Outcome = Literal["anchored", "already_anchored", "alteration", "ignored"]


def anchor_batch(batch: StreamBatch, deps: Dependencies) -> dict[str, int]:
    """What became of each stream record, counted. Any error fails the batch, which the event source
    mapping retries (bisecting it): every write here can be repeated."""
    tally: Counter[str] = Counter()
    for record in batch.records:
        tally[_anchor_one(record, deps)] += 1
    return dict(tally)


def _anchor_one(record: StreamRecord, deps: Dependencies) -> Outcome:
    keys = from_item(record.change.keys)
    partition, item = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if not partition.startswith(CHAIN_PREFIX):
        return "ignored"
    automation = partition[len(CHAIN_PREFIX) :]
    if item.startswith(RECORD_PREFIX) and record.event_name == "INSERT":
        return _anchor_record(automation, item, record, deps)
    if item.startswith(RECORD_PREFIX) or (item == HEAD and record.event_name == "REMOVE"):
        return _alteration(automation, item, record, deps, record.event_name)
    return "ignored"


def _anchor_record(automation: str, item: str, record: StreamRecord, deps: Dependencies) -> Outcome:
    written = from_item(record.change.new_image or {})
    body = anchor.encoded(written)
    key = anchor.record_key(automation, int(written["seq"]))
    if deps.anchor.create(key, body):
        return "anchored"
    if deps.anchor.read(key) == body:
        return "already_anchored"
    return _alteration(automation, item, record, deps, "INSERT over an anchored record")


def _alteration(automation: str, item: str, record: StreamRecord, deps: Dependencies, what: str) -> Outcome:
    change = record.change
    seen = datetime.fromtimestamp(change.created, UTC).isoformat(timespec="seconds") if change.created else None
    document = {
        "automation": automation,
        "item": item,
        "event": what,
        "stream_sequence": change.sequence_number,
        "seen_at": seen,
        "old": from_item(change.old_image) if change.old_image else None,
        "new": from_item(change.new_image) if change.new_image else None,
    }
    deps.anchor.create(anchor.alteration_key(automation, item, change.sequence_number), anchor.encoded(document))
    return "alteration"
