"""Verify an automation's decision record: the chain in the table, against its anchored copies.

The table alone proves little: whoever can write it can edit a record and recompute every hash after
it, move the head back, or delete everything. The anchor (functions/shared/domain/anchor.py: S3 under
Object Lock, compliance mode) holds every record as it was first written, so verification compares
the two, record by record, and reports each difference with the record's number:

- a record's body, hashes or index copies differ from its anchored copy (edited; re-hashed forward);
- an anchored record is missing from the table (deleted; truncated, the head moved back; all deleted);
- two records record the same (execution, step) (a step marker deleted and the step recorded again);
- the anchor saw a record changed or removed, or a head removed (its alterations);
- the table's own links: seq order, prev_hash, hash, index copies, head.

A record recorded in the last ANCHOR_LAG and not yet anchored is pending, not a problem: the stream
delivers within seconds. What verification cannot see is in the README (The decision record).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from functions.shared.domain import anchor
from functions.shared.domain.decisions import GENESIS, INDEX_COPIES, DecisionLog, chain_hash, index_copies

# How long a new record may wait for its anchored copy before its absence is a problem.
ANCHOR_LAG = timedelta(minutes=15)
# The stored fields an anchored copy must match.
STORED = ("body", "prev_hash", "hash", *INDEX_COPIES)


class AnchorReader(Protocol):
    def versions(self, prefix: str) -> dict[str, list[str]]: ...
    def read_version(self, key: str, version: str) -> bytes: ...


@dataclass(frozen=True)
class Problem:
    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class ChainReport:
    automation: str
    checked: int = 0
    anchored: int = 0
    pending: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_of(self, seq: int) -> list[Problem]:
        return [problem for problem in self.problems if problem.seq == seq]

    def as_json(self) -> dict[str, Any]:
        return {
            "automation": self.automation,
            "ok": self.ok,
            "checked": self.checked,
            "anchored": self.anchored,
            "pending": self.pending,
            "problems": [{"seq": problem.seq, "problem": problem.what} for problem in self.problems],
        }


@dataclass(frozen=True)
class ChainEvidence:
    """An automation's chain as the table holds it and as the anchor first saw it: what verification
    compares, and what an audit export reads its rows from (keel/ops/audit.py)."""

    automation: str
    items: dict[int, dict[str, Any]]
    head: dict[str, Any] | None
    # The first anchored version of each record, by seq.
    copies: dict[int, dict[str, Any]]
    # What the anchor itself says: copies written more than once; alterations it saw in the table.
    rewritten: list[Problem]
    alterations: list[Problem]


def read_chain(log: DecisionLog, anchored_copies: AnchorReader, automation: str) -> ChainEvidence:
    items = {int(item["seq"]): item for item in log.chain_items(automation)}
    head = log.head(automation)
    copies, rewritten = _anchored(anchored_copies, automation)
    return ChainEvidence(automation, items, head, copies, rewritten, list(_alterations(anchored_copies, automation)))


def verify(log: DecisionLog, anchored_copies: AnchorReader, automation: str, *, now: datetime | None = None) -> ChainReport:
    return check(read_chain(log, anchored_copies, automation), now=now)


def check(evidence: ChainEvidence, *, now: datetime | None = None) -> ChainReport:
    items, head, copies = evidence.items, evidence.head, evidence.copies
    report = ChainReport(automation=evidence.automation, checked=len(items), anchored=len(copies))
    report.problems.extend(evidence.rewritten)
    report.problems.extend(_chain_problems(items, head))
    report.problems.extend(_anchor_problems(items, head, copies))
    report.problems.extend(_duplicate_steps(items, copies))
    report.problems.extend(evidence.alterations)
    cutoff = ((now or datetime.now(UTC)) - ANCHOR_LAG).isoformat(timespec="milliseconds")
    for seq in sorted(set(items) - set(copies)):
        if str(items[seq].get("recorded_at", "")) >= cutoff:
            report.pending.append(seq)
        else:
            report.problems.append(Problem(seq, f"not anchored, {ANCHOR_LAG} after it was recorded"))
    report.problems.sort(key=lambda problem: (problem.seq is None, problem.seq or 0))
    return report


def described(report: ChainReport) -> list[str]:
    """The report in words: one line when the chain is intact, then one line per problem."""
    pending = f", {len(report.pending)} awaiting their anchored copy" if report.pending else ""
    if report.ok:
        return [f"{report.automation}: chain intact ({report.checked} records, {report.anchored} anchored{pending})"]
    return [
        f"{report.automation}: chain BROKEN ({report.checked} records in the table, {report.anchored} anchored{pending})",
        *(f"  - {problem}" for problem in report.problems),
    ]


def table_problems(log: DecisionLog, automation: str) -> list[Problem]:
    """The table on its own, without the anchor: what its links and hashes say (a consistent rewrite passes)."""
    items = {int(item["seq"]): item for item in log.chain_items(automation)}
    return list(_chain_problems(items, log.head(automation)))


def _anchored(reader: AnchorReader, automation: str) -> tuple[dict[int, dict[str, Any]], list[Problem]]:
    """The first version of every anchored record: what was written first is what counts."""
    problems: list[Problem] = []
    copies: dict[int, dict[str, Any]] = {}
    for key, versions in reader.versions(anchor.records_prefix(automation)).items():
        seq = anchor.seq_of(key)
        if seq is None or not versions:
            continue
        copies[seq] = anchor.decoded(reader.read_version(key, versions[0]))
        if len(versions) > 1:
            problems.append(Problem(seq, f"its anchored copy was written {len(versions)} times (the first is compared)"))
    return copies, problems


def _chain_problems(items: dict[int, dict[str, Any]], head: dict[str, Any] | None) -> Iterable[Problem]:
    """The table on its own: order, links, hashes, index copies, head."""
    expected_prev, expected_seq = GENESIS, 1
    for seq in sorted(items):
        item = items[seq]
        if seq != expected_seq:
            yield Problem(expected_seq, f"missing from the table (the next record is {seq})")
        if item["prev_hash"] != expected_prev:
            yield Problem(seq, "does not link to the record before it (prev_hash)")
        if chain_hash(seq, item["prev_hash"], item["body"]) != item["hash"]:
            yield Problem(seq, "its hash does not match its body: modified after it was recorded")
        yield from (Problem(seq, what) for what in _index_mismatches(item))
        expected_prev, expected_seq = item["hash"], seq + 1
    last = expected_seq - 1
    if head is None and items:
        yield Problem(None, "the chain has records but no head")
    if head is not None and (int(head["seq"]) != last or head["hash"] != expected_prev):
        yield Problem(None, f"the chain's head (record {int(head['seq'])}) does not match its last record ({last})")


def _index_mismatches(item: dict[str, Any]) -> list[str]:
    try:
        body = json.loads(item["body"])
    except json.JSONDecodeError:
        return ["its body is not JSON"]
    expected = index_copies(body)
    return [
        f"its {name} was changed outside the hashed body (index copy)"
        for name in INDEX_COPIES
        if item.get(name) != expected.get(name)
    ]


def _anchor_problems(
    items: dict[int, dict[str, Any]], head: dict[str, Any] | None, copies: dict[int, dict[str, Any]]
) -> Iterable[Problem]:
    for seq in sorted(copies):
        item = items.get(seq)
        if item is None:
            yield Problem(seq, "anchored, but missing from the table (deleted)")
            continue
        changed = [name for name in STORED if item.get(name) != copies[seq].get(name)]
        if changed:
            yield Problem(seq, f"differs from its anchored copy: {', '.join(changed)}")
    newest = max(copies, default=0)
    head_seq = int(head["seq"]) if head is not None else 0
    if newest > head_seq:
        yield Problem(
            None,
            f"the chain's head says {head_seq} records, the anchor holds {newest}: the chain was truncated"
            if head is not None
            else f"the chain's head is gone, the anchor holds {newest} records: the chain was deleted",
        )


def _duplicate_steps(items: dict[int, dict[str, Any]], copies: dict[int, dict[str, Any]]) -> Iterable[Problem]:
    """A step is recorded once (its marker): two records of one (execution, step) mean a marker was removed."""
    by_step: dict[tuple[str, str], set[int]] = defaultdict(set)
    for seq, stored in [*copies.items(), *items.items()]:
        try:
            body = json.loads(stored["body"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        by_step[(str(body.get("execution_arn")), str(body.get("step")))].add(seq)
    for (execution, step), seqs in sorted(by_step.items(), key=lambda entry: min(entry[1])):
        if len(seqs) > 1:
            first, *others = sorted(seqs)
            for seq in others:
                yield Problem(seq, f"records step {step} of {execution} again (first recorded as record {first})")


def _alterations(reader: AnchorReader, automation: str) -> Iterable[Problem]:
    """What the anchor saw happen to records in the table (functions/anchor_decisions/logic.py)."""
    for key, versions in sorted(reader.versions(anchor.alterations_prefix(automation)).items()):
        document = anchor.decoded(reader.read_version(key, versions[0]))
        item = str(document.get("item", ""))
        seq = int(item.split("#", 1)[1]) if item.startswith("seq#") and item[4:].isdigit() else None
        when = f" at {document['seen_at']}" if document.get("seen_at") else ""
        what = {"MODIFY": "changed", "REMOVE": "removed"}.get(str(document.get("event")), str(document.get("event")))
        subject = "" if seq is not None else "the chain's head "
        yield Problem(seq, f"{subject}{what} in the table{when} (seen by the anchor)")
