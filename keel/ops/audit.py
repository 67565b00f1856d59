"""`keel ops audit`: an automation's decisions over a time window, or those on one resource, for a
person without a console: JSON Lines or CSV, one row per decision with why, who approved and when,
which versions decided, and what verification against the anchor says about that record.

Rows come from the chain as the table holds it; a record deleted from the table but anchored is
exported from its anchored copy, and its row says so. Approvers and approval times are read from the
approvals table; once a request has been purged from it (90 days after it expired), from the answer
the decision record holds for it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from functions.shared.domain.approvals import ApprovalRequest
from functions.shared.runtime.errors import NotFoundError
from keel.ops import ledger

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")
COLUMNS = (
    "time",
    "automation",
    "automation_version",
    "environment",
    "execution",
    "event_id",
    "step",
    "resource",
    "action",
    "outcome",
    "dry_run",
    "reason",
    "rule",
    "versions",
    "code_version",
    "workflow_version",
    "advice",
    "model_version",
    "confidence",
    "approval_id",
    "approval",
    "approver",
    "approved_at",
    "seq",
    "hash",
    "prev_hash",
    "verification",
)
VERIFIED = "verified"
PENDING = "pending: not anchored yet (recorded in the last 15 minutes)"
FROM_ANCHOR = "exported from its anchored copy"
# A spreadsheet runs a cell that starts with one of these as a formula: such cells get a leading
# apostrophe in CSV, so they show as the text they are
# (https://owasp.org/www-community/attacks/CSV_Injection). JSON Lines keeps every value as recorded.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ApprovalLookup(Protocol):
    """What the export needs of the approvals table (functions/shared/domain/approvals.py, ApprovalStore)."""

    def get(self, approval: str) -> tuple[ApprovalRequest, str]: ...


@dataclass(frozen=True)
class AuditQuery:
    automation: str
    since: datetime  # inclusive
    until: datetime  # exclusive: consecutive windows never count a decision twice
    resource: str | None = None

    def covers(self, recorded_at: str) -> bool:
        return self.since <= datetime.fromisoformat(recorded_at) < self.until

    def touches(self, resource: str | None) -> bool:
        """No --resource: every decision. An ARN matches itself; anything else is a resource's id, which
        matches the ARN it ends (orders-api, or orders/orders-api, in ...:service/orders/orders-api)."""
        wanted = self.resource
        if wanted is None:
            return True
        if not resource:
            return False
        return resource == wanted or (not wanted.startswith("arn:") and resource.endswith((f"/{wanted}", f":{wanted}")))


@dataclass(frozen=True)
class Audit:
    query: AuditQuery
    rows: list[dict[str, Any]]
    report: ledger.ChainReport

    def summary(self) -> dict[str, Any]:
        return {
            "automation": self.query.automation,
            "since": _utc(self.query.since),
            "until": _utc(self.query.until),
            "resource": self.query.resource,
            "decisions": len(self.rows),
            "verification": self.report.as_json(),
        }

    def described(self) -> list[str]:
        on = f" on {self.query.resource}" if self.query.resource else ""
        window = f"from {_utc(self.query.since)} until {_utc(self.query.until)}"
        return [f"{self.query.automation}: {len(self.rows)} decisions{on} {window}", *ledger.described(self.report)]


def audit(evidence: ledger.ChainEvidence, approvals: ApprovalLookup, query: AuditQuery, *, now: datetime | None = None) -> Audit:
    """The rows of the query's decisions, in the chain's order, each with its record's verification."""
    report = ledger.check(evidence, now=now)
    bodies = dict(_bodies(evidence))
    answers = _answers(bodies.values())
    approval_of = _ApprovalReader(approvals, answers)
    rows = [
        _row(seq, body, evidence, report, approval_of)
        for seq, body in sorted(bodies.items())
        if query.covers(str(body["recorded_at"])) and query.touches(body.get("resource"))
    ]
    return Audit(query, rows, report)


