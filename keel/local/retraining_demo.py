"""The demo's retraining scenario: reviewed tickets, then drift, then a candidate in shadow.

Tickets of a new product line (events/advisor_retraining/reviewed_tickets.jsonl: words the shipped model
never saw, each with the category a reviewer gives it) are created; ticket_triage asks a person about
each, and the person answers with that category (`keel ops approve --set category=...`). Then the sample
"Advisor Drift Detected" event starts advisor_retraining. The scenario passes when the candidate is
stored with its evaluation, put in shadow, and the next ticket's triage decision names it as its shadow
model (after triage's pointer cache has aged out, on the local cloud's clock).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.demo import Expectation, Outcome, Scenario, ScenarioResult, scripted_result
from keel.local.eventbridge import EventFile, bus_for, load_event_file
from keel.local.faults import FaultPlan
from keel.local.report import execution_report
from keel.local.runner import EventOutcome, LocalRun, RunOptions
from keel.local.template import EnvironmentTemplate
from keel.ops import approvals
from keel.ops.session import OpsSession

AUTOMATION = "advisor_retraining"
# How long triage_ticket trusts a pointer it read (functions/triage_ticket/advisors.py POINTER_TTL).
POINTER_TTL_SECONDS = 60


def reviewed_tickets(root: Path) -> list[dict[str, str]]:
    path = root / "events" / AUTOMATION / "reviewed_tickets.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ticket_event(root: Path, number: int, ticket: dict[str, str]) -> dict[str, Any]:
    """The sample uncertain ticket of ticket_triage, carrying this ticket's id, subject and body."""
    event: dict[str, Any] = json.loads((root / "events" / "ticket_triage" / "02-uncertain-vague.json").read_text())
    event["id"] = f"5d2b7e10-8f3a-4c1e-9b6d-{number:012d}"
    event["detail"].update(ticket_id=ticket["ticket_id"], subject=ticket["subject"], body=ticket["body"])
    return event


def _answer_all(cloud: LocalCloud, ops: OpsSession, category_of: dict[str, str]) -> None:
    """Each waiting request answered as the reviewer would: approved with the ticket's category."""
    cloud.drive(expire_waits=False)
    for request in approvals.pending(ops):
        stored, _token = ops.approvals.get(request["approval_id"])
        category = category_of[str(stored.resource)]
        approvals.answer(ops, request["approval_id"], approved=True, reason="new product line", values={"category": category})
    cloud.drive()


def run(template: EnvironmentTemplate, root: Path, emit: Callable[[str], None]) -> ScenarioResult:
    tickets = reviewed_tickets(root)
    drift = load_event_file(root / "events" / AUTOMATION / "01-drift-detected.json")
    facts: dict[str, Any] = {}
    with LocalCloud(template) as cloud:
        ops = OpsSession(environment=template.environment, region=template.region)
        category_of = {ticket["ticket_id"]: ticket["category"] for ticket in tickets}
        for number, ticket in enumerate(tickets):
            cloud.deliver(ticket_event(root, number, ticket), cloud.custom_bus())
        _answer_all(cloud, ops, category_of)
        bus = bus_for(drift.event, cloud.custom_bus())
        deliveries = cloud.deliver(drift.event, bus)
        cloud.drive()
        retrained = [execution_report(cloud, d.execution_arn).output for d in deliveries if d.execution_arn]
        facts["retrained"] = retrained[0] if retrained else {}
        cloud.clock.advance(POINTER_TTL_SECONDS)
        after = {"ticket_id": "TCK-999999", "subject": "hoverpod wobbles", "body": "gyrolock thrusters", "category": "technical"}
        next_event = ticket_event(root, len(tickets), after)
        cloud.deliver(next_event, cloud.custom_bus())
        _answer_all(cloud, ops, {after["ticket_id"]: after["category"]})
        triaged = [record.decision for record in ops.decisions.for_event(next_event["id"]) if record.decision.step == "Triage"]
        facts["shadow_model"] = triaged[0].versions.get("shadow_model") if triaged else None
        local_run = LocalRun.of(cloud, [EventOutcome(drift, bus, deliveries, 1)])
    return scripted_result(_scenario(drift, len(tickets), facts), local_run, _figures(facts), emit)


def _scenario(drift: EventFile, reviewed: int, facts: dict[str, Any]) -> Scenario:
    def met(outcome: Outcome) -> bool:
        retrained = facts["retrained"]
        return (
            set(outcome.statuses) == {"SUCCEEDED"}
            and retrained.get("result") == "in_shadow"
            and facts["shadow_model"] == retrained.get("candidate")
        )

    expected = Expectation(f"after {reviewed} reviewed tickets: a candidate stored, in shadow, advising the next ticket", met)
    return Scenario(AUTOMATION, f"{reviewed} reviewed tickets, then drift", [drift], RunOptions(FaultPlan()), expected)


def _figures(facts: dict[str, Any]) -> list[str]:
    retrained = facts["retrained"]
    if "candidate" not in retrained:
        return [f"   retraining: {retrained.get('result')} ({retrained.get('reason', '')})"]
    figures = retrained["evaluation"]
    candidate, live = figures["candidate"], figures["live"]
    ece = "expected_calibration_error"
    return [
        f"   retraining: {retrained['result']}: {retrained['candidate']} trained on {retrained['labels']['labels_used']} labels",
        f"   held out ({candidate['test_size']} tickets): accuracy {candidate['accuracy']:.2f} vs live {live['accuracy']:.2f}, "
        f"Brier {candidate['brier_score']:.3f} vs {live['brier_score']:.3f}, ECE {candidate[ece]:.3f} vs {live[ece]:.3f}",
        f"   stored at {retrained['stored_at']}",
        f"   the next ticket's shadow model: {facts['shadow_model']}",
    ]
