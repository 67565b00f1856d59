"""The triage policy: business rules, the abstain band, per-category thresholds, priority, routing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.shared.contracts.ticket_created import TicketCreated
from functions.shared.domain.decisions import Advice
from functions.shared.runtime.contract import ValidationError
from functions.triage_ticket.policy import POLICY_FILE, Policy, load_policy

POLICY = load_policy()


def ticket(subject: str = "Invoice question", body: str = "Please explain the invoice.", tier: str = "standard") -> TicketCreated:
    return TicketCreated.model_validate(
        {
            "ticket_id": "TCK-1001",
            "subject": subject,
            "body": body,
            "customer": {"id": "cus_1", "tier": tier},
            "channel": "email",
            "created_at": "2026-11-22T09:00:00Z",
        }
    )


def advice(label: str, confidence: float) -> Advice:
    return Advice(label=label, confidence=confidence, model_version="test-model", rationale="test")


def policy_with(**changes: Any) -> Policy:
    return Policy.model_validate({**json.loads(POLICY_FILE.read_text()), **changes})


def test_a_confident_suggestion_is_routed_to_its_team_queue() -> None:
    # Given advice above the billing threshold / When the policy decides
    verdict = POLICY.decide(ticket(), advice("billing", POLICY.thresholds["billing"]))

    # Then the ticket is routed to billing's queue by the confidence rule
    assert (verdict.action, verdict.category, verdict.rule) == ("route", "billing", "confident:billing")
    assert POLICY.routing[verdict.category] == "billing"


@pytest.mark.parametrize("category", sorted(POLICY.thresholds))
def test_each_category_threshold_is_the_boundary_between_routing_and_review(category: str) -> None:
    # Given a category's threshold from the policy file
    threshold = POLICY.thresholds[category]

    # When the advisor is exactly at it, and just below it
    at = POLICY.decide(ticket(body="plain text"), advice(category, threshold))
    below = POLICY.decide(ticket(body="plain text"), advice(category, threshold - 0.001))

    # Then at the threshold it routes, below it a person reviews (unless the abstain band took it first)
    assert at.action == "route"
    assert below.action == "review"
    assert below.rule in (f"below-threshold:{category}", "abstain-band")


def test_the_abstain_band_sends_any_category_to_a_person() -> None:
    # Given a suggestion under abstain_below / When decided
    verdict = POLICY.decide(ticket(), advice("feedback", POLICY.abstain_below - 0.01))

    # Then a person decides, with the band named as the rule
    assert (verdict.action, verdict.rule, verdict.risk) == ("review", "abstain-band", "medium")
    assert "abstain band" in verdict.reason


def test_the_account_category_needs_more_certainty_than_feedback() -> None:
    # Given the same confidence for two categories with different bars
    confidence = (POLICY.thresholds["feedback"] + POLICY.thresholds["account"]) / 2

    # When decided / Then feedback is routed and an account change goes to a person
    assert POLICY.decide(ticket(), advice("feedback", confidence)).action == "route"
    assert POLICY.decide(ticket(), advice("account", confidence)).rule == "below-threshold:account"


@pytest.mark.parametrize(
    ("body", "rule", "keyword"),
    [
        ("Our lawyer will contact you about this charge.", "legal-keyword", "lawyer"),
        ("We will take LEGAL ACTION if this is not fixed.", "legal-keyword", "legal action"),
        ("I think my account was hacked yesterday.", "security-keyword", "hacked"),
        ("Is this a data leak? I see other customers' invoices.", "security-keyword", "data leak"),
    ],
)
def test_legal_and_security_keywords_go_to_a_person_regardless_of_confidence(body: str, rule: str, keyword: str) -> None:
    # Given a ticket with a keyword and a certain advisor / When decided
    verdict = POLICY.decide(ticket(body=body), advice("billing", 1.0))

    # Then the business rule overrides the advisor
    assert (verdict.action, verdict.rule, verdict.risk) == ("review", rule, "high")
    assert f"'{keyword}'" in verdict.reason


def test_keywords_match_whole_words_only() -> None:
    # Given words that contain a keyword ("issue" contains "sue", "courtesy" contains "court")
    verdict = POLICY.decide(ticket(body="One issue, asked with courtesy."), advice("billing", 0.99))

    # Then no business rule fires
    assert verdict.action == "route"


def test_an_unknown_category_goes_to_a_person() -> None:
    verdict = POLICY.decide(ticket(), advice("unknown", 0.99))

    assert (verdict.action, verdict.rule) == ("review", "unknown-category")


@pytest.mark.parametrize(
    ("body", "tier", "priority"),
    [
        ("A question about the invoice.", "standard", "normal"),
        ("A question about the invoice.", "vip", "high"),
        ("Production down, urgent!", "standard", "high"),
        ("Production down, urgent!", "vip", "urgent"),
    ],
)
def test_urgent_words_and_vip_customers_raise_priority(body: str, tier: str, priority: str) -> None:
    # Given a ticket's words and the customer's tier / When decided / Then the priority follows the policy
    assert POLICY.decide(ticket(body=body, tier=tier), advice("billing", 0.99)).priority == priority


def test_the_policy_file_is_consistent() -> None:
    # Given the shipped policy / Then every category has a threshold and a queue, and the advisors exist
    assert set(POLICY.thresholds) == set(POLICY.routing) == {"account", "billing", "feedback", "sales", "technical"}
    assert POLICY.fallback_queue in POLICY.queues
    assert POLICY.advisors.live.kind == "local"
    assert POLICY.advisors.shadow is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"thresholds": {"billing": 0.7}}, "same categories"),
        ({"abstain_below": 0.9}, "below abstain_below"),
        ({"version": "v1"}, "String should match pattern"),
        ({"agreement_alarm_below": 0}, "greater than 0"),
    ],
)
def test_an_inconsistent_policy_is_rejected(changes: dict[str, Any], message: str) -> None:
    # Given a policy file with a mistake / When loaded / Then it fails naming the problem
    with pytest.raises(ValidationError, match=message):
        policy_with(**changes)


def test_the_manifest_agreement_alarm_uses_the_policy_threshold(repo_root) -> None:
    # Given the manifest's drift alarm and the policy's floor
    import yaml

    manifest = yaml.safe_load((repo_root / "automations" / "ticket_triage.yaml").read_text())
    alarm = next(alarm for alarm in manifest["alarms"] if alarm["metric"] == "AdvisorHumanAgreement")

    # Then they agree, and the queues are the policy's routing targets plus its fallback
    assert (alarm["threshold"], alarm["comparison"]) == (POLICY.agreement_alarm_below, "less_than")
    assert sorted(manifest["queues"]["names"]) == POLICY.queues
