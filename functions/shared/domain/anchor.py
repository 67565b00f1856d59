"""The anchor of the decision record: every record, as written, kept where no role of the platform can rewrite it.

The decisions table's stream delivers every change to `anchor_decisions` (a platform function), which
copies each new record into an S3 bucket with Object Lock in compliance mode: for the environment's
retention no one, the account's root user included, can overwrite or delete an object version or
shorten its retention (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html).
`keel ops verify-chain` compares the table with these copies (keel/ops/ledger.py).

Keys in the anchor bucket:
  records/<automation>/<seq 000000000042>.json       the record's item, as its INSERT put it on the stream
  alterations/<automation>/<item>/<stream seq>.json  a record changed or removed in the table, a record
                                                     inserted again with other content, a head removed
"""

from __future__ import annotations

import json
import re
from typing import Any

from functions.shared.domain.decisions import canonical

RECORDS = "records"
ALTERATIONS = "alterations"
RECORD_KEY = re.compile(r"^records/(?P<automation>[^/]+)/(?P<seq>\d{12})\.json$")


def record_key(automation: str, seq: int) -> str:
    return f"{RECORDS}/{automation}/{seq:012d}.json"


def records_prefix(automation: str) -> str:
    return f"{RECORDS}/{automation}/"


def alteration_key(automation: str, item: str, stream_sequence: str) -> str:
    """`item` is the table item's sort key with `#` made safe for a key (seq-000000000042, head)."""
    return f"{ALTERATIONS}/{automation}/{item.replace('#', '-')}/{stream_sequence}.json"


def alterations_prefix(automation: str) -> str:
    return f"{ALTERATIONS}/{automation}/"


def seq_of(key: str) -> int | None:
    """The record number an anchored record's key names; None for any other key."""
    match = RECORD_KEY.match(key)
    return int(match["seq"]) if match else None


def encoded(document: dict[str, Any]) -> bytes:
    """Canonical JSON: the same item always makes the same bytes, so a redelivered record is recognised."""
    return canonical(document).encode()


def decoded(data: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(data)
    return document
