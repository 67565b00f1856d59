"""Anomaly detection alarms as the local cloud evaluates them: a rolling baseline, not CloudWatch's model.

On AWS an alarm whose ThresholdMetricId names `ANOMALY_DETECTION_BAND(m, width)` compares the series
`m` (a metric, or a metric math expression) with the band of expected values CloudWatch's anomaly
detection model predicts for each period. The model is CloudWatch's own: it "analyzes past metric
data", trains on up to two weeks of it, and takes "the typical hourly, daily, and weekly patterns in
the metric" into account; a wider `width` gives a thicker band
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Anomaly_Detection.html).
Its algorithm is not published, so the local cloud approximates it:

- the series is computed per period as CloudWatch's metric math would: each metric query's statistic
  over the period (alarm_evaluation.statistic), then the expressions Keel synthesizes (numbers, the
  queries' ids, + - * /, parentheses and FILL(id, value)); a division by zero gives no datapoint;
- the band for a period is the mean of the series' datapoints in the TRAINING_DAYS before that period
  ± width x their standard deviation (population), the deviation taken as at least
  RELATIVE_FLOOR of the mean, so that a perfectly steady history does not page on noise (CloudWatch's
  band is never zero-wide either);
- with fewer than MIN_TRAINING_POINTS earlier datapoints the model is still training and the alarm
  stays INSUFFICIENT_DATA, as a new CloudWatch model needs data before it predicts;
- the evaluation itself (the most recent Evaluation Periods datapoints, Datapoints to Alarm,
  TreatMissingData) follows alarm_evaluation's rules, with the band in place of a threshold.

What differs from CloudWatch: no seasonality (a metric that is always slower on Monday mornings pages
on Monday mornings here and would not on AWS once the model has learned the week), no trend, a fixed
count of datapoints rather than CloudWatch's training period before the first prediction, every
earlier datapoint of the window weighted the same (an anomaly that lasts becomes the new normal as
it enters the baseline, which CloudWatch's model also does, at its own pace), and no excluded time
ranges. The reason an alarm gives names the value and the band it was compared with, so a page says
what was expected.
"""

from __future__ import annotations

import ast
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keel.local.alarm_evaluation import MetricKey, Sample, Verdict, statistic

TRAINING_DAYS = 14
MIN_TRAINING_POINTS = 5
RELATIVE_FLOOR = 0.05
# CloudWatch's default width when ANOMALY_DETECTION_BAND names none.
DEFAULT_WIDTH = 2.0
BAND = re.compile(r"^\s*ANOMALY_DETECTION_BAND\(\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:,\s*([0-9]+(?:\.[0-9]+)?)\s*)?\)\s*$")
ABOVE, BELOW = "above", "below"
SIDES = {
    "GreaterThanUpperThreshold": (ABOVE,),
    "LessThanLowerThreshold": (BELOW,),
    "LessThanLowerOrGreaterThanUpperThreshold": (ABOVE, BELOW),
}
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
# How a value of the series reads in a page: Step Functions' durations are milliseconds.
SECONDS_UNITS = {"Milliseconds": 1000.0}

SamplesFor = Callable[[MetricKey, float, float], list[Sample]]


class ExpressionError(ValueError):
    """A metric math expression the local cloud does not evaluate."""


@dataclass(frozen=True)
class SeriesInput:
    """A metric query of the alarm: its id, metric, statistic and period."""

    id: str
    metric: MetricKey
    stat: str
    period: int
    unit: str | None = None


@dataclass(frozen=True)
class AnomalyRule:
    name: str
    inputs: tuple[SeriesInput, ...]
    expressions: tuple[tuple[str, str], ...]  # (id, expression), the band's excluded
    target: str  # the id of the series the band is on
    width: float
    period: int
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str = "missing"
    # How the reason names the series: "ExecutionTime Average", or an expression's label.
    label: str = ""

    @property
    def metrics(self) -> frozenset[MetricKey]:
        return frozenset(query.metric for query in self.inputs)


