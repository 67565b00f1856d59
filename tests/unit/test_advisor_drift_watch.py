"""functions/advisor_drift_watch: ticket_triage's decisions in, a drift reported once.

The decision records are written by the real DecisionLog into an in-memory DynamoDB, and read back by
the watch's own feed; its state goes to the same fake's limits table. Only the clock is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.advisor_drift_watch import logic
from functions.advisor_drift_watch.config import load_config
from functions.advisor_drift_watch.feed import DecisionFeed
from functions.advisor_drift_watch.signals import observations
from functions.advisor_drift_watch.state import StateStore
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.context import KeelContext
from functions.shared.domain.decisions import Advice, Decision, DecisionLog
from functions.shared.runtime.errors import ConflictError
from tests.support.fake_dependencies import FakeMetrics
from tests.support.fake_dynamodb import FakeDynamoDB
from tests.support.keel_context import keel_fields

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def triage(n: int, confidence: float, *, model: str = "ticket-nb-1.0.0", **fields: Any) -> Decision:
    """ticket_triage's Triage record for ticket n: the advice and the evidence it kept."""
    values: dict[str, Any] = {
        "automation": "ticket_triage",
        "automation_version": "1.1.0",
        "environment": "dev",
        "event_id": f"evt-{n}",
        "execution_arn": f"arn:exec:triage-{n}",
        "step": "Triage",
        "action": "route_ticket" if confidence >= 0.6 else "ask_reviewer",
        "outcome": "planned" if confidence >= 0.6 else "escalated",
        "reason": "advisor",
        "input_digest": "sha256:x",
        "advice": Advice(label="billing", confidence=confidence, model_version=model),
        "details": {"category": "billing", "priority": "normal", "evidence_kept_days": 30},
    }
    return Decision.model_validate(values | fields)


def reviewed(n: int, *, kept: bool, model: str = "ticket-nb-1.0.0") -> Decision:
    """route_ticket's record of a reviewer's answer: kept the advisor's category, or changed it."""
    return triage(n, 0.4, model=model).model_copy(
        update={
            "step": "RouteReviewed",
            "action": "route_ticket to billing",
            "outcome": "taken",
            "details": {"category": "billing" if kept else "account", "advisor_category": "billing", "decided_by": "reviewer"},
        }
    )


@dataclass
class World:
    dynamodb: FakeDynamoDB = field(default_factory=FakeDynamoDB)
    now: datetime = START
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    runs: int = 0

    def __post_init__(self) -> None:
        self.triage_log = DecisionLog(Table("keel-dev-decisions", self.dynamodb), clock=self.stamp)
        self.watch_log = DecisionLog(Table("keel-dev-decisions", self.dynamodb), clock=self.stamp)
        self.tickets = 0

    def stamp(self) -> str:
        return self.now.isoformat()

    def confidences(self, *values: float, model: str = "ticket-nb-1.0.0") -> None:
        for value in values:
            self.tickets += 1
            self.triage_log.record(triage(self.tickets, value, model=model))

    def reviews(self, *kept: bool) -> None:
        for keep in kept:
            self.tickets += 1
            self.triage_log.record(reviewed(self.tickets, kept=keep))

    def deps(self) -> logic.Dependencies:
        return logic.Dependencies(
            config=load_config(),
            feed=DecisionFeed(Table("keel-dev-decisions", self.dynamodb)),
            store=StateStore(Table("keel-dev-limits", self.dynamodb)),
            log=self.watch_log,
            metrics=self.metrics,
            clock=lambda: self.now,
            code_version="sha256:code",
        )

    def run(self, execution: str | None = None) -> dict[str, Any]:
        self.runs += 1
        task = logic.WatchInput(
            event_id=f"evt-watch-{self.runs}",
            execution=execution or f"arn:exec:watch-{self.runs}",
            step="Watch",
            keel=KeelContext.model_validate(keel_fields(automation="advisor_drift_watch", owner="support-team")),
        )
        return logic.watch(task, self.deps())

    def drift_records(self) -> list[Decision]:
        return [record.decision for record in self.watch_log.chain("advisor_drift_watch")]


STEADY = [0.95, 0.9, 0.97, 0.92, 0.88, 0.96, 0.93, 0.91, 0.94, 0.97] * 3
FALLEN = [0.35, 0.5, 0.3, 0.45, 0.4, 0.55, 0.32, 0.38, 0.42, 0.36]


def test_a_steady_advisor_is_no_drift_and_a_run_reads_only_what_is_new() -> None:
    # Given thirty confident triage decisions
    world = World()
    world.confidences(*STEADY)

    # When the watch runs twice, with five more decisions in between
    first = world.run()
    world.confidences(*STEADY[:5])
    second = world.run()

    # Then nothing drifted and nothing was recorded, and the second run read only the five new records
    assert (first["drift_found"], first["records_read"], first["read_up_to_seq"]) == (False, 30, 30)
    assert (second["drift_found"], second["records_read"], second["read_up_to_seq"]) == (False, 5, 35)
    assert world.drift_records() == []
    assert ("AdvisorDriftReported", 0, "Count") in world.metrics.added


