"""`keel ops audit`'s export: rows from the decision record (over an in-memory DynamoDB), approvals
from the approvals table or the recorded answer, each row's verification against an in-memory anchor."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain import anchor
from functions.shared.domain.approvals import ApprovalRequest, ApprovalStore
from functions.shared.domain.decisions import Advice, Decision, DecisionLog, digest
from keel.cli import main as keel_main
from keel.ops import audit, cli, ledger
from keel.ops.audit import AuditQuery
from keel.ops.session import OpsInputError
from tests.support.fake_dynamodb import FakeDynamoDB

AUTOMATION = "alarm_remediation"
TABLE = "keel-dev-decisions"
SERVICE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
OTHER_SERVICE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api-canary"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
APPROVER = "arn:aws:sts::111111111111:assumed-role/oncall/dana"
RUN = f"arn:aws:states:eu-west-1:111111111111:execution:keel-dev-{AUTOMATION}:run"


@dataclass
class MemoryAnchor:
    """The anchor bucket's versions in memory: each put adds a version, none is ever removed."""

    objects: dict[str, list[bytes]] = field(default_factory=dict)

    def put(self, key: str, body: bytes) -> None:
        self.objects.setdefault(key, []).append(body)

    def versions(self, prefix: str) -> dict[str, list[str]]:
        return {key: [str(n) for n in range(len(bodies))] for key, bodies in self.objects.items() if key.startswith(prefix)}

    def read_version(self, key: str, version: str) -> bytes:
        return self.objects[key][int(version)]


@dataclass
class Record:
    """A decision record with its anchor and approvals, and the clock its records are stamped with."""

    dynamodb: FakeDynamoDB = field(default_factory=FakeDynamoDB)
    anchored: MemoryAnchor = field(default_factory=MemoryAnchor)
    minutes: Iterator[int] = field(default_factory=lambda: iter(range(10_000)))

    def __post_init__(self) -> None:
        self.log = DecisionLog(Table(TABLE, self.dynamodb), clock=self._stamp)
        self.approvals = ApprovalStore(Table("keel-dev-approvals", self.dynamodb))

    def _stamp(self) -> str:
        return (START + timedelta(minutes=next(self.minutes))).isoformat(timespec="milliseconds")

    def anchor_all(self) -> None:
        """What the table's stream and anchor_decisions do for every new record."""
        for item in self.log.chain_items(AUTOMATION):
            key = anchor.record_key(AUTOMATION, int(item["seq"]))
            if key not in self.anchored.objects:
                self.anchored.put(key, anchor.encoded(item))

    def stored(self, seq: int) -> dict[str, Any]:
        """The record's item as the table holds it (wire format)."""
        return self.dynamodb.tables[TABLE][self._key(seq)]

    def delete(self, seq: int) -> None:
        del self.dynamodb.tables[TABLE][self._key(seq)]

    def _key(self, seq: int) -> tuple[str, ...]:
        return next(key for key, item in self.dynamodb.tables[TABLE].items() if item["sk"] == {"S": f"seq#{seq:012d}"})

    def export(self, since: datetime = START, until: datetime | None = None, resource: str | None = None) -> audit.Audit:
        query = AuditQuery(AUTOMATION, since, until or START + timedelta(days=1), resource)
        evidence = ledger.read_chain(self.log, self.anchored, AUTOMATION)
        return audit.audit(evidence, self.approvals, query, now=START + timedelta(days=1))


def decision(step: str, **fields: Any) -> Decision:
    values: dict[str, Any] = {
        "automation": AUTOMATION,
        "automation_version": "1.4.0",
        "environment": "dev",
        "event_id": "evt-1",
        "execution_arn": RUN,
        "step": step,
        "action": "ecs_force_new_deployment",
        "outcome": "taken",
        "reason": "runbook ecs-5xx-restart matched",
        "resource": SERVICE,
        "input_digest": digest({"step": step}),
    }
    return Decision(**(values | fields))


