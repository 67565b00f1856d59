"""How a CloudWatch metric alarm decides its state, as the local cloud evaluates it on virtual time.

What is evaluated as CloudWatch does
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html, "Evaluating
an alarm" and "How alarm state is evaluated when data is missing"):

- periods are aligned on the epoch; each period's datapoint is the statistic (Sum, Average, Minimum,
  Maximum, SampleCount, or a percentile pNN) of the samples stamped in it, of the alarm's unit if it
  names one;
- the evaluation range is the most recent Evaluation Periods + 2 periods (the page's example
  retrieves 5 for 3); when it holds at least Evaluation Periods datapoints, the most recent of them
  are evaluated, and missing periods do not matter;
- otherwise missing periods are filled as TreatMissingData says, as few as needed: `breaching` and
  `notBreaching` fill them; `missing` goes to INSUFFICIENT_DATA when nothing is there; `ignore`
  keeps the state; the alarm is in ALARM when at least Datapoints to Alarm of the evaluated
  datapoints breach, OK otherwise;
- EvaluateLowSampleCountPercentile `ignore` keeps the state while a percentile rests on fewer
  samples than 10/(1-p) (p >= 0.5) or 10/p.

Approximations, said where they matter:
- the period being filled now counts as a datapoint once it holds a sample (CloudWatch evaluates
  partial periods too), and as missing only once it is over; periods before the alarm existed never
  count as missing (a new alarm is INSUFFICIENT_DATA until a period of its own passes);
- with `missing` and fewer datapoints than Evaluation Periods, all of them breaching but fewer than
  Datapoints to Alarm, the state is INSUFFICIENT_DATA (the page's first table has one row, `X - - - -`,
  where CloudWatch goes to ALARM instead);
- percentiles are the nearest rank of the raw samples (CloudWatch's are estimates from its own
  sketches; samples sent as StatisticValues have no percentile).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]
EXTRA_PERIODS = 2
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": ("greater than", operator.gt),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", operator.ge),
    "LessThanThreshold": ("less than", operator.lt),
    "LessThanOrEqualToThreshold": ("less than or equal to", operator.le),
}
STATISTICS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


def metric_key(namespace: str, name: str, dimensions: dict[str, str] | list[tuple[str, str]]) -> MetricKey:
    """A metric's identity: namespace, name and its dimensions (all of them, in any order)."""
    pairs = dimensions.items() if isinstance(dimensions, dict) else dimensions
    return namespace, name, tuple(sorted((str(key), str(value)) for key, value in pairs))


@dataclass(frozen=True)
class Sample:
    """What one PutMetricData datum holds: raw values, or a statistic set (sum, minimum, maximum, count)."""

    timestamp: float
    values: tuple[float, ...] = ()
    aggregate: tuple[float, float, float, float] | None = None
    unit: str | None = None

    @property
    def count(self) -> float:
        return self.aggregate[3] if self.aggregate else float(len(self.values))


@dataclass(frozen=True)
class AlarmRule:
    """A metric alarm as the evaluation needs it."""

    name: str
    metric: MetricKey
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str = "missing"
    unit: str | None = None
    low_sample_count: str = "evaluate"

    def problem(self) -> str | None:
        """Why this rule cannot be evaluated locally; None when it can."""
        if self.comparison not in COMPARISONS:
            return f"comparison {self.comparison} (an anomaly detection comparison needs a ThresholdMetricId)"
        if self.statistic not in STATISTICS and percentile_of(self.statistic) is None:
            return f"statistic {self.statistic} (evaluated locally: {', '.join(STATISTICS)} and pNN)"
        if self.period <= 0 or not 0 < self.datapoints_to_alarm <= self.evaluation_periods:
            return "period, evaluation periods or datapoints to alarm out of range"
        if self.treat_missing_data not in TREATMENTS:
            return f"TreatMissingData {self.treat_missing_data}"
        return None


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


def percentile_of(statistic: str) -> float | None:
    """p90 -> 90.0, p99.9 -> 99.9; None for anything else."""
    if not statistic.startswith("p"):
        return None
    try:
        value = float(statistic[1:])
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def statistic(name: str, samples: list[Sample]) -> float | None:
    """The statistic of one period's samples; None when it cannot be had (a percentile of statistic sets)."""
    raw = [value for sample in samples for value in sample.values]
    aggregates = [sample.aggregate for sample in samples if sample.aggregate]
    count = len(raw) + sum(aggregate[3] for aggregate in aggregates)
    total = sum(raw) + sum(aggregate[0] for aggregate in aggregates)
    simple: dict[str, Callable[[], float | None]] = {
        "SampleCount": lambda: count,
        "Sum": lambda: total,
        "Average": lambda: total / count if count else None,
        "Minimum": lambda: min([*raw, *(aggregate[1] for aggregate in aggregates)], default=None),
        "Maximum": lambda: max([*raw, *(aggregate[2] for aggregate in aggregates)], default=None),
    }
    if name in simple:
        return simple[name]()
    percentile = percentile_of(name)
    if percentile is None or not raw:
        return None
    ordered = sorted(raw)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


