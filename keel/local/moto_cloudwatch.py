"""Reading and writing moto's CloudWatch, CloudWatch Logs and SQS state for the local cloud's observability.
Written against moto==5.2.5 (pinned exactly), like keel/local/moto_patches.py, which checks these points.

Why the backends and not the API: metrics and log events carry the local cloud's virtual time, which
may run ahead of the real clock (moto's PutLogEvents refuses events more than two hours ahead of it);
and the alarm evaluation reads every datapoint often, which the API's serializer would make slow.
Callers hold moto_patches.REQUESTS, as every request does.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from keel.local.alarm_evaluation import MetricKey, Sample, metric_key
from keel.local.alarm_model import AlarmDefinition, MetricQuery
from keel.local.emf import Datapoint
from keel.local.errors import LocalCloudError

CLOUDWATCH_BACKENDS = ("moto.cloudwatch.models", "cloudwatch_backends")
AGGREGATED_DATUM = ("moto.cloudwatch.models", "MetricAggregatedDatum")
LOGS_BACKENDS = ("moto.logs.models", "logs_backends")
SQS_BACKENDS = ("moto.sqs.models", "sqs_backends")
CLOUDWATCH_RESPONSE = ("moto.cloudwatch.responses", "CloudWatchResponse")
ACTION_RESULT = ("moto.core.responses", "ActionResult")
STATISTICS = ("moto.cloudwatch.models", "Statistics")
MOTO = "5.2.5"
POINTS = (CLOUDWATCH_BACKENDS, AGGREGATED_DATUM, LOGS_BACKENDS, SQS_BACKENDS, CLOUDWATCH_RESPONSE, ACTION_RESULT, STATISTICS)
PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")


def resolve(point: tuple[str, str]) -> Any:
    module, name = point
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise LocalCloudError(
            f"moto patch point {module}.{name} is gone (Keel's local cloud is written for moto {MOTO})"
        ) from error


def with_percentiles(original: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """moto's GetMetricData answers Sum, Average, Minimum, Maximum and SampleCount only (None for pNN):
    percentiles (p50, p90, p99.9) as the nearest rank of the period's raw values, as the local alarm
    evaluation computes them (CloudWatch's are estimates from its own sketches)."""

    def get_statistics_for_type(statistics: Any, stat: str) -> Any:
        match = PERCENTILE.fullmatch(stat)
        if match is None:
            return original(statistics, stat)
        values = sorted(statistics.metric_single_values_list)
        if not values:
            return None
        return values[max(1, math.ceil(float(match[1]) / 100 * len(values))) - 1]

    return get_statistics_for_type


def _cloudwatch(account: str, region: str) -> Any:
    return resolve(CLOUDWATCH_BACKENDS)[account][region]


def epoch(value: datetime) -> float:
    """moto keeps UTC times naive or aware, depending on who made them."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def put_metric_data(account: str, region: str, datapoints: list[Datapoint]) -> None:
    """PutMetricData, one call per namespace, as a client would send it."""
    backend = _cloudwatch(account, region)
    namespaces: dict[str, list[dict[str, Any]]] = {}
    for point in datapoints:
        datum = point.as_metric_datum()
        # As moto stores a timestamp it parsed from a request: naive UTC, so GetMetricData can compare it.
        datum["Timestamp"] = datum["Timestamp"].astimezone(UTC).replace(tzinfo=None)
        namespaces.setdefault(point.namespace, []).append(datum)
    for namespace, data in namespaces.items():
        backend.put_metric_data(namespace, data)


def metric_samples(account: str, region: str, cursor: int) -> tuple[list[tuple[MetricKey, Sample]], int]:
    """The datapoints put since `cursor` (moto only appends them), and the new cursor."""
    data = _cloudwatch(account, region).metric_data
    aggregated = resolve(AGGREGATED_DATUM)
    found = []
    for datum in data[cursor:]:
        key = metric_key(datum.namespace, datum.name, [(dimension.name, dimension.value) for dimension in datum.dimensions])
        unit = None if datum.unit is None else str(datum.unit)
        at = epoch(datum.timestamp)
        if isinstance(datum, aggregated):
            statistics = (float(datum.sum), float(datum.min), float(datum.max), float(datum.sample_count))
            sample = Sample(at, aggregate=statistics, unit=unit)
        else:
            sample = Sample(at, values=(float(datum.value),), unit=unit)
        found.append((key, sample))
    return found, len(data)


def _query(query: Any) -> MetricQuery:
    stat = query.metric_stat
    metric = None
    if stat is not None:
        metric = metric_key(stat.metric.namespace, stat.metric.metric_name, [(d.name, d.value) for d in stat.metric.dimensions])
    return MetricQuery(
        id=str(query.id),
        return_data=query.return_data is None or str(query.return_data).lower() == "true",
        label=query.label,
        expression=query.expression,
        metric=metric,
        period=None if stat is None or stat.period is None else int(stat.period),
        stat=None if stat is None else stat.stat,
        unit=None if stat is None else stat.unit,
    )


def _definition(alarm: Any, account: str) -> AlarmDefinition:
    metric = None
    if alarm.metric_name:
        metric = metric_key(alarm.namespace, alarm.metric_name, [(d.name, d.value) for d in alarm.dimensions])
    return AlarmDefinition(
        name=alarm.name,
        arn=alarm.alarm_arn,
        account=account,
        region=alarm.region_name,
        state=alarm.state_value,
        comparison=str(alarm.comparison_operator),
        evaluation_periods=int(alarm.evaluation_periods or 0),
        threshold=None if alarm.threshold is None else float(alarm.threshold),
        description=alarm.description,
        datapoints_to_alarm=None if alarm.datapoints_to_alarm is None else int(alarm.datapoints_to_alarm),
        treat_missing_data=alarm.treat_missing_data,
        low_sample_count=alarm.evaluate_low_sample_count_percentile,
        actions_enabled=bool(alarm.actions_enabled),
        alarm_actions=tuple(alarm.alarm_actions or ()),
        ok_actions=tuple(alarm.ok_actions or ()),
        insufficient_data_actions=tuple(alarm.insufficient_data_actions or ()),
        updated=epoch(alarm.configuration_updated_timestamp),
        metric=metric,
        statistic=alarm.extended_statistic or alarm.statistic,
        period=None if alarm.period is None else int(alarm.period),
        unit=alarm.unit,
        queries=tuple(_query(query) for query in alarm.metric_data_queries),
        threshold_metric_id=alarm.threshold_metric_id,
        composite=alarm.rule is not None,
    )


def alarm_definitions(account: str, region: str) -> list[AlarmDefinition]:
    return [_definition(alarm, account) for alarm in list(_cloudwatch(account, region).alarms.values())]


def set_alarm_state(account: str, region: str, name: str, change: tuple[str, str, str], at: float) -> None:
    """The alarm's state, reason and reason data (JSON) as DescribeAlarms shows them, changed at `at`."""
    alarm = _cloudwatch(account, region).alarms.get(name)
    if alarm is None:  # deleted meanwhile
        return
    alarm.state_value, alarm.state_reason, alarm.state_reason_data = change
    alarm.state_updated_timestamp = datetime.fromtimestamp(at, tz=UTC).replace(tzinfo=None)


def queue_depths(account: str, region: str) -> dict[str, int]:
    """Queue name -> the messages visible now (ApproximateNumberOfMessagesVisible)."""
    backend = resolve(SQS_BACKENDS)[account][region]
    return {name: int(queue.approximate_number_of_messages) for name, queue in list(backend.queues.items())}


def put_log_events(account: str, region: str, where: tuple[str, str], events: list[tuple[int, str]]) -> bool:
    """Append events (milliseconds since the epoch, message) to a stream of a log group, creating the
    stream; False when the log group does not exist."""
    group_name, stream = where
    group = resolve(LOGS_BACKENDS)[account][region].groups.get(group_name)
    if group is None:
        return False
    if stream not in group.streams:
        group.create_log_stream(stream)
    ordered = sorted(events, key=lambda event: event[0])
    group.put_log_events(stream, [{"timestamp": timestamp, "message": text} for timestamp, text in ordered])
    return True


def history_result(items: list[dict[str, Any]]) -> Any:
    """A DescribeAlarmHistory answer, serialized by moto like any other action's."""
    return resolve(ACTION_RESULT)({"AlarmHistoryItems": items})
