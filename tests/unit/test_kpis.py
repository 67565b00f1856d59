"""KPIs: the period and its trend buckets, batched metric queries, decision counts, the team's total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.shared.domain.kpis import (
    MAX_METRICS_PER_CALL,
    METRICS,
    TREND,
    WHOLE,
    KpiInputError,
    Period,
    Points,
    Recorded,
    Sources,
    Waited,
    Watched,
    automation_kpis,
    buckets,
    change,
    decisions_in,
    metric_requests,
    period_ending,
    query_id,
    team_total,
)

NOW = datetime(2026, 12, 7, 9, 41, 12, tzinfo=UTC)


def recorded(minutes_ago: float, outcome: str, *, action: str = "restart", dry_run: bool = False, **fields: str) -> Recorded:
    return Recorded(
        recorded_at=NOW - timedelta(minutes=minutes_ago),
        execution_arn="arn:aws:states:eu-west-1:111111111111:execution:keel-dev-x:e1",
        step="Act",
        action=action,
        outcome=outcome,
        dry_run=dry_run,
        rule=fields.get("rule"),
        approval_id=fields.get("approval_id"),
        approved_by=fields.get("approved_by"),
        reason="because",
    )


def test_a_period_is_aligned_for_cloudwatch_and_its_trend_is_daily_over_a_week_and_weekly_over_a_month() -> None:
    # Given now, not on any boundary
    # When periods of 7 and 30 days are made
    week, month = period_ending(NOW, timedelta(days=7)), period_ending(NOW, timedelta(days=30))
    # Then each ends at the next 5 minutes, and its buckets cover it without a gap
    assert week.end == datetime(2026, 12, 7, 9, 45, tzinfo=UTC)
    assert week.seconds == 7 * 86400
    assert [bucket.seconds for bucket in buckets(week)] == [86400] * 7
    assert [bucket.seconds for bucket in buckets(month)] == [7 * 86400] * 4 + [2 * 86400]
    assert buckets(month)[-1].end == month.end
    # And a period reaching back more than 63 days is aligned to the hour
    quarter = period_ending(NOW, timedelta(days=90))
    assert quarter.end == datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert quarter.previous().end == quarter.start


def test_an_empty_period_is_refused() -> None:
    with pytest.raises(KpiInputError, match="longer than zero"):
        period_ending(NOW, timedelta(0))


def test_the_metrics_of_300_automations_are_read_in_batches_of_at_most_500_metrics() -> None:
    # Given 300 automations
    arn = "arn:aws:states:eu-west-1:111111111111:stateMachine:keel-dev-a"
    watched = [Watched(f"a{i}", f"{arn}{i}", f"keel-dev-a{i}-dlq") for i in range(300)]
    # When the calls for a 30-day report are made
    requests = metric_requests(watched, period_ending(NOW, timedelta(days=30)))
    # Then every metric of every automation is asked once per set (whole period, trend), in 10 calls
    assert all(len(request.queries) <= MAX_METRICS_PER_CALL for request in requests)
    assert len(requests) == 10
    ids = [query["Id"] for request in requests for query in request.queries]
    assert len(ids) == len(set(ids)) == 2 * 300 * len(METRICS)
    # And the dead-letter queue is read by its name, the rest by the state machine's ARN
    first = requests[0].queries
    dimensions = {query["Id"]: query["MetricStat"]["Metric"]["Dimensions"][0] for query in first}
    assert dimensions[query_id(WHOLE, 0, "dead_lettered")] == {"Name": "QueueName", "Value": "keel-dev-a0-dlq"}
    assert dimensions[query_id(WHOLE, 0, "p90_ms")]["Name"] == "StateMachineArn"


def test_decisions_count_actions_refusals_dry_runs_and_how_long_approvals_took() -> None:
    # Given a week of decisions and the approvals they name
    period = period_ending(NOW, timedelta(days=7))
    records = [
        recorded(10, "taken", rule="restart-on-5xx"),
        recorded(20, "taken", dry_run=True),
        recorded(30, "planned", dry_run=True),
        recorded(40, "refused", action="guardrail:cooldown"),
        recorded(50, "refused", action="guardrail:cooldown"),
        recorded(60, "refused", action="guardrail:override"),
        recorded(70, "approved", approval_id="ap-1", approved_by="alice"),
        recorded(80, "rejected", approval_id="ap-2", approved_by="bob"),
        recorded(90, "expired", approval_id="ap-3"),
        recorded(60 * 24 * 8, "taken"),  # before the period
    ]
    asked = NOW - timedelta(hours=2)
    waits = {
        "ap-1": Waited(asked, asked + timedelta(seconds=60)),
        "ap-2": Waited(asked, asked + timedelta(seconds=600)),
        "ap-3": Waited(asked, None),
    }
    # When they are counted
    counted = decisions_in(records, period, waits)
    # Then only real actions of the period are taken ones, refusals are by guardrail, and waits are the answered ones'
    assert (counted.actions_taken, counted.dry_runs, counted.refused) == (1, 1, 3)
    assert counted.refusals == {"cooldown": 2, "override": 1}
    assert (counted.approvals_asked, counted.approvals_answered) == (3, 2)
    assert (counted.approval_wait_p50_s, counted.approval_wait_max_s) == (60.0, 600.0)
    assert counted.rules_fired == {"restart-on-5xx": 1}


def test_an_automation_is_compared_with_its_previous_period_and_its_trend_has_a_point_per_bucket() -> None:
    # Given CloudWatch's points: 10 runs now (2 failed), 5 before, all in the last day's bucket
    period = period_ending(NOW, timedelta(days=7))
    last = buckets(period)[-1].start
    now_points = {"runs": 10.0, "succeeded": 8.0, "failed": 2.0, "p50_ms": 1500.0, "p90_ms": 3000.0}
    by_id: dict[str, list[tuple[datetime, float]]] = {}
    for key, value in now_points.items():
        by_id[query_id(WHOLE, 0, key)] = [(period.previous().start, value / 2), (period.start, value)]
        by_id[query_id(TREND, 0, key)] = [(last, value)]
    sources = Sources(records=[recorded(5, "taken")], waits={}, overrides=[], cost_per_run=0.0004)
    # When its KPIs are assembled
    kpis = automation_kpis("orders", 0, Points(by_id), period, sources)
    figures = kpis.as_json()
    # Then the period's figures, the change against the previous one and a trend point per day are there
    assert (figures["runs"], figures["success_rate"], figures["p90_s"]) == (10, 80.0, 3.0)
    assert figures["change_percent"] == {"runs": 100.0, "success_rate": 0.0, "p90_s": 100.0}
    assert [point["runs"] for point in figures["trend"]] == [0, 0, 0, 0, 0, 0, 10]
    assert figures["trend"][-1]["actions_taken"] == 1
    # And the team's total adds counts and prices the runs
    total = team_total([kpis, kpis])
    assert (total["automations"], total["runs"], total["failed"], total["success_rate"]) == (2, 20, 4, 80.0)
    assert total["estimated_cost_usd"] == pytest.approx(0.008)


def test_a_change_needs_something_to_compare_with() -> None:
    assert change(5, 0) is None
    assert change(None, 3) is None
    assert change(3, 2) == 50.0


def test_periods_are_half_open() -> None:
    period = Period(NOW - timedelta(days=1), NOW)
    assert period.contains(NOW - timedelta(days=1))
    assert not period.contains(NOW)