@dataclass(frozen=True)
class Band:
    lower: float
    upper: float
    mean: float
    deviation: float
    points: int


# --- The rule, from an alarm's metric queries --------------------------------------------------------


def anomaly_rule(name: str, queries: tuple[Any, ...], settings: dict[str, Any]) -> AnomalyRule | str:
    """The rule for an alarm whose ThresholdMetricId is `settings["threshold_metric_id"]`, or why it
    cannot be evaluated locally. `queries` are alarm_model.MetricQuery."""
    band_query = next((query for query in queries if query.id == settings["threshold_metric_id"]), None)
    match = BAND.match(band_query.expression or "") if band_query is not None else None
    if match is None:
        return "ThresholdMetricId must name an ANOMALY_DETECTION_BAND(id, width) expression"
    target, width = match.group(1), float(match.group(2) or DEFAULT_WIDTH)
    inputs = tuple(
        SeriesInput(query.id, query.metric, query.stat, int(query.period), query.unit)
        for query in queries
        if query.metric is not None and query.stat and query.period
    )
    expressions = tuple((q.id, q.expression) for q in queries if q.expression is not None and q is not band_query)
    problem = _settings_problem(settings) or _series_problem(target, inputs, expressions)
    if problem is not None:
        return problem
    return AnomalyRule(
        name=name,
        inputs=inputs,
        expressions=expressions,
        target=target,
        width=width,
        period=inputs[0].period,
        comparison=settings["comparison"],
        evaluation_periods=settings["evaluation_periods"],
        datapoints_to_alarm=settings["datapoints_to_alarm"] or settings["evaluation_periods"],
        treat_missing_data=settings["treat_missing_data"],
        label=_label(target, queries),
    )


def _settings_problem(settings: dict[str, Any]) -> str | None:
    if settings["comparison"] not in SIDES:
        return f"comparison {settings['comparison']} is not an anomaly detection comparison"
    if settings["treat_missing_data"] not in TREATMENTS:
        return f"TreatMissingData {settings['treat_missing_data']}"
    return None


def _series_problem(target: str, inputs: tuple[SeriesInput, ...], expressions: tuple[tuple[str, str], ...]) -> str | None:
    known = {query.id for query in inputs} | {identifier for identifier, _ in expressions}
    if target not in known or not inputs:
        return f"ANOMALY_DETECTION_BAND names '{target}', which is no metric or expression of the alarm"
    try:
        for _identifier, expression in expressions:
            _check(ast.parse(expression, mode="eval").body, known)
    except (SyntaxError, ExpressionError) as error:
        return f"metric math not evaluated locally: {error}"
    if len({query.period for query in inputs}) != 1:
        return "the alarm's metrics must share one period"
    return None


def _label(target: str, queries: tuple[Any, ...]) -> str:
    for query in queries:
        if query.id == target:
            return str(query.label) if query.label else f"{query.metric[1]} {query.stat}" if query.metric else target
    return target


def _check(node: ast.expr, known: set[str]) -> None:
    """Only what Keel synthesizes: numbers, ids, + - * /, parentheses, FILL(id, number)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return
    if isinstance(node, ast.Name):
        if node.id not in known:
            raise ExpressionError(f"'{node.id}' is no id of the alarm's metrics")
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        _check(node.left, known)
        _check(node.right, known)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check(node.operand, known)
        return
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "FILL" and len(node.args) == 2:
        _check(node.args[0], known)
        if not isinstance(node.args[1], ast.Constant):
            raise ExpressionError("FILL takes an id and a number")
        return
    raise ExpressionError(f"'{ast.unparse(node)}' (evaluated locally: numbers, ids, + - * /, FILL(id, number))")


ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float | None]] = {
    ast.Add: lambda left, right: left + right,
    ast.Sub: lambda left, right: left - right,
    ast.Mult: lambda left, right: left * right,
    ast.Div: lambda left, right: None if right == 0 else left / right,
}


def _value(node: ast.expr, values: dict[str, float | None]) -> float | None:
    """An expression checked by _check, for one period; None: no datapoint."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values.get(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, values)
        return None if operand is None else -operand
    if isinstance(node, ast.Call):
        filled = _value(node.args[0], values)
        return filled if filled is not None else _value(node.args[1], values)
    assert isinstance(node, ast.BinOp)
    left, right = _value(node.left, values), _value(node.right, values)
    return None if left is None or right is None else ARITHMETIC[type(node.op)](left, right)