def test_a_fall_of_confidence_across_runs_is_reported_once_with_its_levels() -> None:
    # Given a run that saw thirty confident decisions, then ten unconfident ones
    world = World()
    world.confidences(*STEADY)
    world.run()
    world.confidences(*FALLEN)

    # When the watch runs again an hour later
    world.now += timedelta(hours=1)
    result = world.run()

    # Then the detector (its state kept between runs) confirms a drift of confidence, and says by how much
    assert result["drift_found"] is True
    drift = result["drift"]
    assert (drift["automation"], drift["signal"], drift["detector"], drift["model_version"]) == (
        "ticket_triage",
        "confidence",
        "PageHinkley",
        "ticket-nb-1.0.0",
    )
    assert drift["mean_before"] > 0.85
    assert drift["mean_after"] < 0.6
    assert 30 < drift["observations"] <= 40
    assert drift["detected_at"] == "2026-12-01T10:00:00Z"
    assert drift["drift_id"].startswith("ticket_triage:ticket-nb-1.0.0:confidence:seq-")
    # And the decision says what, by which detector, the levels and the observations
    [record] = world.drift_records()
    assert (record.action, record.outcome, record.rule) == ("report_advisor_drift", "taken", "pagehinkley:confidence")
    assert record.details["mean_after"] == drift["mean_after"]
    assert record.details["observations"] == drift["observations"]


def test_the_same_models_drift_is_not_reported_again_until_the_cooldown_passes() -> None:
    # Given a drift reported
    world = World()
    world.confidences(*STEADY)
    world.confidences(*FALLEN)
    assert world.run()["drift_found"] is True

    # When the model keeps drifting an hour later
    world.confidences(*STEADY, *FALLEN)
    world.now += timedelta(hours=1)
    again = world.run()

    # Then it is confirmed again but not reported (a metric counts it)
    assert (again["drifts_confirmed"], again["drift_found"]) == (1, False)
    assert ("AdvisorDriftSuppressed", 1, "Count") in world.metrics.added
    assert len(world.drift_records()) == 1

    # And once the day's cooldown has passed, a drift that is still there is reported again
    world.confidences(*STEADY, *FALLEN)
    world.now += timedelta(hours=24)
    assert world.run()["drift_found"] is True
    assert len(world.drift_records()) == 2


def test_a_new_live_model_starts_the_detectors_afresh_and_may_be_reported_at_once() -> None:
    # Given the old model's drift reported
    world = World()
    world.confidences(*STEADY, *FALLEN)
    world.run()

    # When a new model advises, steadily at first, then drifts as well
    world.confidences(*STEADY, *FALLEN, model="ticket-nb-2.0.0")
    world.now += timedelta(hours=1)
    result = world.run()

    # Then its drift is its own (the old model's cooldown does not hold it back), counted from its first advice
    assert result["drift_found"] is True
    assert result["drift"]["model_version"] == "ticket-nb-2.0.0"
    assert len(STEADY) < result["drift"]["observations"] <= len(STEADY) + len(FALLEN)
    assert result["drift"]["mean_before"] > 0.85


def test_reviewers_overruling_the_advisor_is_a_drift_of_agreement() -> None:
    # Given reviewers who mostly kept the advisor's category, then mostly changed it
    world = World()
    world.reviews(*([True] * 9 + [False]) * 3)
    world.reviews(*([False] * 12))

    # When the watch runs
    result = world.run()

    # Then agreement drifted
    assert result["drift_found"] is True
    assert result["drift"]["signal"] == "agreement"
    assert result["drift"]["mean_before"] == pytest.approx(0.9, abs=0.05)
    assert result["drift"]["mean_after"] <= 0.5


def test_a_retried_run_answers_what_it_answered_without_reading_again() -> None:
    # Given a run that found the drift and saved
    world = World()
    world.confidences(*STEADY, *FALLEN)
    first = world.run(execution="arn:exec:watch-1")

    # When the same execution's task is retried (after a timeout), with new records in the chain
    world.confidences(*FALLEN)
    retried = world.run(execution="arn:exec:watch-1")

    # Then it gives the same answer and records nothing more
    assert retried == first
    assert len(world.drift_records()) == 1


def test_two_runs_that_overlap_cannot_both_advance_the_state() -> None:
    # Given the state saved by one run
    world = World()
    world.confidences(*STEADY)
    store = StateStore(Table("keel-dev-limits", world.dynamodb))
    stale = store.load("ticket_triage")
    world.run()

    # When a run that loaded it before that save tries to save
    # Then it is refused with ConflictError (its retry reads from where the other stopped)
    with pytest.raises(ConflictError, match="another run saved first"):
        store.save(stale, world.now)


def test_shadow_dry_run_and_rejected_review_records_are_not_observations() -> None:
    # Given records of the live advisor, a shadow run, a dry run and a rejected review (same advice again)
    live = triage(1, 0.9).model_dump(mode="json")
    shadow = triage(2, 0.9, shadow=True).model_dump(mode="json")
    dry = triage(3, 0.9, dry_run=True).model_dump(mode="json")
    rejected = triage(4, 0.4, step="NotRouted", outcome="refused", details={}).model_dump(mode="json")

    # When each is read
    # Then only the live triage decision is an observation
    assert [len(observations(body)) for body in (live, shadow, dry, rejected)] == [1, 0, 0, 0]
    assert observations(live)[0].value == 0.9
