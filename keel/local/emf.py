"""CloudWatch embedded metric format: the metric lines a handler prints become metric datapoints.

On Lambda, CloudWatch Logs reads every line of a function's log; a JSON object with an `_aws` member
is an EMF document, and each metric it declares becomes a datapoint in its namespace, once per
dimension set. The rules followed here are the specification's
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
a metric's value is the root member named after it, a number or an array of up to 100 numbers; a
dimension's value is the root member named after it, a string; Unit defaults to None. A line that
breaks a rule yields no metric (on AWS it stays a log line and CloudWatch extracts nothing): the
reason is returned, so the local cloud can say why a metric did not appear.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_VALUES = 100
MAX_DIMENSIONS = 30
NO_UNIT = "None"


@dataclass(frozen=True)
class Datapoint:
    """One metric value (or several, as EMF's arrays and PutMetricData's Values carry them)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    unit: str
    timestamp: float  # seconds since the epoch

    def as_metric_datum(self) -> dict[str, Any]:
        """The MetricData entry of a PutMetricData call."""
        return {
            "MetricName": self.name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
            "Values": list(self.values),
            "Unit": self.unit,
            "Timestamp": microseconds_down(self.timestamp),
        }


def microseconds_down(timestamp: float) -> datetime:
    """The time as a datetime, its fraction cut (not rounded) to the microsecond.

    A datetime holds microseconds; `datetime.fromtimestamp` rounds, so half of all datapoints would be
    stored up to half a microsecond after the moment they measure, and an alarm evaluated at that
    moment would not see them."""
    whole = math.floor(timestamp)
    return datetime.fromtimestamp(whole, tz=UTC).replace(microsecond=min(int((timestamp - whole) * 1_000_000), 999_999))


@dataclass(frozen=True)
class EmfProblem:
    line: str
    reason: str


class _Invalid(Exception):
    pass


def extract(log: str, timestamp: float) -> tuple[list[Datapoint], list[EmfProblem]]:
    """Every EMF document's datapoints in a log, stamped with `timestamp`, and the lines that declare
    metrics CloudWatch would not extract (with why). Lines that are not EMF documents are not looked at."""
    datapoints: list[Datapoint] = []
    problems: list[EmfProblem] = []
    for line in log.splitlines():
        document = _document(line)
        if document is None:
            continue
        try:
            datapoints += _datapoints(document, timestamp)
        except _Invalid as invalid:
            problems.append(EmfProblem(line, str(invalid)))
    return datapoints, problems


def _document(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not (text.startswith("{") and '"_aws"' in text):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) and isinstance(document.get("_aws"), dict) else None


def _datapoints(document: dict[str, Any], timestamp: float) -> list[Datapoint]:
    directives = document["_aws"].get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise _Invalid("_aws.CloudWatchMetrics must be an array")
    found = []
    for directive in directives:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str) or not directive["Namespace"]:
            raise _Invalid("each metric directive needs a Namespace (a non-empty string)")
        for dimension_set in _dimension_sets(directive):
            dimensions = tuple((name, _dimension_value(document, name)) for name in dimension_set)
            for metric in _metrics(directive):
                values = _values(document, metric["Name"])
                unit = metric.get("Unit", NO_UNIT)
                found.append(Datapoint(directive["Namespace"], metric["Name"], dimensions, values, unit, timestamp))
    return found


def _dimension_sets(directive: dict[str, Any]) -> list[list[str]]:
    sets = directive.get("Dimensions")
    if not isinstance(sets, list) or not all(isinstance(names, list) for names in sets):
        raise _Invalid("Dimensions must be an array of dimension sets (arrays of names)")
    for names in sets:
        if len(names) > MAX_DIMENSIONS or not all(isinstance(name, str) for name in names):
            raise _Invalid(f"a dimension set holds up to {MAX_DIMENSIONS} names (strings)")
    return sets or [[]]


def _metrics(directive: dict[str, Any]) -> list[dict[str, Any]]:
    metrics = directive.get("Metrics")
    named = isinstance(metrics, list) and all(isinstance(item, dict) and isinstance(item.get("Name"), str) for item in metrics)
    if not named:
        raise _Invalid("Metrics must be an array of metric definitions with a Name")
    return list(metrics or [])


def _dimension_value(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise _Invalid(f"dimension {name!r} has no string value at the document's root")
    return value


def _values(document: dict[str, Any], name: str) -> tuple[float, ...]:
    value = document.get(name)
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES:
        raise _Invalid(f"metric {name!r} needs 1 to {MAX_VALUES} values")
    numbers = [float(item) for item in values if isinstance(item, int | float) and not isinstance(item, bool)]
    if len(numbers) != len(values) or not all(math.isfinite(number) for number in numbers):
        raise _Invalid(f"metric {name!r} has no numeric value at the document's root")
    return tuple(numbers)