def approval(approval_id: str, decided_at: datetime) -> ApprovalRequest:
    return ApprovalRequest(
        approval_id=approval_id,
        automation=AUTOMATION,
        automation_version="1.4.0",
        environment="dev",
        event_id="evt-1",
        execution_arn=RUN,
        step="AskApproval",
        action="ecs_force_new_deployment",
        resource=SERVICE,
        risk="medium",
        why="risk medium needs approval",
        approvers=["platform-oncall"],
        escalation="platform-oncall",
        requested_at=START,
        expires_at=START + timedelta(hours=1),
        status="approved",
        decided_by=APPROVER,
        decided_at=decided_at,
        reason="reviewed the error rate",
    )


@pytest.fixture
def remediation() -> Record:
    """A restart planned, approved by a person, taken and verified; every record anchored."""
    world = Record()
    world.log.record(
        decision(
            "Plan", outcome="planned", rule="runbook ecs-5xx-restart (catalog 2026.11.2)", versions={"runbooks": "2026.11.2"}
        )
    )
    world.log.record(
        decision("AskApproval:answer", outcome="approved", reason="reviewed", approved_by=APPROVER, approval_id="ap-1")
    )
    world.log.record(
        decision(
            "Act",
            rule="runbook ecs-5xx-restart (catalog 2026.11.2)",
            versions={"runbooks": "2026.11.2"},
            code_version="sha256:code",
            definition_hash="sha256:workflow",
            advice=Advice(label="restart", confidence=0.87, model_version="advisor-3"),
            approved_by=APPROVER,
            approval_id="ap-1",
        )
    )
    world.log.record(decision("Verify", action="verify:alarm_ok", outcome="resolved", reason="alarm orders-api-5xx is OK"))
    world.approvals.save_request(approval("ap-1", START + timedelta(minutes=1, seconds=30)), "token")
    world.anchor_all()
    return world


def test_each_decision_is_a_row_with_why_who_approved_which_versions_and_its_verification(remediation: Record) -> None:
    # Given a remediation on the record, every record anchored
    # When it is exported
    result = remediation.export()
    # Then each decision is a row in the chain's order
    assert [(row["seq"], row["step"], row["outcome"]) for row in result.rows] == [
        (1, "Plan", "planned"),
        (2, "AskApproval:answer", "approved"),
        (3, "Act", "taken"),
        (4, "Verify", "resolved"),
    ]
    act = result.rows[2]
    # And the action's row says why, who approved and when (from the approvals table), which versions decided
    assert act["time"] == "2026-11-22T09:02:00.000+00:00"
    assert (act["resource"], act["action"], act["reason"]) == (
        SERVICE,
        "ecs_force_new_deployment",
        "runbook ecs-5xx-restart matched",
    )
    assert (act["approval_id"], act["approval"], act["approver"], act["approved_at"]) == (
        "ap-1",
        "approved",
        APPROVER,
        "2026-11-22T09:01:30+00:00",
    )
    assert (act["rule"], act["versions"], act["code_version"], act["workflow_version"]) == (
        "runbook ecs-5xx-restart (catalog 2026.11.2)",
        {"runbooks": "2026.11.2"},
        "sha256:code",
        "sha256:workflow",
    )
    assert (act["advice"], act["model_version"], act["confidence"]) == ("restart", "advisor-3", 0.87)
    stored = remediation.stored(3)
    assert (act["hash"], act["prev_hash"]) == (stored["hash"]["S"], stored["prev_hash"]["S"])
    # And every record verifies against the anchor
    assert {row["verification"] for row in result.rows} == {"verified"}
    assert result.report.ok
    # And the JSON Lines export is those rows, then the summary
    lines = [json.loads(line) for line in audit.jsonl(result).splitlines()]
    assert lines[:-1] == result.rows
    assert lines[-1]["summary"]["decisions"] == 4
    assert lines[-1]["summary"]["verification"]["ok"] is True


