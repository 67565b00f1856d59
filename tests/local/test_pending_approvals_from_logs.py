"""The platform dashboard's pending-approvals count, applied to real executions' events.

The dashboard counts pending approvals with a Logs Insights query over the state machines' execution
logs (infra/constructs/platform_dashboard.py). Logs Insights does not run here, but its inputs do:
each execution log record is one history event, `type` plus the event's details as `details`. This
test builds those records from executions in the local cloud and applies the query's rule, with the
query's own event lists, to show which events open and close a wait: waiting executions are counted,
answered and expired ones are not, and the count agrees with the approvals table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.shared.approvals import approval_id as approvals_id
from infra.constructs.platform_dashboard import EXECUTION_END_EVENTS, OPEN_WAIT_EVENTS
from keel.local.cloud import LocalCloud
from keel.local.template import StackTemplate
from keel.ops import approvals

EVENTS = Path(__file__).resolve().parents[2] / "events" / "ticket_triage"
TASK_TOKEN = re.compile(r"\.waitForTaskToken$")


@pytest.fixture
def cloud(dev_template: StackTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        yield running


def deliver(cloud: LocalCloud, name: str) -> str:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    [delivery] = cloud.deliver(event)
    assert delivery.execution_arn is not None
    return delivery.execution_arn


def log_records(cloud: LocalCloud, execution_arn: str) -> list[dict[str, Any]]:
    """The execution's log records as Step Functions writes them at level ALL: one per history event."""
    history = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    records = []
    for event in history:
        details = [value for key, value in event.items() if key.endswith("EventDetails")]
        records.append({"type": event["type"], "execution_arn": execution_arn, "details": details[0] if details else {}})
    return records


def pending_from_logs(records: list[dict[str, Any]]) -> set[str]:
    """The query's rule: per execution, the latest task-token or execution-end event; open ones are waiting."""
    latest: dict[str, str] = {}
    for record in records:
        if TASK_TOKEN.search(str(record["details"].get("resource", ""))) or record["type"] in EXECUTION_END_EVENTS:
            latest[record["execution_arn"]] = record["type"]
    return {execution for execution, last in latest.items() if last in OPEN_WAIT_EVENTS}


def approval_id(execution_arn: str) -> str:
    """request_approval's id for the one state of ticket_triage that asks (functions/shared/approvals.py)."""
    return approvals_id(execution_arn, "AskReviewer")


def test_waiting_executions_are_counted_until_answered_or_expired(cloud: LocalCloud) -> None:
    # Given two tickets waiting for a reviewer and one routed without asking
    waiting = {deliver(cloud, "02-uncertain-vague"), deliver(cloud, "03-legal-keyword")}
    routed = deliver(cloud, "01-confident-billing")
    cloud.drive(expire_waits=False)
    executions = [*sorted(waiting), routed]
    ops = cloud.operator()

    # When the pending approvals are counted from the execution logs
    pending = pending_from_logs([record for arn in executions for record in log_records(cloud, arn)])

    # Then exactly the two waiting executions count, as in the approvals table
    assert pending == waiting
    assert {request["approval_id"] for request in approvals.pending(ops)} == {approval_id(arn) for arn in waiting}

    # When a reviewer answers one
    answered = sorted(waiting)[0]
    approvals.answer(ops, approval_id(answered), approved=True, reason="reviewed")
    cloud.drive(expire_waits=False)

    # Then only the other is still waiting
    assert pending_from_logs([record for arn in executions for record in log_records(cloud, arn)]) == waiting - {answered}

    # When the other's approval timeout passes unanswered
    cloud.drive()

    # Then nothing is waiting any more
    assert pending_from_logs([record for arn in executions for record in log_records(cloud, arn)]) == set()


def test_a_rejected_review_no_longer_counts(cloud: LocalCloud) -> None:
    # Given a ticket waiting for a reviewer
    arn = deliver(cloud, "03-legal-keyword")
    cloud.drive(expire_waits=False)
    assert pending_from_logs(log_records(cloud, arn)) == {arn}

    # When the reviewer rejects it
    cloud.drive(decision="reject")

    # Then it is no longer pending, and the wait's last event is the rejection
    assert pending_from_logs(log_records(cloud, arn)) == set()
    token_events = [r["type"] for r in log_records(cloud, arn) if TASK_TOKEN.search(str(r["details"].get("resource", "")))]
    assert token_events[-1] == "TaskFailed"
    assert set(token_events[:-1]) <= set(OPEN_WAIT_EVENTS)
