"""The periodic review: pages, drift signals, overrides and rules that never fired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.shared.domain.kpis import OverrideChange, Points, Recorded, Sources, automation_kpis, period_ending
from functions.shared.domain.review import AlarmChange, Review, described

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_the_review_tells_pages_drift_overrides_refusals_and_silent_rules() -> None:
    # Given a month in which one runbook fired, a guardrail refused, an operator disabled a runbook,
    # and a failure alarm and a drift alarm went off
    period = period_ending(NOW, timedelta(days=30))
    at = NOW - timedelta(days=3)
    records = [
        Recorded(at, "arn:x", "Act", "restart", "taken", False, "runbook ecs-5xx-restart (catalog 2026.11.2)", None, None, "ok"),
        Recorded(at, "arn:y", "Check:cooldown", "guardrail:cooldown", "refused", False, None, None, None, "too soon"),
    ]
    override = OverrideChange("runbook ec2-status-reboot", "disabled", "arn:aws:iam::1:user/alice", at, "maintenance")
    kpis = automation_kpis("alarm_remediation", 0, Points({}), period, Sources(records, {}, [override], None))
    changes = [
        AlarmChange("keel-dev-alarm_remediation-failed", "alarm_remediation", at, "OK", "ALARM", "1 failed"),
        AlarmChange("keel-dev-alarm_remediation-failed", "alarm_remediation", at, "ALARM", "OK", "back"),
        AlarmChange("keel-dev-ticket_triage-agreement-drift", "alarm_remediation", at, "OK", "ALARM", "low"),
    ]
    known = {"alarm_remediation": ["ecs-5xx-restart", "ec2-status-reboot"]}
    # When the review is made
    review = Review("platform-team", period, [kpis], changes, known).as_json()
    # Then it counts the pages (changes into ALARM), the drift signal, who overrode, what was refused and what never fired
    assert review["pages"] == 2
    assert [signal["alarm"] for signal in review["drift"]] == ["keel-dev-ticket_triage-agreement-drift"]
    assert review["overrides"][0]["changed_by"] == "arn:aws:iam::1:user/alice"
    assert review["refusals"] == {"alarm_remediation": {"cooldown": 1}}
    assert review["rules_never_fired"] == {"alarm_remediation": ["ec2-status-reboot"]}
    # And its text names them
    text = "\n".join(described(review))
    assert "Rules and runbooks that never fired: alarm_remediation: ['ec2-status-reboot']" in text
    assert "by arn:aws:iam::1:user/alice: maintenance" in text


def test_an_automation_without_a_rule_catalog_has_no_silent_rules_to_report() -> None:
    period = period_ending(NOW, timedelta(days=30))
    kpis = automation_kpis("platform_heartbeat", 0, Points({}), period, Sources([], {}, [], None))
    review = Review("platform_heartbeat", period, [kpis], [], {"platform_heartbeat": None}).as_json()
    assert review["rules_never_fired"] == {"platform_heartbeat": None}