def test_a_purged_approval_is_told_from_the_recorded_answer() -> None:
    # Given an action approved long ago: its request has left the approvals table, its answer is on the record
    world = Record()
    world.log.record(decision("AskApproval:answer", outcome="approved", reason="ok", approved_by=APPROVER, approval_id="ap-9"))
    world.log.record(decision("Act", approved_by=APPROVER, approval_id="ap-9"))
    world.anchor_all()
    # When it is exported
    act = world.export().rows[1]
    # Then the approver and the time come from the recorded answer
    assert (act["approval"], act["approver"], act["approved_at"]) == ("approved", APPROVER, "2026-11-22T09:00:00.000+00:00")


def test_csv_quotes_reasons_with_commas_quotes_and_line_breaks_and_defuses_formulas() -> None:
    # Given reasons a naive CSV writer would split, and one a spreadsheet would run as a formula
    world = Record()
    awkward = 'refused: cooldown, 10 min; "orders-api"\nrestarted at 09:00'
    world.log.record(decision("Plan", outcome="refused", reason="refused: cooldown"))
    world.log.record(decision("Act", reason='=HYPERLINK("https://example.invalid")'))
    world.anchor_all()
    result = world.export()
    # (the writer keeps reasons to one line now; records from before it may hold a whole stack trace)
    result.rows[0]["reason"] = awkward
    # When exported as CSV
    text = audit.csv_text(result)
    # Then a CSV reader gets each reason back whole, in its own column
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == audit.COLUMNS
    reason = header.index("reason")
    assert [row[reason] for row in rows] == [awkward, '\'=HYPERLINK("https://example.invalid")']
    assert {len(row) for row in rows} == {len(audit.COLUMNS)}
    assert rows[0][header.index("versions")] == ""
    assert rows[0][header.index("dry_run")] == "false"


def test_the_window_includes_its_start_and_excludes_its_end(remediation: Record) -> None:
    # Given records at 09:00, 09:01, 09:02 and 09:03
    # When the window is 09:01 (inclusive) to 09:03 (exclusive)
    rows = remediation.export(since=START + timedelta(minutes=1), until=START + timedelta(minutes=3)).rows
    # Then the records at 09:01 and 09:02 are exported, not those at 09:00 and 09:03
    assert [row["time"] for row in rows] == ["2026-11-22T09:01:00.000+00:00", "2026-11-22T09:02:00.000+00:00"]


@pytest.mark.parametrize(
    ("resource", "steps"),
    [
        (SERVICE, ["Plan", "Act"]),
        ("orders-api", ["Plan", "Act"]),
        ("orders/orders-api", ["Plan", "Act"]),
        ("api", []),
        (OTHER_SERVICE, ["Restart canary"]),
    ],
)
def test_the_resource_filter_keeps_the_decisions_on_that_resource(resource: str, steps: list[str]) -> None:
    # Given decisions on a service, on another whose name starts the same, and on none
    world = Record()
    world.log.record(decision("Plan", outcome="planned"))
    world.log.record(decision("Restart canary", resource=OTHER_SERVICE))
    world.log.record(decision("Notify", action="notify", outcome="passed", resource=None))
    world.log.record(decision("Act"))
    world.anchor_all()
    # When exported for one resource (by ARN or by its id)
    rows = world.export(resource=resource).rows
    # Then only the decisions on it are rows
    assert [row["step"] for row in rows] == steps


def test_a_tampered_record_and_a_deleted_one_say_so_in_their_rows(remediation: Record) -> None:
    # Given who approved the action rewritten in the table, and the verification deleted
    act = remediation.stored(3)
    body = json.loads(act["body"]["S"]) | {"approved_by": "arn:aws:iam::111111111111:user/someone-else"}
    act["body"] = {"S": json.dumps(body, sort_keys=True, separators=(",", ":"))}
    remediation.delete(4)
    # When exported
    result = remediation.export()
    rows = {row["seq"]: row for row in result.rows}
    # Then the edited record's row is the table's, and says it differs from what was anchored
    assert rows[3]["verification"] == (
        "its hash does not match its body: modified after it was recorded; differs from its anchored copy: body"
    )
    # And the deleted record is still a row, from its anchored copy, saying it was deleted
    assert rows[4]["outcome"] == "resolved"
    assert rows[4]["verification"] == "anchored, but missing from the table (deleted); exported from its anchored copy"
    # And the untouched records verify, while the summary reports the chain broken
    assert (rows[1]["verification"], rows[2]["verification"]) == ("verified", "verified")
    assert result.summary()["verification"]["ok"] is False
    assert result.described()[1].startswith(f"{AUTOMATION}: chain BROKEN")


