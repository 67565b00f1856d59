"""A confidential automation's customer text, end to end in the local cloud: after KeelSealConfidential
no state's input or output, no decision, no page and no `keel ops show` holds it; the modules still read it
by reference (triage decides as on the plain ticket, the team's queue gets the subject)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.triage_ticket.logic import TriageInput, triage
from keel.cli import main
from keel.local.cloud import LocalCloud
from keel.local.report import execution_report
from keel.local.template import EnvironmentTemplate
from keel.ops import executions
from keel.ops.session import OpsSession
from tests.local.conftest import started
from tests.support.fake_dependencies import triage_ticket_dependencies
from tests.support.task_payloads import header

EVENTS = Path(__file__).resolve().parents[2] / "events" / "ticket_triage"
MARKER = "QUOKKA-7731-CONFIDENTIAL"
SEAL, CLAIM = "KeelSealConfidential", "KeelClaimEvent"


@pytest.fixture
def cloud(dev_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        yield running


def marked(name: str, number: int) -> dict[str, Any]:
    """A sample ticket whose subject and body carry the marker, as a new event."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event["id"] = f"5eed0000-0000-4000-8000-00000000000{number}"
    event["detail"]["subject"] += f" {MARKER}"
    event["detail"]["body"] += f" {MARKER}"
    return event


def history(cloud: LocalCloud, arn: str) -> list[dict[str, Any]]:
    """The whole execution history through the API (GetExecutionHistory), as an operator would read it."""
    sfn = cloud.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def holding_marker(events: list[dict[str, Any]]) -> list[tuple[int, str, str | None]]:
    """(position, event type, state it belongs to) of every history event whose text holds the marker."""
    found, state = [], None
    for position, event in enumerate(events):
        entered = event.get("stateEnteredEventDetails")
        state = entered["name"] if entered else state
        if MARKER in json.dumps(event, default=str):
            found.append((position, event["type"], state))
    return found


def shown(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["ops", "--env", "dev", "--region", "eu-west-1", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_after_the_seal_nothing_in_history_or_ops_show_holds_the_text(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a confident ticket and an uncertain one (a reviewer is asked, nobody answers), both carrying the marker
    confident, uncertain = marked("01-confident-billing", 1), marked("02-uncertain-vague", 2)
    arns = [started(cloud, confident, "ticket_triage"), started(cloud, uncertain, "ticket_triage")]

    # When they run to their end
    cloud.drive()

    for arn in arns:
        # Then the marker is only where the event itself still is: the execution's input, the claim, the
        # seal's input and the parameters it invoked its module with; from the seal's exit on, nowhere
        events = history(cloud, arn)
        found = holding_marker(events)
        sealed_at = next(i for i, e in enumerate(events) if e.get("stateExitedEventDetails", {}).get("name") == SEAL)
        assert [position for position, _, _ in found if position >= sealed_at] == []
        assert {(kind, state) for _, kind, state in found} <= {
            ("ExecutionStarted", None),
            ("TaskStateEntered", CLAIM),
            ("TaskStateExited", CLAIM),
            ("TaskStateEntered", SEAL),
            ("TaskScheduled", SEAL),
        }
        assert execution_report(cloud, arn).status == "SUCCEEDED"
        # And `keel ops show`, as text and as JSON, shows the text's length and digest instead
        view = executions.show_execution(OpsSession(environment="dev", region="eu-west-1"), arn).view
        assert MARKER not in json.dumps(view)
        claim = next(row for row in view["states"] if row["state"] == CLAIM)
        assert claim["input"]["detail"]["body"].startswith("[confidential: ")
        assert MARKER not in shown(capsys, "show", arn) + shown(capsys, "--json", "show", arn)

    # And none of their decisions, approval requests or pages holds it (other automations taking tickets
    # keep to their own manifests)
    dynamodb = cloud.client("dynamodb")
    items = dynamodb.scan(TableName="keel-dev-decisions")["Items"] + dynamodb.scan(TableName="keel-dev-approvals")["Items"]
    theirs = [item for item in items if any(arn in json.dumps(item) for arn in arns)]
    pages = [page.message for page in cloud.pages() if page.route.endswith("support-oncall")]
    assert theirs
    assert pages
    assert MARKER not in json.dumps(theirs) + json.dumps(pages)
    # While the text itself is in the confidential store, and the team's queue message has the subject
    stored = dynamodb.scan(TableName="keel-dev-confidential")["Items"]
    assert MARKER in json.dumps(stored)
    sqs = cloud.client("sqs")
    url = sqs.get_queue_url(QueueName="keel-dev-ticket_triage-billing")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["subject"] == confident["detail"]["subject"]


def test_triage_decides_on_the_sealed_ticket_as_on_the_plain_one(cloud: LocalCloud) -> None:
    # Given a marked ticket, and what triage decides on its plain text (no workflow, no seal)
    event = marked("04-vip-outage", 4)
    plain = triage(
        TriageInput.model_validate({**header("ticket_triage", "Triage", event["id"]), "ticket": event["detail"]}),
        triage_ticket_dependencies(),
    )

    # When the workflow runs it, sealed
    arn = started(cloud, event, "ticket_triage")
    cloud.drive()

    # Then triage decided the same, on the text it read back by reference
    output = execution_report(cloud, arn).output
    assert (output["category"], output["priority"], output["decided_by"]) == (plain["category"], plain["priority"], "advisor")


def test_text_that_is_not_a_string_fails_the_seal_and_never_reaches_the_failure_path(cloud: LocalCloud) -> None:
    # Given a ticket whose body is an object holding the marker (text in a shape the seal cannot keep)
    event = marked("01-confident-billing", 5)
    event["detail"]["body"] = {"text": MARKER}

    # When it runs
    arn = started(cloud, event, "ticket_triage")
    cloud.drive()

    # Then the execution fails at the seal, naming the field, and the failure path never saw the detail
    execution = execution_report(cloud, arn)
    assert (execution.status, execution.error) == ("FAILED", "InvalidInputError")
    assert "state.detail.body: Input should be a valid string, not dict" in (execution.cause or "")
    assert [state.name for state in execution.states][:4] == [CLAIM, SEAL, "KeelSealFailed", "KeelRecordFailure"]
    events = history(cloud, arn)
    failed_at = next(i for i, e in enumerate(events) if e.get("stateEnteredEventDetails", {}).get("name") == "KeelSealFailed")
    assert [position for position, _, _ in holding_marker(events) if position > failed_at] == []
    assert MARKER not in json.dumps([page.message for page in cloud.pages() if page.route.endswith("support-oncall")])