# --- Evaluation --------------------------------------------------------------------------------------


def series(rule: AnomalyRule, samples_for: SamplesFor, start: float, end: float) -> tuple[dict[float, float], str | None]:
    """The target series' datapoints for the periods starting from `start` to `end` (period start -> value),
    and its unit when it is one metric's."""
    period = rule.period
    first = math.floor(start / period) * period
    buckets: dict[str, dict[float, list[Sample]]] = {}
    for query in rule.inputs:
        per_period = buckets.setdefault(query.id, {})
        for sample in samples_for(query.metric, first, end):
            if query.unit is None or sample.unit == query.unit:
                per_period.setdefault(math.floor(sample.timestamp / period) * period, []).append(sample)
    parsed = [(identifier, ast.parse(expression, mode="eval").body) for identifier, expression in rule.expressions]
    starts = sorted({moment for per_period in buckets.values() for moment in per_period})
    found: dict[float, float] = {}
    target = buckets.get(rule.target, {})
    unit = next((sample.unit for samples in target.values() for sample in samples), None)
    for moment in starts:
        values: dict[str, float | None] = {
            query.id: statistic(query.stat, buckets[query.id][moment]) if moment in buckets[query.id] else None
            for query in rule.inputs
        }
        for identifier, node in parsed:
            values[identifier] = _value(node, values)
        value = values.get(rule.target)
        if value is not None:
            found[moment] = value
    return found, unit


def band(history: list[float], width: float) -> Band:
    mean = statistics.fmean(history)
    deviation = max(statistics.pstdev(history), RELATIVE_FLOOR * abs(mean))
    return Band(mean - width * deviation, mean + width * deviation, mean, deviation, len(history))


@dataclass(frozen=True)
class _Judged:
    start: float
    value: float
    band: Band
    side: str | None  # ABOVE / BELOW when it breaches


def evaluate_anomaly(rule: AnomalyRule, samples_for: SamplesFor, at: float, since: float) -> Verdict | None:
    """The alarm's state at `at` for an alarm that exists since `since`; None: it keeps its state."""
    period = rule.period
    training = TRAINING_DAYS * 86400
    current = math.floor(at / period) * period
    span = period * (rule.evaluation_periods + 2)
    values, unit = series(rule, samples_for, current - span - training, at)
    latest = current if current in values else current - period
    starts = [latest - index * period for index in range(rule.evaluation_periods + 2)]
    recent = [start for start in starts if start in values][: rule.evaluation_periods]
    judged = []
    for start in recent:
        history = [value for moment, value in values.items() if start - training <= moment < start]
        if len(history) < MIN_TRAINING_POINTS:
            reason = (
                f"Insufficient Data: the anomaly detection model of {rule.label} is still training "
                f"({len(history)} of the {MIN_TRAINING_POINTS} earlier datapoints it needs)."
            )
            return Verdict("INSUFFICIENT_DATA", reason, {"version": "1.0", "trainingDatapoints": len(history)})
        judged.append(_judge(rule, start, values[start], band(history, rule.width)))
    missing = [start for start in starts if start + period <= at and start >= since and start not in values]
    return _decide(_Reading(rule, unit), judged, len(missing), at)


