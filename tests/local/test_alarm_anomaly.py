"""The local cloud's anomaly detection: a rolling baseline (keel/local/alarm_anomaly.py), read from alarms
shaped as the CDK synthesizes them (ThresholdMetricId naming ANOMALY_DETECTION_BAND(m0, width))."""

from __future__ import annotations

import pytest

from keel.local.alarm_anomaly import MIN_TRAINING_POINTS, TRAINING_DAYS, AnomalyRule, band, evaluate_anomaly, series
from keel.local.alarm_evaluation import MetricKey, Sample, metric_key
from keel.local.alarm_model import AlarmDefinition, MetricQuery

HOUR = 3600
MACHINE = {"StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:m"}
TIME = metric_key("AWS/States", "ExecutionTime", MACHINE)
FAILED = metric_key("AWS/States", "ExecutionsFailed", MACHINE)
STARTED = metric_key("AWS/States", "ExecutionsStarted", MACHINE)
NOW = 1000 * HOUR


def definition(queries: tuple[MetricQuery, ...], **overrides: object) -> AlarmDefinition:
    settings: dict[str, object] = {
        "name": "anomaly",
        "arn": "arn:aws:cloudwatch:eu-west-1:1:alarm:anomaly",
        "account": "1",
        "region": "eu-west-1",
        "state": "INSUFFICIENT_DATA",
        "comparison": "GreaterThanUpperThreshold",
        "evaluation_periods": 1,
        "treat_missing_data": "notBreaching",
        "queries": queries,
        "threshold_metric_id": "expr_1",
    } | overrides
    return AlarmDefinition(**settings)  # type: ignore[arg-type]


def duration_alarm(width: float = 2, **overrides: object) -> AnomalyRule:
    queries = (
        MetricQuery("expr_1", True, expression=f"ANOMALY_DETECTION_BAND(m0, {width:g})"),
        MetricQuery("m0", True, metric=TIME, period=HOUR, stat="Average"),
    )
    rule = definition(queries, **overrides).rule()
    assert isinstance(rule, AnomalyRule), rule
    return rule


def failure_rate_alarm() -> AnomalyRule:
    queries = (
        MetricQuery("expr_1", True, expression="ANOMALY_DETECTION_BAND(m0, 2)"),
        MetricQuery("m0", True, label="failed executions (% of started)", expression="100 * FILL(failed, 0) / started"),
        MetricQuery("failed", False, metric=FAILED, period=HOUR, stat="Sum"),
        MetricQuery("started", False, metric=STARTED, period=HOUR, stat="Sum"),
    )
    rule = definition(queries).rule()
    assert isinstance(rule, AnomalyRule), rule
    return rule


def hourly(values: list[float], last_hour: float = NOW - HOUR) -> list[Sample]:
    """One ExecutionTime sample (milliseconds) per hour, the last in the hour starting at `last_hour`."""
    first = last_hour - (len(values) - 1) * HOUR
    return [Sample(first + index * HOUR + 60, (value,), unit="Milliseconds") for index, value in enumerate(values)]


def reader(samples: dict[MetricKey, list[Sample]]):  # type: ignore[no-untyped-def]
    return lambda metric, start, end: [sample for sample in samples.get(metric, []) if start <= sample.timestamp <= end]


USUAL = [100_000.0, 102_000.0, 98_000.0, 101_000.0, 99_000.0, 100_000.0]


def test_the_band_is_the_mean_plus_or_minus_width_standard_deviations_with_a_floor() -> None:
    varied = band([90.0, 110.0], width=2)
    steady = band([100.0] * 6, width=3)

    assert (varied.lower, varied.upper) == (80.0, 120.0)
    # A history without any variation still has a band: 5% of its mean per standard deviation
    assert (steady.lower, steady.upper) == pytest.approx((85.0, 115.0))


