"""functions/write_reviews: the teams found by their tags, each team's review of the month before kept as a
decision and its summary sent to the routes its automations page. The KPIs are the real domain's, from
empty metrics and a fixed record; the reads, the writer and the topics are fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from functions.shared.adapters.kpi_sources import Owned
from functions.shared.domain.decisions import Decision, DecisionRecord
from functions.shared.domain.kpis import AutomationKpis, Period, Points, Recorded, Sources, automation_kpis
from functions.shared.domain.review import AlarmChange
from functions.shared.runtime.errors import InvalidInputError
from functions.write_reviews import logic
from tests.support.keel_context import keel_fields

NOW = datetime(2026, 12, 1, 6, 0, 12, tzinfo=UTC)
ARN = "arn:aws:states:eu-west-1:111111111111:stateMachine:keel-dev-"
OWNED = [
    Owned("alarm_remediation", ARN + "alarm_remediation", "platform-team", "platform-oncall"),
    Owned("platform_heartbeat", ARN + "platform_heartbeat", "platform-team", "platform-oncall"),
    Owned("ticket_triage", ARN + "ticket_triage", "support-team", "support-oncall"),
]


@dataclass
class FakeReads:
    asked: list[Period] = field(default_factory=list)

    def owned(self, environment: str, owner: str | None) -> list[Owned]:
        assert environment == "dev"
        return [item for item in OWNED if owner in (None, item.owner)]

    def alarm_changes(self, owned: Sequence[Owned], period: Period) -> list[AlarmChange]:
        self.asked.append(period)
        at = datetime(2026, 11, 20, tzinfo=UTC)
        return [AlarmChange("keel-dev-alarm_remediation-failed", "alarm_remediation", at, "OK", "ALARM", "2 failed")]


@dataclass
class FakeRecorder:
    decisions: list[Decision] = field(default_factory=list)

    def record(self, decision: Decision) -> DecisionRecord:
        self.decisions.append(decision)
        return DecisionRecord(seq=len(self.decisions), recorded_at="t", prev_hash="p", hash="h", decision=decision)

    def record_all(self, decisions: Sequence[Decision]) -> list[DecisionRecord]:
        return [self.record(decision) for decision in decisions]


@dataclass
class FakeTopics:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def publish(self, route: str, subject: str, message: str) -> str:
        self.sent.append((route, subject, message))
        return f"msg-{len(self.sent)}"


def kpis(owned: Sequence[Owned], period: Period) -> list[AutomationKpis]:
    taken = Recorded(datetime(2026, 11, 3, tzinfo=UTC), "arn:e", "Act", "restart", "taken", False, None, None, None, "ok")
    return [
        automation_kpis(item.automation, index, Points({}), period, Sources([taken], {}, [], None))
        for index, item in enumerate(owned)
    ]


World = tuple[logic.Dependencies, FakeReads, FakeRecorder, FakeTopics]


@pytest.fixture
def world() -> World:
    reads, recorder, topics = FakeReads(), FakeRecorder(), FakeTopics()
    deps = logic.Dependencies(reads, kpis, recorder, topics, lambda: NOW, "dev", "sha256:code")
    return deps, reads, recorder, topics


def task(team: str | None, **more: str) -> logic.ReviewInput:
    fields = {"event_id": "evt-1", "execution": "arn:exec:1", "step": "Review", "keel": keel_fields(automation="monthly_review")}
    return logic.ReviewInput.model_validate(fields | ({"team": team} if team else {}) | more)


def test_the_teams_are_those_owning_automations_with_the_routes_they_page(world: World) -> None:
    deps, *_ = world
    # When the run asks for the teams
    listed = logic.run(task(None), deps)
    # Then each team owning an automation is listed once, with its route
    assert listed == {
        "teams": [
            {"team": "platform-team", "routes": ["platform-oncall"]},
            {"team": "support-team", "routes": ["support-oncall"]},
        ]
    }


def test_a_teams_review_of_last_month_is_kept_as_a_decision_and_sent_to_its_route(world: World) -> None:
    deps, reads, recorder, topics = world
    # When platform-team's review is written on the 1st of December
    result = logic.run(task("platform-team"), deps)
    # Then it covers November, the calendar month before
    assert reads.asked == [Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))]
    # And it is kept as one decision naming the team, holding the review of its two automations
    [decision] = recorder.decisions
    review = decision.details["review"]
    assert (decision.action, decision.resource, decision.step) == (
        "write_monthly_review",
        "team/platform-team",
        "Review platform-team",
    )
    assert [item["automation"] for item in review["automations"]] == ["alarm_remediation", "platform_heartbeat"]
    assert review["pages"] == 1
    assert review["total"]["actions_taken"] == 2
    assert review["rules_never_fired"] == {"alarm_remediation": None, "platform_heartbeat": None}
    # And its summary goes to platform-oncall alone
    [(route, subject, message)] = topics.sent
    assert (route, subject) == ("platform-oncall", "Keel monthly review of platform-team, November 2026")
    assert message.startswith("Keel review of platform-team, 2026-11-01T00:00:00+00:00 to 2026-12-01T00:00:00+00:00")
    assert result["sent_to"] == {"platform-oncall": "msg-1"}


def test_a_run_going_on_past_a_months_end_reviews_the_month_before_its_schedule(world: World) -> None:
    deps, reads, _recorder, _topics = world
    # Given a run scheduled on the 1st of November, whose last team is reviewed on the 1st of December
    # When that team's review is written
    logic.run(task("platform-team", scheduled_at="2026-11-01T06:00:00Z"), deps)
    # Then it covers October, the month before the schedule, as the run's other teams did
    assert reads.asked == [Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))]


@pytest.mark.parametrize("at", ["yesterday at six o'clock", "2026-11-01T06:00:00.000"])
def test_a_schedule_time_that_is_not_an_iso_time_with_a_zone_is_refused(world: World, at: str) -> None:
    deps, *_ = world
    with pytest.raises(InvalidInputError, match=f"scheduled_at: '{at}'"):
        logic.run(task("platform-team", scheduled_at=at), deps)


def test_a_team_owning_nothing_is_refused_by_name(world: World) -> None:
    deps, _reads, recorder, topics = world
    with pytest.raises(InvalidInputError, match="no automation owned by 'nobody' in environment 'dev'"):
        logic.run(task("nobody"), deps)
    assert recorder.decisions == []
    assert topics.sent == []


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (datetime(2027, 1, 1, 6, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2026, 3, 31, 23, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_the_month_before_crosses_a_year_and_ignores_the_day(now: datetime, start: datetime, end: datetime) -> None:
    assert logic.previous_month(now) == Period(start, end)