def test_a_record_not_anchored_yet_is_pending() -> None:
    # Given a record the stream has not yet delivered to the anchor
    world = Record()
    world.log.record(decision("Act"))
    # When exported a minute later
    query = AuditQuery(AUTOMATION, START, START + timedelta(hours=1))
    evidence = ledger.read_chain(world.log, world.anchored, AUTOMATION)
    result = audit.audit(evidence, world.approvals, query, now=START + timedelta(minutes=1))
    # Then its row says it awaits its anchored copy, and the chain is not called broken
    assert result.rows[0]["verification"] == audit.PENDING
    assert result.report.ok


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (["--since", "last tuesday", "--until", "0m"], "keel ops: --since 'last tuesday' is neither a duration"),
        (["--since", "2026-11-01", "--until", "2026-13-01"], "keel ops: --until '2026-13-01' is neither a duration"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "keel ops: --until 2026-11-01 must come after --since 2026-11-02"),
    ],
)
def test_a_bad_window_is_one_line_and_exit_2(window: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a window that is not one / When an auditor asks for it
    code = keel_main(["ops", "--env", "dev", "--region", "eu-west-1", "audit", AUTOMATION, *window])
    # Then one line names what is wrong, and the exit is 2, before anything is read
    assert code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(message)


@dataclass
class FakeSession:
    """What `keel ops audit` reads of an OpsSession: the environment's state machines and its stores."""

    record: Record
    state_machines: dict[str, str] = field(default_factory=dict)
    environment: str = "dev"

    @property
    def decisions(self) -> DecisionLog:
        return self.record.log

    @property
    def anchor(self) -> MemoryAnchor:
        return self.record.anchored

    @property
    def approvals(self) -> ApprovalStore:
        return self.record.approvals


def audit_args(automation: str = AUTOMATION, **options: Any) -> argparse.Namespace:
    values = {"since": "2026-11-22", "until": "2026-11-23", "resource": None, "format": "jsonl", "output": None, "json": False}
    return argparse.Namespace(automation=automation, **(values | options))


def test_on_stdout_jsonl_ends_with_its_summary_and_csv_says_it_on_stderr(
    remediation: Record, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an automation whose state machine was removed since: its decision record is still there
    session = FakeSession(remediation)
    # When its decisions are exported to stdout, as JSON Lines and as CSV
    exported, code = cli._audit(cast(Any, session), audit_args())
    csv_out, csv_code = cli._audit(cast(Any, session), audit_args(format="csv"))
    # Then JSON Lines ends with the summary, CSV is rows only and its summary goes to stderr
    assert (code, csv_code) == (0, 0)
    *rows, summary = [json.loads(line) for line in exported.splitlines()]
    assert (len(rows), summary["summary"]["automation"], summary["summary"]["since"]) == (
        4,
        AUTOMATION,
        "2026-11-22T00:00:00+00:00",
    )
    assert len(list(csv.reader(io.StringIO(csv_out)))) == 1 + 4
    assert capsys.readouterr().err.splitlines() == [
        f"{AUTOMATION}: 4 decisions from 2026-11-22T00:00:00+00:00 until 2026-11-23T00:00:00+00:00",
        f"{AUTOMATION}: chain intact (4 records, 4 anchored)",
    ]


def test_an_automation_with_neither_a_state_machine_nor_a_record_is_unknown() -> None:
    # Given an environment with one automation deployed and nothing recorded for another
    session = FakeSession(
        Record(), {"ticket_triage": "arn:aws:states:eu-west-1:111111111111:stateMachine:keel-dev-ticket_triage"}
    )
    # When its decisions are asked for / Then the name is refused as input
    with pytest.raises(
        OpsInputError, match=r"unknown automation 'alarm_remediation' in environment 'dev': .*\(known: ticket_triage\)"
    ):
        cli._audit(cast(Any, session), audit_args())
