"""The demo's advisor drift scenario: a product launch shifts the ticket mix, and the watch says so.

ticket_triage handles tickets from the seeded generator (keel/triage/synthetic_tickets.py), first the
usual mix and then the new-product-launch shift; a reviewer answers every review with the ticket's
true category (the generator's label), as `keel ops approve ID --set category=...` does. An hour of
virtual time later advisor_drift_watch's schedule fires: the live advisor's confidence has fallen,
the watch records the drift and "Advisor Drift Detected" reaches the keel bus (a rule in the demo's
cloud keeps it in a queue, to show it). The tickets are synthetic: the figures show the mechanism,
not how the model would fare on a real helpdesk's tickets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.eventbridge import EventFile
from keel.local.live import LiveClock
from keel.local.runner import EventOutcome, LocalRun
from keel.local.template import EnvironmentTemplate
from keel.ops import approvals
from keel.ops.session import OpsSession
from keel.triage.synthetic_tickets import NEW_PRODUCT_LAUNCH, generate, ticket_created

WATCH = "advisor_drift_watch"
SEEN = "demo-advisor-drift-seen"
PER_CATEGORY = 3
SEED = 5
HOUR = 3600


@dataclass(frozen=True)
class DriftDemo:
    run: LocalRun
    # The "Advisor Drift Detected" events the keel bus carried.
    seen: list[dict[str, Any]]
    # What happened, for people: the tickets, the watch's decisions, the events.
    lines: list[str]


def run_drift_demo(template: EnvironmentTemplate) -> DriftDemo:
    lines: list[str] = []
    emit = lines.append
    with LocalCloud(template) as cloud:
        ops = OpsSession(environment=template.environment, region=template.region)
        queue = keep_drift_events(cloud)
        schedule = LiveClock.of_automation(cloud, WATCH, say=emit)
        usual = generate(seed=SEED, per_category=PER_CATEGORY)
        launched = generate(seed=SEED, per_category=PER_CATEGORY, shift=NEW_PRODUCT_LAUNCH)
        outcomes = triage_and_review(cloud, ops, usual, first=1) + triage_and_review(cloud, ops, launched, first=len(usual) + 1)
        emit(f"   {len(usual)} usual tickets, then {len(launched)} after the launch ({NEW_PRODUCT_LAUNCH.description})")
        schedule.fire_after(HOUR)
        seen = received_drift_events(cloud, queue)
        for record in ops.decisions.chain(WATCH):
            emit(f"   {WATCH} recorded: {record.decision.outcome} {record.decision.action}: {record.decision.reason}")
        for event in seen:
            emit(f"   on the keel bus: {event['detail-type']} {json.dumps(event['detail'], sort_keys=True)}")
        run = LocalRun.of(cloud, outcomes)
        return DriftDemo(run, seen, lines)


def keep_drift_events(cloud: LocalCloud) -> str:
    """An SQS queue behind a rule on the keel bus that takes every "Advisor Drift Detected" (its URL)."""
    sqs, events = cloud.client("sqs"), cloud.client("events")
    url: str = sqs.create_queue(QueueName=SEEN)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = cloud.custom_bus() or "default"
    pattern = {"source": ["keel.advisors"], "detail-type": ["Advisor Drift Detected"]}
    events.put_rule(Name=SEEN, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=SEEN, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def received_drift_events(cloud: LocalCloud, url: str) -> list[dict[str, Any]]:
    received = cloud.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in received.get("Messages", [])]


def triage_and_review(cloud: LocalCloud, ops: OpsSession, tickets: list[dict[str, str]], first: int) -> list[EventOutcome]:
    """Each ticket through ticket_triage; every review answered with the ticket's true category."""
    outcomes = []
    bus = cloud.custom_bus() or "default"
    for number, ticket in enumerate(tickets, start=first):
        event = ticket_created(ticket, number, "2026-12-01T09:00:00Z")
        deliveries = cloud.deliver(event, bus)
        outcomes.append(EventOutcome(EventFile(Path(f"{ticket['id']}.json"), event), bus, deliveries, 1))
        cloud.drive(expire_waits=False)
        for waiting in approvals.pending(ops):
            approvals.answer(ops, waiting["approval_id"], approved=True, reason="triaged", values={"category": ticket["label"]})
            cloud.drive()
    return outcomes
