"""advisor_drift_watch end to end: tickets from the generator through ticket_triage (reviewers answering
with the generator's labels), the watch's hourly schedule on virtual time, and the drift on the bus.

The tickets are synthetic (keel/triage/synthetic_tickets.py): what is shown is that a shifted mix is
noticed and reported, not how the shipped model fares on real tickets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from keel.local.cloud import LocalCloud
from keel.local.drift_demo import keep_drift_events, received_drift_events, triage_and_review
from keel.local.live import LiveClock
from keel.local.template import EnvironmentTemplate
from keel.ops.session import OpsSession
from keel.triage.synthetic_tickets import NEW_PRODUCT_LAUNCH, generate

HOUR = 3600
WATCH = "advisor_drift_watch"


@pytest.fixture
def cloud(dev_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        yield running


def output(cloud: LocalCloud, arn: str) -> dict[str, Any]:
    description, _history = cloud.execution_record(arn)
    assert description["status"] == "SUCCEEDED", description
    result: dict[str, Any] = json.loads(description["output"])
    return result


def watch_runs(started: list[str]) -> list[str]:
    return [arn for arn in started if f":execution:keel-dev-{WATCH}:" in arn]


def test_a_shifted_ticket_mix_is_reported_as_drift_and_a_steady_one_is_not(cloud: LocalCloud) -> None:
    # Given a rule that keeps every drift event, the watch's hourly schedule (alone), and a reviewer
    ops = OpsSession(environment="dev", region=cloud.template.region)
    queue = keep_drift_events(cloud)
    schedule = LiveClock.of_automation(cloud, WATCH)
    assert len(schedule.rules) == 1, [rule.name for rule in LiveClock(cloud).rules]

    # When ticket_triage handles tickets from the unshifted generator and the watch runs
    triage_and_review(cloud, ops, generate(seed=5, per_category=3), first=1)
    [steady] = watch_runs(schedule.fire_after(HOUR))

    # Then it read them and found no drift: nothing on the bus, nothing recorded
    steady_output = output(cloud, steady)
    assert (steady_output["drift_found"], steady_output["records_read"] >= 15) == (False, True)
    assert received_drift_events(cloud, queue) == []
    assert [r.decision.action for r in ops.decisions.chain(WATCH)] == []

    # When tickets from the shifted generator (a product launch) follow, and the watch runs again
    triage_and_review(cloud, ops, generate(seed=5, per_category=3, shift=NEW_PRODUCT_LAUNCH), first=100)
    [shifted] = watch_runs(schedule.fire_after(HOUR))

    # Then the advisor's confidence is found to have drifted, the decision says so, and the event is on the bus
    assert output(cloud, shifted)["drift_found"] is True
    [event] = received_drift_events(cloud, queue)
    assert (event["source"], event["detail-type"]) == ("keel.advisors", "Advisor Drift Detected")
    detail = event["detail"]
    assert (detail["automation"], detail["model_version"], detail["signal"], detail["detector"]) == (
        "ticket_triage",
        "ticket-nb-1.0.0",
        "confidence",
        "PageHinkley",
    )
    assert detail["mean_before"] > detail["mean_after"]
    [record] = [r.decision for r in ops.decisions.chain(WATCH) if r.decision.action == "report_advisor_drift"]
    assert (record.outcome, record.details["drift_id"], record.details["observations"]) == (
        "taken",
        detail["drift_id"],
        detail["observations"],
    )
    # And the drift started the retraining in the same run, which recorded what it found: the few tickets
    # reviewed so far are too few to train on (a candidate from enough of them:
    # tests/local/test_advisor_retraining_end_to_end.py)
    cloud.drive()
    [retrained] = [r.decision for r in ops.decisions.chain("advisor_retraining")]
    assert (retrained.action, retrained.outcome, retrained.rule) == ("train_candidate", "skipped", "too-few-labels")
    assert retrained.details["drift"]["drift_id"] == detail["drift_id"]
    assert 0 < retrained.details["labels"]["labels_used"] < 20
