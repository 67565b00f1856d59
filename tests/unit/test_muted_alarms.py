"""An alarm whose own actions are suppressed, disabled or muted is not acted on: match_runbook says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from functions.match_runbook.catalog import CATALOG, load_catalog
from functions.match_runbook.logic import Dependencies, Matched, MatchInput, SourceEvent, plan_for
from functions.match_runbook.muting import suppressed_in_event
from functions.shared.adapters.alarms import ActionsState
from tests.support.keel_context import keel_fields

ALARMS = Path(__file__).resolve().parents[2] / "events" / "alarm_remediation"
FINDINGS = ALARMS.parent / "security_finding_response"
TAGS = {"keel:remediation": "enabled", "keel:ecs-cluster": "checkout", "keel:ecs-service": "checkout-api"}


def sample(name: str, folder: Path = ALARMS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text())
    return data


class AlarmsSeen:
    """What the alarms look like now, by name; records which alarms were asked about."""

    def __init__(self, **states: ActionsState) -> None:
        self.states = states
        self.asked: list[str] = []

    def __call__(self, alarm: str) -> ActionsState:
        self.asked.append(alarm)
        return self.states.get(alarm, ActionsState(alarm))


def match(event: dict[str, Any], alarms: AlarmsSeen, tags: dict[str, str] | None = None) -> Matched:
    source = SourceEvent.model_validate(event)
    task = MatchInput(
        event_id=source.id, execution="arn:exec", keel=keel_fields(automation="alarm_remediation"), step="Match", event=source
    )

    def read_tags(_arn: str) -> dict[str, str] | None:
        assert tags is not None, "the tags were read, though the event alone decides"
        return tags

    return plan_for(task, Dependencies(catalog=load_catalog(CATALOG), read_tags=read_tags, alarm_actions=alarms))


def test_a_composite_alarm_suppressed_by_its_suppressor_is_muted_from_the_event_alone() -> None:
    # Given the composite alarm event whose suppressor holds its actions back (detail.state.actionsSuppressedBy)
    event = sample("orders-health-suppressed.json")
    alarms = AlarmsSeen()

    # When matched
    matched = match(event, alarms)

    # Then it is muted, with the suppressor, the kind of suppression and its reason; no call was made
    assert (matched.muted, matched.matched, matched.plan) == (True, False, None)
    assert matched.reason == (
        "composite alarm orders-service-health has its actions suppressed by suppressor alarm orders-maintenance-window "
        "(Alarm): Alarm action suppressed by suppressor alarm orders-maintenance-window in ALARM"
    )
    assert alarms.asked == []


def test_an_alarm_with_its_actions_off_now_is_muted_though_a_runbook_matches() -> None:
    # Given checkout-api's 5xx alarm, which the restart runbook matches, with its actions disabled
    alarms = AlarmsSeen(
        **{"checkout-api-5xx": ActionsState("checkout-api-5xx", off=["alarm checkout-api-5xx has its actions disabled"])}
    )

    # When matched
    matched = match(sample("checkout-actions-disabled.json"), alarms, TAGS)

    # Then the runbook is named in the plan, but the alarm is muted and says why
    assert (matched.matched, matched.muted) == (True, True)
    assert matched.plan is not None
    assert matched.plan.runbook == "ecs-5xx-restart"
    assert matched.reason == "alarm checkout-api-5xx has its actions disabled"


def test_what_could_not_be_checked_is_said_and_the_plan_goes_on() -> None:
    # Given an alarm whose mute rules this endpoint cannot list
    unchecked = ["alarm mute rules of checkout-api-5xx: this endpoint does not implement ListAlarmMuteRules"]
    alarms = AlarmsSeen(**{"checkout-api-5xx": ActionsState("checkout-api-5xx", unchecked=unchecked)})

    # When matched / Then it is not muted, and the output says what was not checked
    matched = match(sample("checkout-actions-disabled.json"), alarms, TAGS)
    assert (matched.matched, matched.muted, matched.unchecked) == (True, False, unchecked)
    assert matched.reason.startswith("runbook ecs-5xx-restart")


def test_signals_without_a_runbook_or_that_are_findings_ask_nothing_about_alarms() -> None:
    # Given an alarm no runbook covers, and a GuardDuty finding
    alarms = AlarmsSeen()

    # When matched
    unmatched = match(sample("billing-no-runbook.json"), alarms, {})
    finding = match(sample("backdoor-isolate.json", FINDINGS), alarms)

    # Then neither is muted, and no alarm's actions were looked up
    assert (unmatched.muted, finding.muted, alarms.asked) == (False, False, [])


def test_an_event_without_a_suppression_or_with_a_strange_state_is_not_suppressed() -> None:
    # Given events whose state has no suppression, is not an object, or names no suppressor
    plain = sample("api-5xx-restart.json")["detail"]
    assert suppressed_in_event(plain) is None
    assert suppressed_in_event({**plain, "state": "ALARM"}) is None
    # When only the event's state says it is suppressed / Then the reason says what it can
    reason = suppressed_in_event({"alarmName": "x", "state": {"actionsSuppressedBy": "WaitPeriod"}, "configuration": "odd"})
    assert reason == "composite alarm x has its actions suppressed (WaitPeriod): no reason given"