def test_a_duration_forty_percent_above_its_past_is_an_anomaly_that_names_value_and_band() -> None:
    # Given six usual hours, then one 40% slower
    samples = {TIME: hourly([*USUAL, 140_000.0], last_hour=NOW)}

    # When the alarm is evaluated in that hour
    verdict = evaluate_anomaly(duration_alarm(), reader(samples), NOW + 120, since=0.0)

    # Then it is in ALARM, and its reason says what was seen and what was expected
    assert verdict is not None
    assert verdict.state == "ALARM"
    assert verdict.reason.startswith("ExecutionTime Average 140.0 s (")
    assert "is above the expected band 90.0-110.0 s (mean 100.0 s ± 2 standard deviations of the 6 earlier" in verdict.reason
    assert "Thresholds Crossed: 1 out of the last 1 datapoints was outside the band" in verdict.reason
    assert verdict.reason_data["recentUpperThresholds"] == [pytest.approx(110_000.0)]


def test_a_usual_duration_is_within_the_band() -> None:
    samples = {TIME: hourly([*USUAL, 103_000.0], last_hour=NOW)}

    verdict = evaluate_anomaly(duration_alarm(), reader(samples), NOW + 120, since=0.0)

    assert verdict is not None
    assert verdict.state == "OK"
    assert "is within the expected band" in verdict.reason


def test_the_band_width_decides_how_far_is_too_far() -> None:
    samples = {TIME: hourly([*USUAL, 115_000.0], last_hour=NOW)}

    narrow = evaluate_anomaly(duration_alarm(width=2), reader(samples), NOW + 120, since=0.0)
    wide = evaluate_anomaly(duration_alarm(width=4), reader(samples), NOW + 120, since=0.0)

    assert (narrow and narrow.state, wide and wide.state) == ("ALARM", "OK")


def test_no_verdict_but_insufficient_data_while_the_model_trains() -> None:
    # Given fewer earlier datapoints than the model needs, then one more
    few = {TIME: hourly([*USUAL[: MIN_TRAINING_POINTS - 1], 500_000.0], last_hour=NOW)}
    enough = {TIME: hourly([*USUAL[:MIN_TRAINING_POINTS], 500_000.0], last_hour=NOW)}

    training = evaluate_anomaly(duration_alarm(), reader(few), NOW + 120, since=0.0)
    trained = evaluate_anomaly(duration_alarm(), reader(enough), NOW + 120, since=0.0)

    assert training is not None
    assert training.state == "INSUFFICIENT_DATA"
    assert f"still training ({MIN_TRAINING_POINTS - 1} of the {MIN_TRAINING_POINTS} earlier datapoints" in training.reason
    assert trained is not None
    assert trained.state == "ALARM"


def test_datapoints_older_than_the_training_window_are_forgotten() -> None:
    # Given a usual history that ended more than the training window ago
    old = hourly(USUAL, last_hour=NOW - (TRAINING_DAYS * 24 + 1) * HOUR)
    samples = {TIME: [*old, *hourly([140_000.0], last_hour=NOW)]}

    verdict = evaluate_anomaly(duration_alarm(), reader(samples), NOW + 120, since=0.0)

    # Then the model has nothing to go on again
    assert verdict is not None
    assert verdict.state == "INSUFFICIENT_DATA"


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [
        ("GreaterThanUpperThreshold", 50_000.0, "OK"),
        ("LessThanLowerThreshold", 50_000.0, "ALARM"),
        ("LessThanLowerThreshold", 150_000.0, "OK"),
        ("LessThanLowerOrGreaterThanUpperThreshold", 150_000.0, "ALARM"),
    ],
)
def test_each_anomaly_comparison_looks_at_its_side_of_the_band(comparison: str, value: float, expected: str) -> None:
    samples = {TIME: hourly([*USUAL, value], last_hour=NOW)}

    verdict = evaluate_anomaly(duration_alarm(comparison=comparison), reader(samples), NOW + 120, since=0.0)

    assert verdict is not None
    assert verdict.state == expected