def low_samples(percentile: float, count: float) -> bool:
    """Too few samples for a meaningful percentile, as EvaluateLowSampleCountPercentile counts them."""
    fraction = percentile / 100
    if fraction <= 0 or fraction >= 1:
        return False
    needed = 10 / (1 - fraction) if fraction >= 0.5 else 10 / fraction
    return count < needed


@dataclass(frozen=True)
class _Point:
    start: float
    value: float
    count: float


def evaluate(rule: AlarmRule, samples: list[Sample], at: float, since: float) -> Verdict | None:
    """The alarm's state at `at` (seconds since the epoch) for an alarm that exists since `since`;
    None when the alarm keeps its state."""
    period = rule.period
    current = math.floor(at / period) * period
    buckets: dict[float, list[Sample]] = {}
    for sample in samples:
        if sample.timestamp <= at and (rule.unit is None or sample.unit == rule.unit):
            buckets.setdefault(math.floor(sample.timestamp / period) * period, []).append(sample)
    # The period being filled is the range's latest once it holds a sample; before, the one just over is.
    latest = current if current in buckets else current - period
    starts = [latest - index * period for index in range(rule.evaluation_periods + EXTRA_PERIODS)]
    points = []
    for start in starts:
        value = statistic(rule.statistic, buckets[start]) if start in buckets else None
        if value is not None:
            points.append(_Point(start, value, sum(sample.count for sample in buckets[start])))
    missing = [start for start in starts if start + period <= at and start >= since and start not in {p.start for p in points}]
    percentile = percentile_of(rule.statistic)
    window = points[: rule.evaluation_periods]
    if rule.low_sample_count == "ignore" and percentile is not None and any(low_samples(percentile, p.count) for p in window):
        return None
    return _decide(rule, window, len(missing), at)


def _decide(rule: AlarmRule, window: list[_Point], missing: int, at: float) -> Verdict | None:
    words, breaches = COMPARISONS[rule.comparison]
    breaching = sum(1 for point in window if breaches(point.value, rule.threshold))
    fills = min(rule.evaluation_periods - len(window), missing)
    treatment = rule.treat_missing_data
    if len(window) < rule.evaluation_periods and treatment in ("missing", "ignore"):
        if not window or breaching == len(window) < rule.datapoints_to_alarm:
            if treatment == "ignore" or (not window and not missing):
                return None
            return Verdict("INSUFFICIENT_DATA", _insufficient(rule, window, missing), _reason_data(rule, window, at))
        fills = 0
    elif len(window) + fills == 0:
        return None
    filled_breaching = fills if treatment == "breaching" and len(window) < rule.evaluation_periods else 0
    total = breaching + filled_breaching
    state = "ALARM" if total >= rule.datapoints_to_alarm else "OK"
    reason = _threshold_reason(rule, window, words, (total, fills), state)
    return Verdict(state, reason, _reason_data(rule, window, at))


def _when(start: float) -> str:
    return datetime.fromtimestamp(start, tz=UTC).strftime("%d/%m/%y %H:%M:%S")


def _listed(window: list[_Point]) -> str:
    return "[" + ", ".join(f"{float(point.value)} ({_when(point.start)})" for point in window) + "]"


def _threshold_reason(rule: AlarmRule, window: list[_Point], words: str, counted: tuple[int, int], state: str) -> str:
    breaching, fills = counted
    filled = ""
    if fills:
        kind = "Breaching" if rule.treat_missing_data == "breaching" else "NonBreaching"
        filled = f"{fills} missing datapoint{'s were' if fills > 1 else ' was'} treated as [{kind}]."
    if not window:
        return f"Threshold Crossed: no datapoints were received for {fills} period{'s' if fills > 1 else ''} and {filled}"
    needed = rule.datapoints_to_alarm
    minimum = f"(minimum {needed} datapoint{'s' if needed > 1 else ''} for OK -> ALARM transition)"
    counted_here, negation = (breaching, "") if state == "ALARM" else (len(window) + fills - breaching, "not ")
    text = (
        f"Threshold Crossed: {counted_here} out of the last {len(window) + fills} datapoints {_listed(window)} "
        f"{'was' if counted_here == 1 else 'were'} {negation}{words} the threshold ({float(rule.threshold)}) {minimum}."
    )
    return f"{text} {filled}" if filled else text


def _insufficient(rule: AlarmRule, window: list[_Point], missing: int) -> str:
    unknown = max(rule.evaluation_periods - len(window), 0) if window else max(missing, 1)
    return f"Insufficient Data: {unknown} datapoint{'s were' if unknown > 1 else ' was'} unknown."


def _iso(value: float) -> str:
    moment = datetime.fromtimestamp(value, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _reason_data(rule: AlarmRule, window: list[_Point], at: float) -> dict[str, Any]:
    start = window[-1].start if window else math.floor(at / rule.period) * rule.period
    kind = "statistic" if rule.statistic in STATISTICS else "extendedStatistic"
    return {
        "version": "1.0",
        "queryDate": _iso(at),
        "startDate": _iso(start),
        kind: rule.statistic,
        "period": rule.period,
        "recentDatapoints": [point.value for point in window],
        "threshold": rule.threshold,
        "evaluatedDatapoints": [
            {"timestamp": _iso(point.start), "sampleCount": point.count, "value": point.value} for point in window
        ],
    }
