"""Real task inputs of every module: what the workflows pass each task (statemachines/*.asl.json) for
the sample events (events/), with the payload header Keel adds. Plans and triage outcomes are made
by match_runbook and triage_ticket themselves from the sample events, so they stay what the
downstream modules really receive."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.fake_dependencies import match_runbook_dependencies, triage_ticket_dependencies
from tests.support.keel_context import keel_fields

EVENTS = Path(__file__).resolve().parents[2] / "events"
EXECUTION = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-{automation}:4e2f8a1c-run"
Payload = dict[str, Any]


def events(automation: str) -> list[Payload]:
    return [json.loads(path.read_text()) for path in sorted((EVENTS / automation).glob("*.json"))]


def header(automation: str, step: str, event_id: str = "7f3c2a8e-1d4b-4c6a-9e2f-5b8d0c1a3e71") -> Payload:
    """The fields Keel adds to every task's payload (infra/workflow_defaults.py)."""
    return {
        "event_id": event_id,
        "execution": EXECUTION.format(automation=automation),
        "keel": keel_fields(automation=automation, approval_from_risk="medium", approval_timeout_seconds=1800),
        "step": step,
    }


def _fresh(payloads: list[Payload]) -> list[Payload]:
    return copy.deepcopy(payloads)


@cache
def _match_inputs() -> list[Payload]:
    inputs = []
    for automation in ("alarm_remediation", "security_finding_response"):
        for event in events(automation):
            fields = {key: event[key] for key in ("id", "source", "account", "region", "resources", "detail")}
            inputs.append({**header(automation, "MatchRunbook", event["id"]), "event": fields})
    return inputs


def match_runbook() -> list[Payload]:
    return _fresh(_match_inputs())


@cache
def _plans() -> list[tuple[str, Payload]]:
    """(automation, plan) for every sample event a runbook matches."""
    from functions.match_runbook.logic import MatchInput, plan_for

    plans = []
    for payload in _match_inputs():
        matched = plan_for(MatchInput.model_validate(payload), match_runbook_dependencies())
        if matched.plan is not None:
            plans.append((payload["keel"]["automation"], matched.plan.model_dump(mode="json")))
    return plans


def check_guardrails() -> list[Payload]:
    return _fresh([{**header(automation, "CheckGuardrails"), "plan": plan} for automation, plan in _plans()])


def request_approval() -> list[Payload]:
    remediation = [
        {
            **header(automation, "AskApproval"),
            "task_token": "AQCEAAAAKgAAAAMAAAAAAAAAAQ==",
            "request": {
                "action": plan["action"],
                "resource": plan["resource"],
                "risk": plan["risk"],
                "why": f"{plan['trigger']}: runbook {plan['runbook']}: {plan['description']}",
                "details": {key: plan[key] for key in ("runbook", "target", "parameters", "verify")} | {"guardrails": "passed"},
            },
        }
        for automation, plan in _plans()
    ]
    review = [
        {
            **header("ticket_triage", "AskReviewer"),
            "task_token": "AQCEAAAAKgAAAAMAAAAAAAAAAQ==",
            "request": {
                "action": "route_ticket",
                "resource": outcome["ticket_id"],
                "risk": outcome["risk"],
                "why": outcome["reason"],
                "details": outcome["review"],
            },
        }
        for _ticket, outcome in _triage_outcomes()
        if "review" in outcome
    ]
    return _fresh(remediation + review)


def _acting(actions: set[str]) -> list[Payload]:
    approval = {"approved": False, "approval_id": None, "decided_by": None}
    return _fresh(
        [
            {**header(automation, "Act"), "plan": plan, "approval": approval}
            for automation, plan in _plans()
            if plan["action"] in actions
        ]
    )


def remediate_service() -> list[Payload]:
    return _acting({"ecs_force_new_deployment", "ecs_scale_out", "ec2_reboot", "sqs_redrive"})


def contain_threat() -> list[Payload]:
    return _acting({"ec2_isolate", "iam_deactivate_access_key"})


def verify_remediation() -> list[Payload]:
    action = {"changed": True, "summary": "done", "details": {"quarantine_group": "sg-0c0ffee0c0ffee001"}, "undo": None}
    return _fresh([{**header(automation, "Verify"), "plan": plan, "action": action} for automation, plan in _plans()])


