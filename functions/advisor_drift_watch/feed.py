"""Reading an automation's decision record from a point on, in the order it was recorded.

The chain's items are keyed `seq#<000000000042>` in the automation's partition
(functions/shared/domain/decisions.py), so "what is new since seq N" is one query on the sort key
range: a run reads only the records added since the last run, a page at a time.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import HEAD, RECORD_PREFIX, chain_partition

PAGE = 200


@dataclass(frozen=True)
class Recorded:
    seq: int
    body: dict[str, Any]


def _sk(seq: int) -> str:
    return f"{RECORD_PREFIX}{seq:012d}"


class DecisionFeed:
    def __init__(self, table: Table) -> None:
        self.table = table

    def head_seq(self, automation: str) -> int:
        """The chain's last seq (0 when nothing was recorded yet)."""
        head = self.table.get({"pk": chain_partition(automation), "sk": HEAD})
        return int(head["seq"]) if head else 0

    def after(self, automation: str, seq: int, limit: int) -> Iterator[Recorded]:
        """At most `limit` records with a seq above `seq`, oldest first."""
        items = self.table.query(
            # The partition holds its records (seq#...) and its head ("head" sorts before "seq#").
            "pk = :pk AND sk >= :first",
            {":pk": chain_partition(automation), ":first": _sk(seq + 1)},
            page_size=min(PAGE, limit),
            consistent=True,
        )
        for item in itertools.islice(items, limit):
            yield Recorded(seq=int(item["seq"]), body=json.loads(item["body"]))
