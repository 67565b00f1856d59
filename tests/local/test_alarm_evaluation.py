"""Alarm evaluation as CloudWatch documents it: the tables of "How alarm state is evaluated when data is
missing" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html),
statistics, percentiles with few samples, and a new alarm's first periods."""

from __future__ import annotations

import pytest

from keel.local.alarm_evaluation import AlarmRule, Sample, evaluate, metric_key, statistic

PERIOD = 300
# The end of the fifth period: all five periods of the evaluation range are over.
NOW = 100 * PERIOD
KEY = metric_key("AWS/States", "ExecutionsFailed", {"StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:m"})


def rule(datapoints_to_alarm: int, missing: str, **overrides: object) -> AlarmRule:
    settings: dict[str, object] = {
        "name": "alarm",
        "metric": KEY,
        "statistic": "Maximum",
        "period": PERIOD,
        "evaluation_periods": 3,
        "datapoints_to_alarm": datapoints_to_alarm,
        "threshold": 0.5,
        "comparison": "GreaterThanThreshold",
        "treat_missing_data": missing,
    } | overrides
    return AlarmRule(**settings)  # type: ignore[arg-type]


def samples(row: str) -> list[Sample]:
    """The page's notation, oldest first: 0 a datapoint within the threshold, X one breaching, - missing."""
    periods = row.split()
    first = NOW - len(periods) * PERIOD
    values = {"0": 0.0, "X": 1.0}
    return [Sample(first + index * PERIOD + 1, (values[mark],)) for index, mark in enumerate(periods) if mark != "-"]


# (data points, MISSING, IGNORE, BREACHING, NOT BREACHING); None keeps the current state.
THREE_OF_THREE = [
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", "INSUFFICIENT_DATA", None, "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - - - X", "INSUFFICIENT_DATA", None, "ALARM", "OK"),
    # CloudWatch: ALARM with MISSING; the local evaluation says INSUFFICIENT_DATA (README, approximations)
    ("X - - - -", "INSUFFICIENT_DATA", None, "ALARM", "OK"),
]
TWO_OF_THREE = [
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - - X", "INSUFFICIENT_DATA", None, "ALARM", "OK"),
]
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


@pytest.mark.parametrize(
    ("datapoints_to_alarm", "row", "treatment", "expected"),
    [
        (needed, row[0], treatment, row[1 + index])
        for needed, table in ((3, THREE_OF_THREE), (2, TWO_OF_THREE))
        for row in table
        for index, treatment in enumerate(TREATMENTS)
    ],
)
def test_missing_data_is_treated_as_the_documented_tables_say(
    datapoints_to_alarm: int, row: str, treatment: str, expected: str | None
) -> None:
    # Given an alarm created long before these five periods, with the row's datapoints
    alarm = rule(datapoints_to_alarm, treatment)

    # When it is evaluated once the fifth period is over
    verdict = evaluate(alarm, samples(row), NOW, since=0.0)

    # Then it is in the table's state (None: it keeps its state)
    assert (verdict.state if verdict else None) == expected


def test_the_reason_names_the_datapoints_as_cloudwatch_does() -> None:
    verdict = evaluate(rule(1, "notBreaching", evaluation_periods=1), samples("- - - - X"), NOW, since=0.0)

    assert verdict is not None
    assert verdict.state == "ALARM"
    assert verdict.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (")
    assert "was greater than the threshold (0.5) (minimum 1 datapoint for OK -> ALARM transition)." in verdict.reason
    assert verdict.reason_data["recentDatapoints"] == [1.0]


def test_a_new_alarm_waits_for_a_period_of_its_own_before_missing_data_counts() -> None:
    # Given the heartbeat's dead man's switch: missing data breaches
    switch = rule(1, "breaching", evaluation_periods=1, statistic="Sum", comparison="LessThanThreshold", threshold=1.0)
    created = NOW - PERIOD / 2

    # When it is evaluated before a whole period of its life has passed, and again after one
    early = evaluate(switch, [], NOW - 1, since=created)
    late = evaluate(switch, [], NOW + PERIOD, since=created)

    # Then the first keeps INSUFFICIENT_DATA, the second is in ALARM
    assert early is None
    assert late is not None
    assert late.state == "ALARM"
    assert late.reason.startswith("Threshold Crossed: no datapoints were received for 1 period")


def test_the_period_being_filled_counts_once_it_holds_a_sample() -> None:
    alarm = rule(1, "notBreaching", evaluation_periods=1, statistic="Sum", threshold=0.0)

    verdict = evaluate(alarm, [Sample(NOW + 10, (1.0,))], NOW + 20, since=0.0)

    assert verdict is not None
    assert verdict.state == "ALARM"


def test_percentiles_are_the_nearest_rank_of_the_samples() -> None:
    period = [Sample(1, tuple(float(value) for value in range(1, 101)))]

    assert statistic("p90", period) == 90.0
    assert statistic("p50", period) == 50.0
    assert statistic("Average", period) == 50.5
    assert statistic("SampleCount", period) == 100.0
    assert statistic("p90", [Sample(1, aggregate=(10.0, 1.0, 5.0, 4.0))]) is None


def test_a_percentile_on_few_samples_keeps_the_state_when_told_to_ignore_it() -> None:
    # Given a p90 alarm over 3 samples (fewer than 10 / (1 - 0.9) = 100)
    few = [Sample(NOW - PERIOD + 1, (9000.0, 9000.0, 9000.0))]
    ignoring = rule(1, "notBreaching", evaluation_periods=1, statistic="p90", low_sample_count="ignore", threshold=10.0)

    # When it is evaluated, ignoring low sample counts, and evaluating them
    ignored = evaluate(ignoring, few, NOW, since=0.0)
    evaluated = evaluate(rule(1, "notBreaching", evaluation_periods=1, statistic="p90", threshold=10.0), few, NOW, since=0.0)

    # Then only the second decides
    assert ignored is None
    assert evaluated is not None
    assert evaluated.state == "ALARM"


def test_an_alarm_with_a_unit_reads_only_samples_of_that_unit() -> None:
    alarm = rule(1, "notBreaching", evaluation_periods=1, unit="Milliseconds", threshold=100.0)
    mixed = [Sample(NOW - 10, (500.0,), unit="Seconds"), Sample(NOW - 10, (50.0,), unit="Milliseconds")]

    verdict = evaluate(alarm, mixed, NOW, since=0.0)

    assert verdict is not None
    assert verdict.state == "OK"


def test_rules_the_local_cloud_cannot_evaluate_say_why() -> None:
    assert rule(1, "missing", comparison="LessThanLowerOrGreaterThanUpperThreshold").problem() is not None
    assert rule(1, "missing", statistic="tm90").problem() is not None
    assert rule(1, "missing").problem() is None