def test_evaluation_periods_need_that_many_anomalous_periods() -> None:
    # Given an alarm over two periods, and one slow hour after a usual one
    alarm = duration_alarm(evaluation_periods=2, datapoints_to_alarm=2)
    one = {TIME: hourly([*USUAL, 140_000.0], last_hour=NOW)}
    two = {TIME: hourly([*USUAL, 140_000.0, 140_000.0], last_hour=NOW)}

    once = evaluate_anomaly(alarm, reader(one), NOW + 120, since=0.0)
    twice = evaluate_anomaly(alarm, reader(two), NOW + 120, since=0.0)

    # Then one slow hour is not enough, two in a row are (the second judged against a baseline holding the first)
    assert once is not None
    assert once.state == "OK"
    assert twice is not None
    assert twice.state == "ALARM"


def test_hours_without_executions_are_not_an_anomaly() -> None:
    # Given no execution in the evaluation range (the evaluated period and the two before it)
    samples = {TIME: hourly(USUAL, last_hour=NOW - 4 * HOUR)}

    verdict = evaluate_anomaly(duration_alarm(), reader(samples), NOW + 10, since=0.0)

    assert verdict is not None
    assert verdict.state == "OK"
    assert verdict.reason.startswith("No datapoints of ExecutionTime Average: 1 missing period(s) treated as [notBreaching].")


def test_the_failure_rate_is_the_math_expression_per_period() -> None:
    # Given hours of 4 started executions: none failed (no ExecutionsFailed sample at all), then 1 of 4
    rule = failure_rate_alarm()
    started = [Sample(hour * HOUR + 30, (1.0, 1.0, 1.0, 1.0)) for hour in range(10, 17)]
    failed = [Sample(16 * HOUR + 40, (1.0,))]
    samples = {STARTED: started, FAILED: failed}

    values, _unit = series(rule, reader(samples), 0, 17 * HOUR)
    verdict = evaluate_anomaly(rule, reader(samples), 16 * HOUR + 60, since=0.0)

    # Then a missing ExecutionsFailed is 0 (FILL), and the last hour's 25% is above a band of 0-0
    assert values == {hour * HOUR: 0.0 for hour in range(10, 16)} | {16 * HOUR: 25.0}
    assert verdict is not None
    assert verdict.state == "ALARM"
    assert verdict.reason.startswith("failed executions (% of started) 25.0 % (")
    assert "is above the expected band 0.0-0.0 %" in verdict.reason


def test_a_period_without_starts_has_no_failure_rate() -> None:
    rule = failure_rate_alarm()
    samples = {FAILED: [Sample(10 * HOUR + 5, (1.0,))]}

    values, _unit = series(rule, reader(samples), 0, 11 * HOUR)

    assert values == {}


@pytest.mark.parametrize(
    ("queries", "problem"),
    [
        (
            (MetricQuery("expr_1", True, expression="ANOMALY_DETECTION_BAND(m9, 2)"),),
            "names 'm9', which is no metric or expression",
        ),
        ((MetricQuery("expr_1", True, expression="m0 * 2"),), "must name an ANOMALY_DETECTION_BAND"),
        (
            (
                MetricQuery("expr_1", True, expression="ANOMALY_DETECTION_BAND(m0)"),
                MetricQuery("m0", True, expression="SUM(METRICS())"),
                MetricQuery("started", False, metric=STARTED, period=HOUR, stat="Sum"),
            ),
            "metric math not evaluated locally",
        ),
    ],
)
def test_anomaly_alarms_the_local_cloud_cannot_evaluate_say_why(queries: tuple[MetricQuery, ...], problem: str) -> None:
    rule = definition(queries).rule()

    assert isinstance(rule, str)
    assert rule.startswith("anomaly detection alarm not evaluated locally: ")
    assert problem in rule
