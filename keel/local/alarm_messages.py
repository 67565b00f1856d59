"""The notification CloudWatch publishes to an alarm's SNS actions when the alarm changes state.

Subject `ALARM: "<alarm name>" in <region name>`, and a JSON message with the alarm's name,
description, account, new and old state, the reason, the time of the change, the region, the alarm's
ARN and actions, and a Trigger describing what it watches: the single metric's name, namespace,
statistic, unit, dimensions and period, or its metric queries (`Metrics`), with the evaluation
settings. The shape is the one CloudWatch sends to SNS subscribers (see "Amazon SNS notifications"
in https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html);
an SNS subject holds at most 100 characters
(https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), so a long alarm name is cut there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from keel.local.alarm_evaluation import STATISTICS
from keel.local.alarm_model import AlarmDefinition

SUBJECT_LIMIT = 100


@cache
def region_name(region: str) -> str:
    """The region's name as AWS writes it (eu-west-1 -> Europe (Ireland)), from botocore's endpoint data."""
    import botocore.session

    for partition in botocore.session.get_session().get_data("endpoints")["partitions"]:
        described = partition["regions"].get(region)
        if described is not None:
            return str(described.get("description", region))
    return region


def subject(state: str, alarm: str, region: str) -> str:
    text = f'{state}: "{alarm}" in {region_name(region)}'
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def _time(value: float) -> str:
    moment = datetime.fromtimestamp(value, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def trigger(alarm: AlarmDefinition) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.low_sample_count or "",
    }
    if alarm.queries:
        settings.pop("Period")
        return {**settings, "Metrics": [query.as_message() for query in alarm.queries]}
    namespace, name, dimensions = alarm.metric or ("", "", ())
    statistic = alarm.statistic or ""
    extended = statistic not in STATISTICS
    return {
        "MetricName": name,
        "Namespace": namespace,
        "StatisticType": "ExtendedStatistic" if extended else "Statistic",
        "Statistic" if not extended else "ExtendedStatistic": statistic if extended else statistic.upper(),
        "Unit": alarm.unit,
        "Dimensions": [{"value": value, "name": key} for key, value in dimensions],
        **settings,
    }


def message(alarm: AlarmDefinition, change: tuple[str, str], reason: str, at: float) -> dict[str, Any]:
    """The JSON document CloudWatch publishes for a change from change[0] to change[1] at `at`."""
    old, new = change
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": alarm.account,
        "AlarmConfigurationUpdatedTimestamp": _time(alarm.updated),
        "NewStateValue": new,
        "NewStateReason": reason,
        "StateChangeTime": _time(at),
        "Region": region_name(alarm.region),
        "AlarmArn": alarm.arn,
        "OldStateValue": old,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": trigger(alarm),
    }


def notification(alarm: AlarmDefinition, change: tuple[str, str], reason: str, at: float) -> tuple[str, str]:
    """(subject, message) of the SNS notification."""
    return subject(change[1], alarm.name, alarm.region), json.dumps(message(alarm, change, reason, at))
