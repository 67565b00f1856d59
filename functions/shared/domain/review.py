"""A periodic review of automations (a team's, or one): their KPIs and trend, incidents and pages, overrides
and who made them, guardrail refusals, rules and runbooks that never fired, drift signals. Pure: the
monthly review function and `keel ops review` hand it what they read (functions/shared/adapters/kpi_sources.py,
functions/shared/adapters/alarm_history.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.shared.domain.kpis import AutomationKpis, Period, team_total

# The alarms whose state tells an advisor drifts (infra: ticket triage's drift alarms end so).
DRIFT_MARKERS = ("agreement", "drift", "confidence", "human-share", "to-humans")


@dataclass(frozen=True)
class AlarmChange:
    """One alarm state change (DescribeAlarmHistory, StateUpdate)."""

    alarm: str
    automation: str
    at: datetime
    old_state: str
    new_state: str
    reason: str


@dataclass(frozen=True)
class Review:
    subject: str
    period: Period
    kpis: Sequence[AutomationKpis]
    alarm_changes: Sequence[AlarmChange]
    # Rule or runbook ids each automation's catalogs hold (None: its catalogs are not known here).
    known_rules: Mapping[str, Sequence[str] | None]

    def as_json(self) -> dict[str, Any]:
        pages = [change for change in self.alarm_changes if change.new_state == "ALARM"]
        return {
            "subject": self.subject,
            "start": self.period.start.isoformat(timespec="seconds"),
            "end": self.period.end.isoformat(timespec="seconds"),
            "total": team_total(self.kpis),
            "automations": [item.as_json() for item in self.kpis],
            "incidents": [_change_json(change) for change in pages],
            "pages": len(pages),
            "overrides": [
                {"automation": item.automation, **override} for item in self.kpis for override in item.as_json()["overrides"]
            ],
            "refusals": {item.automation: dict(item.decisions.refusals) for item in self.kpis if item.decisions.refusals},
            "rules_never_fired": {kpi.automation: never_fired(kpi, self.known_rules.get(kpi.automation)) for kpi in self.kpis},
            "drift": [_change_json(change) for change in self.alarm_changes if is_drift_alarm(change.alarm)],
        }


def never_fired(kpis: AutomationKpis, known: Sequence[str] | None) -> list[str] | None:
    """The catalog's rules no decision of the period names. A decision's `rule` is the rule's name
    (`legal-keyword`) or a runbook with its catalog version (`runbook ecs-5xx-restart (catalog 2026.11.2)`)."""
    if known is None:
        return None
    fired = kpis.decisions.rules_fired
    return [rule for rule in known if not any(name == rule or name.startswith(f"runbook {rule} ") for name in fired)]


def is_drift_alarm(alarm: str) -> bool:
    return any(marker in alarm for marker in DRIFT_MARKERS)


def _change_json(change: AlarmChange) -> dict[str, Any]:
    return {
        "alarm": change.alarm,
        "automation": change.automation,
        "at": change.at.isoformat(timespec="seconds"),
        "from": change.old_state,
        "to": change.new_state,
        "reason": change.reason,
    }


def described(review: dict[str, Any]) -> list[str]:
    """The review as text, for a person: what the message to the on-call route says."""
    total = review["total"]
    lines = [
        f"Keel review of {review['subject']}, {review['start']} to {review['end']}",
        f"{total['automations']} automations, {total['runs']} runs, success {_value(total['success_rate'])}%, "
        f"{total['actions_taken']} actions taken, {total['refused']} refused by guardrails, {review['pages']} pages, "
        f"estimated cost ${total['estimated_cost_usd']:.4f}",
        "",
    ]
    for item in review["automations"]:
        change = item["change_percent"]
        lines.append(
            f"- {item['automation']}: {item['runs']} runs ({_signed(change['runs'])} on the period before), success "
            f"{_value(item['success_rate'])}%, p90 {_value(item['p90_s'])} s ({_signed(change['p90_s'])}), "
            f"{item['actions_taken']} taken, {item['refused']} refused, {item['dead_lettered']} dead-lettered; trend of runs: "
            + " ".join(str(point["runs"]) for point in item["trend"])
        )
    lines += ["", f"Incidents and pages: {review['pages']}"]
    lines += [f"- {page['at']} {page['alarm']}: {page['from']} -> {page['to']}" for page in review["incidents"]]
    lines.append(f"Overrides: {len(review['overrides'])}")
    for override in review["overrides"]:
        who = f"{override['state']} by {override['changed_by']}: {override['reason']}"
        lines.append(f"- {override['changed_at']} {override['automation']} {override['scope']} {who}")
    lines.append("Guardrail refusals: " + (_pairs(review["refusals"]) or "none"))
    silent = {name: rules for name, rules in review["rules_never_fired"].items() if rules}
    lines.append("Rules and runbooks that never fired: " + (_pairs(silent) or "none"))
    lines.append(f"Drift signals: {len(review['drift'])}")
    lines += [f"- {signal['at']} {signal['alarm']}: {signal['from']} -> {signal['to']}" for signal in review["drift"]]
    return lines


def _pairs(values: Mapping[str, Any]) -> str:
    return "; ".join(f"{name}: {value}" for name, value in sorted(values.items()))


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+g}%"
