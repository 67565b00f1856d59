"""The platform dashboard's pending-approvals count, end to end: the heartbeat counts the requests
still waiting and emits PendingApprovals, which the dashboard graphs for the whole environment
(infra/constructs/platform_dashboard.py). Requests answered, rejected or expired stop counting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.shared.domain.approvals import approval_id
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import EventFile
from keel.local.template import EnvironmentTemplate
from keel.ops import approvals
from tests.local.conftest import started

EVENTS = Path(__file__).resolve().parents[2] / "events" / "ticket_triage"


@pytest.fixture
def cloud(dev_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        yield running


def deliver(cloud: LocalCloud, name: str) -> str:
    return started(cloud, json.loads((EVENTS / f"{name}.json").read_text()), "ticket_triage")


def beat(cloud: LocalCloud, heartbeat: EventFile, number: int) -> dict[str, Any]:
    """One scheduled heartbeat (a new event id each time); its output and the PendingApprovals it emitted."""
    event = {**heartbeat.event, "id": f"{heartbeat.event['id'][:-2]}{number:02d}"}
    [delivery] = cloud.deliver(event)
    assert delivery.execution_arn is not None
    cloud.drive(expire_waits=False)
    described, _ = cloud.execution_record(delivery.execution_arn)
    output: dict[str, Any] = json.loads(described["output"])
    invocation = next(i for i in reversed(cloud.runtime.invocations) if i.function.endswith("-emit_heartbeat"))
    [emitted] = [json.loads(line)["PendingApprovals"] for line in invocation.log.splitlines() if '"PendingApprovals"' in line]
    return {"pending": output["pending_approvals"], "emitted": emitted}


def test_waiting_requests_are_counted_until_answered_rejected_or_expired(cloud: LocalCloud, heartbeat_event: EventFile) -> None:
    # Given three tickets waiting for a reviewer and one routed without asking
    waiting = [deliver(cloud, "02-uncertain-vague"), deliver(cloud, "03-legal-keyword"), deliver(cloud, "04-vip-outage")]
    deliver(cloud, "01-confident-billing")
    cloud.drive(expire_waits=False)
    ops = cloud.operator()
    asked = {request["approval_id"] for request in approvals.pending(ops)}

    # When the heartbeat beats / Then it counts what the approvals table holds as waiting
    assert beat(cloud, heartbeat_event, 1) == {"pending": len(asked), "emitted": [float(len(asked))]}
    assert len(asked) >= 2

    # When a reviewer approves one and rejects another
    answered = [approval_id(arn, "AskReviewer") for arn in waiting if approval_id(arn, "AskReviewer") in asked]
    approvals.answer(ops, answered[0], approved=True, reason="reviewed")
    approvals.answer(ops, answered[1], approved=False, reason="not ours")
    cloud.drive(expire_waits=False)

    # Then only the rest still count
    left = len(asked) - 2
    assert beat(cloud, heartbeat_event, 2) == {"pending": left, "emitted": [float(left)]}

    # When the others' approval timeout passes unanswered (they escalate)
    cloud.drive()

    # Then nothing is waiting any more
    assert beat(cloud, heartbeat_event, 3) == {"pending": 0, "emitted": [0.0]}