def _bodies(evidence: ledger.ChainEvidence) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record's decision: the table's, or the anchored copy's where the table's is gone or unreadable."""
    for seq in sorted(set(evidence.items) | set(evidence.copies)):
        body = _body(evidence.items.get(seq)) or _body(evidence.copies.get(seq))
        if body is not None:
            yield seq, body


def _body(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    try:
        body = json.loads(item["body"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("recorded_at"), str):
        return None
    try:
        datetime.fromisoformat(body["recorded_at"])
    except ValueError:
        return None
    return body


def _answers(bodies: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The decision record's answer to each approval request (recorded by `keel ops approve|reject`)."""
    return {
        str(body["approval_id"]): body
        for body in bodies
        if body.get("approval_id")
        and body.get("outcome") in ("approved", "rejected")
        and str(body.get("step", "")).endswith(":answer")
    }


class _ApprovalReader:
    """An approval's status, approver and time: from the approvals table, else from the recorded answer."""

    def __init__(self, approvals: ApprovalLookup, answers: dict[str, dict[str, Any]]) -> None:
        self.approvals = approvals
        self.answers = answers
        self.read: dict[str, ApprovalRequest | None] = {}

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        approval = body.get("approval_id")
        if not approval:
            return {"approval_id": None, "approval": None, "approver": body.get("approved_by"), "approved_at": None}
        request = self._request(str(approval))
        if request is not None:
            decided_at = _utc(request.decided_at) if request.decided_at else None
            return {
                "approval_id": approval,
                "approval": request.status,
                "approver": request.decided_by,
                "approved_at": decided_at,
            }
        answer = self.answers.get(str(approval))
        if answer is not None:
            return {
                "approval_id": approval,
                "approval": answer["outcome"],
                "approver": answer.get("approved_by"),
                "approved_at": answer["recorded_at"],
            }
        return {"approval_id": approval, "approval": None, "approver": body.get("approved_by"), "approved_at": None}

    def _request(self, approval: str) -> ApprovalRequest | None:
        if approval not in self.read:
            try:
                self.read[approval] = self.approvals.get(approval)[0]
            except NotFoundError:  # purged after its retention: the recorded answer tells instead
                self.read[approval] = None
        return self.read[approval]


def _row(
    seq: int, body: dict[str, Any], evidence: ledger.ChainEvidence, report: ledger.ChainReport, approval_of: _ApprovalReader
) -> dict[str, Any]:
    stored = evidence.items.get(seq) or evidence.copies[seq]
    advice = body.get("advice") or {}
    return {
        "time": body["recorded_at"],
        "automation": body.get("automation"),
        "automation_version": body.get("automation_version"),
        "environment": body.get("environment"),
        "execution": body.get("execution_arn"),
        "event_id": body.get("event_id"),
        "step": body.get("step"),
        "resource": body.get("resource"),
        "action": body.get("action"),
        "outcome": body.get("outcome"),
        "dry_run": bool(body.get("dry_run")),
        "reason": body.get("reason"),
        "rule": body.get("rule"),
        "versions": dict(body.get("versions") or {}),
        "code_version": body.get("code_version"),
        "workflow_version": body.get("definition_hash"),
        "advice": advice.get("label"),
        "model_version": advice.get("model_version"),
        "confidence": advice.get("confidence"),
        **approval_of(body),
        "seq": seq,
        "hash": stored.get("hash"),
        "prev_hash": stored.get("prev_hash"),
        "verification": _verification(seq, evidence, report),
    }


def _verification(seq: int, evidence: ledger.ChainEvidence, report: ledger.ChainReport) -> str:
    problems = [problem.what for problem in report.problems_of(seq)]
    if seq not in evidence.items:
        problems.append(FROM_ANCHOR)
    if problems:
        return "; ".join(problems)
    return PENDING if seq in report.pending else VERIFIED


def jsonl(result: Audit) -> str:
    """One JSON object per decision, then one line {"summary": ...} with the window and the verification."""
    lines = [json.dumps(row, ensure_ascii=False) for row in result.rows]
    lines.append(json.dumps({"summary": result.summary()}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def csv_text(result: Audit) -> str:
    """A header, then one line per decision (RFC 4180: fields with commas, quotes or line breaks quoted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in result.rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        value = "; ".join(f"{name}={version}" for name, version in sorted(value.items()))
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