def record_decision() -> list[Payload]:
    automation, plan = _plans()[0]
    finding = events("security_finding_response")[0]
    cause = json.dumps({"errorMessage": "no active ECS service orders-api in cluster orders", "errorType": "NotFoundError"})
    return _fresh(
        [
            {
                **header(automation, "RecordExpired"),
                "action": "approval",
                "outcome": "expired",
                "reason": f"nobody answered the approval request for runbook {plan['runbook']} on {plan['resource']} in time",
                "evidence": plan,
                "resource": plan["resource"],
                "rule": plan["runbook"],
            },
            {
                **header("security_finding_response", "RecordNoRunbook"),
                "action": "no_runbook",
                "outcome": "skipped",
                "reason": "no runbook in catalog 2026.11.2 matches finding Recon:EC2/Portscan",
                "evidence": finding["detail"],
                "trigger": "GuardDuty finding Recon:EC2/Portscan (severity 2)",
            },
            {
                **header(automation, "KeelRecordFailure"),
                "action": "workflow",
                "outcome": "failed",
                "failure": {"Error": "NotFoundError", "Cause": cause},
                "evidence": {"Error": "NotFoundError", "Cause": cause},
            },
        ]
    )


def triage_ticket() -> list[Payload]:
    """The sample tickets that keep the contract (the malformed one is a regression example of its own)."""
    return _fresh([{**header("ticket_triage", "Triage"), "ticket": event["detail"]} for event in events("ticket_triage")[:4]])


def seal_confidential() -> list[Payload]:
    """What KeelSealConfidential passes for the sample tickets: the fields to seal and the whole state."""
    return _fresh(
        [
            {
                **header("ticket_triage", "KeelSealConfidential", event["id"]),
                "fields": ["subject", "body"],
                "state": {**event, "keel": header("ticket_triage", "KeelSealConfidential")["keel"]},
            }
            for event in events("ticket_triage")[:4]
        ]
    )


def malformed_ticket() -> Payload:
    return {**header("ticket_triage", "Triage"), "ticket": events("ticket_triage")[4]["detail"]}


@cache
def _triage_outcomes() -> list[tuple[Payload, Payload]]:
    """(ticket, what triage_ticket returned) for every sample ticket that keeps the contract."""
    from functions.triage_ticket.logic import TriageInput, triage

    return [
        (payload["ticket"], triage(TriageInput.model_validate(payload), triage_ticket_dependencies()))
        for payload in triage_ticket()
    ]


def route_ticket() -> list[Payload]:
    payloads = []
    for ticket, outcome in _triage_outcomes():
        route = {**header("ticket_triage", "Route"), "ticket": ticket, "triage": outcome}
        if outcome["action"] == "route":
            payloads.append(route)
            continue
        answer = {"approved": True, "approval_id": "ap-0123456789abcdef", "decided_by": "alice", "reason": "checked"}
        category = outcome["category"] if outcome["category"] in outcome["routing"] else min(outcome["routing"])
        payloads.append(route | {"step": "RouteReviewed", "review": answer | {"values": {"category": category}}})
        payloads.append(route | {"step": "RouteUnreviewed", "review": {"timed_out": True}})
    return _fresh(payloads)


def emit_heartbeat() -> list[Payload]:
    return _fresh(
        [
            {**header("platform_heartbeat", "EmitHeartbeat", event["id"]), "time": event["time"]}
            for event in events("platform_heartbeat")
        ]
    )


def call_api() -> list[Payload]:
    """user_onboarding's calls for its sample signup: a create with its idempotency key, and a read."""
    payloads = []
    for event in events("user_onboarding"):
        detail = event["detail"]
        user = {key: detail[key] for key in ("user_id", "email", "name", "plan")}
        payloads += [
            {
                **header("user_onboarding", "CreateContact", event["id"]),
                "api": "crm",
                "method": "POST",
                "path": "/contacts",
                "body": user,
                "idempotency_key": f"user_onboarding-{detail['user_id']}-contact",
                "waited_seconds": 0,
            },
            {
                **header("user_onboarding", "CheckActivation", event["id"]),
                "api": "crm",
                "method": "GET",
                "path": f"/contacts/{detail['user_id']}",
                "waited_seconds": 2,
            },
        ]
    return _fresh(payloads)


def send_email() -> list[Payload]:
    return _fresh(
        [
            {
                **header("user_onboarding", step, event["id"]),
                "message": message,
                "sender": "welcome@example.com",
                "to": {key: event["detail"][key] for key in ("user_id", "email", "name")},
            }
            for event in events("user_onboarding")
            for step, message in (("SendWelcome", "welcome"), ("SendFollowUp", "follow_up"))
        ]
    )


def check_event() -> list[Payload]:
    """KeelCheckEvent's checks of the sample events user_onboarding and onboarding_audit consume, and
    KeelCheckEmitOnboarded's of the detail user_onboarding puts."""
    consumed = [
        {**header(automation, "KeelCheckEvent", event["id"]), "contract": contract, "major": 1, "event": event}
        for automation, contract in (("user_onboarding", "user_signed_up"), ("onboarding_audit", "user_onboarded"))
        for event in events(automation)
    ]
    produced = [
        {**header("user_onboarding", "KeelCheckEmitOnboarded", event["id"]), "contract": "user_onboarded", "major": 1}
        | {"detail": event["detail"]}
        for event in events("onboarding_audit")
    ]
    return _fresh(consumed + produced)