def _judge(rule: AnomalyRule, start: float, value: float, expected: Band) -> _Judged:
    sides = SIDES[rule.comparison]
    side = ABOVE if ABOVE in sides and value > expected.upper else BELOW if BELOW in sides and value < expected.lower else None
    return _Judged(start, value, expected, side)


@dataclass(frozen=True)
class _Reading:
    """The rule, and the unit its series' samples carry (what a page shows values in)."""

    rule: AnomalyRule
    unit: str | None

    def _number(self, value: float) -> tuple[str, str]:
        """Seconds for durations, % for a rate (an expression labelled with %), else the number as it is."""
        divisor = SECONDS_UNITS.get(self.unit or "")
        if divisor is not None:
            return f"{value / divisor:.1f}", " s"
        return (f"{value:.1f}", " %") if "%" in self.rule.label else (f"{value:.4g}", "")

    def shown(self, value: float) -> str:
        return "".join(self._number(value))

    def band(self, expected: Band) -> str:
        (low, _), (high, unit) = self._number(expected.lower), self._number(expected.upper)
        return f"{low}-{high}{unit}"


def _decide(reading: _Reading, judged: list[_Judged], missing: int, at: float) -> Verdict | None:
    rule = reading.rule
    treatment = rule.treat_missing_data
    needed = rule.evaluation_periods
    fills = min(needed - len(judged), missing)
    if len(judged) < needed and treatment in ("missing", "ignore"):
        if not judged:
            if treatment == "ignore" or not missing:
                return None
            return Verdict("INSUFFICIENT_DATA", f"Insufficient Data: {missing} datapoint(s) of {rule.label} unknown.")
        fills = 0
    if len(judged) + fills == 0:
        return None
    breaching = sum(1 for point in judged if point.side is not None) + (fills if treatment == "breaching" else 0)
    state = "ALARM" if breaching >= rule.datapoints_to_alarm else "OK"
    return Verdict(state, _reason(reading, judged, (breaching, fills)), _reason_data(rule, judged, at))


def _when(start: float) -> str:
    return datetime.fromtimestamp(start, tz=UTC).strftime("%d/%m/%y %H:%M:%S")


def _reason(reading: _Reading, judged: list[_Judged], counted: tuple[int, int]) -> str:
    """What was seen against what was expected first (a page's reader needs that), then CloudWatch's count."""
    rule = reading.rule
    breaching, fills = counted
    if judged:
        latest = judged[0]
        where = {ABOVE: "above", BELOW: "below", None: "within"}[latest.side]
        story = (
            f"{rule.label} {reading.shown(latest.value)} ({_when(latest.start)}) is {where} the expected band "
            f"{reading.band(latest.band)} (mean {reading.shown(latest.band.mean)} ± {rule.width:g} standard deviations "
            f"of the {latest.band.points} earlier datapoints, keel local's rolling baseline)."
        )
    else:
        story = f"No datapoints of {rule.label}: {fills} missing period(s) treated as [{rule.treat_missing_data}]."
    needed = rule.datapoints_to_alarm
    return (
        f"{story} Thresholds Crossed: {breaching} out of the last {len(judged) + fills} datapoints "
        f"{'was' if breaching == 1 else 'were'} outside the band (minimum {needed} datapoint"
        f"{'s' if needed > 1 else ''} for OK -> ALARM transition)."
    )


def _iso(value: float) -> str:
    moment = datetime.fromtimestamp(value, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _reason_data(rule: AnomalyRule, judged: list[_Judged], at: float) -> dict[str, Any]:
    return {
        "version": "1.0",
        "queryDate": _iso(at),
        "period": rule.period,
        "recentDatapoints": [point.value for point in judged],
        "recentLowerThresholds": [point.band.lower for point in judged],
        "recentUpperThresholds": [point.band.upper for point in judged],
        "evaluatedDatapoints": [{"timestamp": _iso(point.start), "value": point.value} for point in judged],
    }
