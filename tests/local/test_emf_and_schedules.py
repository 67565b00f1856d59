"""EMF lines become datapoints as CloudWatch extracts them; schedule expressions fire when EventBridge's would."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from keel.local import moto_cloudwatch
from keel.local.emf import Datapoint, extract, microseconds_down
from keel.local.schedules import ScheduleError, parse_schedule

POWERTOOLS_LINE = json.dumps(
    {
        "_aws": {
            "Timestamp": 1796556440143,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Keel",
                    "Dimensions": [["environment", "automation", "service"]],
                    "Metrics": [{"Name": "Heartbeat", "Unit": "Count"}, {"Name": "ScheduleLagSeconds", "Unit": "Seconds"}],
                }
            ],
        },
        "environment": "dev",
        "automation": "platform_heartbeat",
        "service": "emit_heartbeat",
        "Heartbeat": [1.0],
        "ScheduleLagSeconds": [2.5, 3.5],
    }
)


def test_a_powertools_line_becomes_one_datapoint_per_metric_with_its_dimensions() -> None:
    # Given a handler's log: a plain line and the EMF document Powertools prints
    log = f"starting\n{POWERTOOLS_LINE}\n"

    # When CloudWatch reads it
    datapoints, problems = extract(log, timestamp=1000.0)

    # Then each declared metric is a datapoint in its namespace, with the dimension set's values
    assert problems == []
    assert [(point.name, point.values, point.unit) for point in datapoints] == [
        ("Heartbeat", (1.0,), "Count"),
        ("ScheduleLagSeconds", (2.5, 3.5), "Seconds"),
    ]
    assert {point.namespace for point in datapoints} == {"Keel"}
    assert datapoints[0].dimensions == (
        ("environment", "dev"),
        ("automation", "platform_heartbeat"),
        ("service", "emit_heartbeat"),
    )
    assert datapoints[0].timestamp == 1000.0


# A moment whose fraction a datetime would round up to the next microsecond.
ROUNDS_UP = 1796582850.8384228


def test_a_datapoint_stored_in_cloudwatch_is_not_later_than_the_moment_it_measures() -> None:
    # Given a queue depth sampled at a moment a microsecond clock would round up
    point = Datapoint("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", "dlq"),), (1.0,), "Count", ROUNDS_UP)
    with mock_aws():
        # When it is put and read back, as the alarms evaluated at that moment read it
        moto_cloudwatch.put_metric_data("123456789012", "eu-west-1", [point])
        [(_, sample)], _ = moto_cloudwatch.metric_samples("123456789012", "eu-west-1", 0)
    # Then it is at or before that moment (an alarm evaluated then sees it), within a microsecond
    assert ROUNDS_UP - 1e-6 < sample.timestamp <= ROUNDS_UP


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_a_time_is_cut_to_the_microsecond_never_rounded_up(moment: float) -> None:
    assert moment - 2e-6 < microseconds_down(moment).timestamp() <= moment


def test_a_metric_per_dimension_set_and_unit_none_by_default() -> None:
    document = {
        "_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["a"], []], "Metrics": [{"Name": "M"}]}]},
        "a": "x",
        "M": 3,
    }

    datapoints, _ = extract(json.dumps(document), timestamp=0.0)

    assert [(point.dimensions, point.unit) for point in datapoints] == [((("a", "x"),), "None"), ((), "None")]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"_aws": {"CloudWatchMetrics": [{"Dimensions": [], "Metrics": [{"Name": "M"}]}]}, "M": 1}, "Namespace"),
        ({"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["a"]], "Metrics": [{"Name": "M"}]}]}, "M": 1}, "'a'"),
        ({"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "M"}]}]}, "M": "x"}, "'M'"),
    ],
)
def test_a_line_that_breaks_the_format_yields_no_metric_and_says_why(document: dict[str, object], reason: str) -> None:
    datapoints, problems = extract(json.dumps(document), timestamp=0.0)

    assert datapoints == []
    assert len(problems) == 1
    assert reason in problems[0].reason


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_a_rate_fires_one_interval_after_the_rule_was_created_then_every_interval() -> None:
    schedule = parse_schedule("rate(5 minutes)", created=at("2026-12-01T10:00:30"))

    first = schedule.next_after(at("2026-12-01T10:00:30"))

    assert first == at("2026-12-01T10:05:30")
    assert schedule.next_after(first) == at("2026-12-01T10:10:30")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0/15 * * * ? *)", "2026-12-01T10:07:00", "2026-12-01T10:15:00"),
        ("cron(0 9 ? * MON-FRI *)", "2026-12-05T12:00:00", "2026-12-07T09:00:00"),  # Saturday -> Monday
        ("cron(30 18 L * ? *)", "2026-02-03T00:00:00", "2026-02-28T18:30:00"),
        ("cron(0 8 ? * 2#1 *)", "2026-12-01T00:00:00", "2026-12-07T08:00:00"),  # first Monday
        ("cron(0 8 ? * 6L *)", "2026-12-01T00:00:00", "2026-12-25T08:00:00"),  # last Friday
        ("cron(0 12 15W * ? *)", "2026-11-01T00:00:00", "2026-11-16T12:00:00"),  # the 15th is a Sunday
        ("cron(0 0 1 JAN ? 2027)", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_cron_expressions_fire_at_their_next_time(expression: str, after: str, expected: str) -> None:
    assert parse_schedule(expression, created=0.0).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 fortnights)", "expected rate"),
        ("cron(0 9 * * MON *)", "'?'"),
        ("cron(0 9 * *)", "six fields"),
        ("cron(61 * * * ? *)", "0-59"),
    ],
)
def test_an_expression_eventbridge_refuses_is_refused_naming_the_problem(expression: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match=problem):
        parse_schedule(expression, created=0.0)
