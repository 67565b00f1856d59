"""A CloudWatch alarm as the local cloud reads it from the cloud (whoever created it: the template at
deploy, or a client through the endpoint), and the rule it evaluates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keel.local.alarm_anomaly import AnomalyRule, anomaly_rule
from keel.local.alarm_evaluation import AlarmRule, MetricKey

DEFAULT_MISSING_DATA = "missing"


@dataclass(frozen=True)
class MetricQuery:
    """One entry of an alarm's Metrics: a metric with its statistic, or a math expression."""

    id: str
    return_data: bool
    label: str | None = None
    expression: str | None = None
    metric: MetricKey | None = None
    period: int | None = None
    stat: str | None = None
    unit: str | None = None

    def as_message(self) -> dict[str, Any]:
        """How an alarm notification's Trigger describes the query."""
        described: dict[str, Any] = {"Id": self.id, "ReturnData": self.return_data}
        if self.label is not None:
            described["Label"] = self.label
        if self.expression is not None:
            described["Expression"] = self.expression
        if self.metric is not None:
            namespace, name, dimensions = self.metric
            described["MetricStat"] = {
                "Metric": {
                    "Dimensions": [{"value": value, "name": key} for key, value in dimensions],
                    "MetricName": name,
                    "Namespace": namespace,
                },
                "Period": self.period,
                "Stat": self.stat,
            }
        return described


@dataclass(frozen=True)
class AlarmDefinition:
    name: str
    arn: str
    account: str
    region: str
    state: str
    comparison: str
    evaluation_periods: int
    threshold: float | None = None
    description: str | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    low_sample_count: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    updated: float = 0.0  # when its configuration last changed (seconds since the epoch)
    # The single-metric form (MetricName, Namespace, Dimensions, Statistic or ExtendedStatistic, Period).
    metric: MetricKey | None = None
    statistic: str | None = None
    period: int | None = None
    unit: str | None = None
    # The Metrics form (metric queries and math expressions).
    queries: tuple[MetricQuery, ...] = field(default_factory=tuple)
    threshold_metric_id: str | None = None
    composite: bool = False

    def rule(self) -> AlarmRule | AnomalyRule | str:
        """What the local cloud evaluates for this alarm, or why it does not evaluate it."""
        if self.composite:
            return "composite alarms are not evaluated locally"
        if self.threshold_metric_id is not None:
            # An anomaly detection band: keel/local/alarm_anomaly.py's rolling baseline.
            settings = {
                "threshold_metric_id": self.threshold_metric_id,
                "comparison": self.comparison,
                "evaluation_periods": self.evaluation_periods,
                "datapoints_to_alarm": self.datapoints_to_alarm,
                "treat_missing_data": self.treat_missing_data or DEFAULT_MISSING_DATA,
            }
            anomaly = anomaly_rule(self.name, self.queries, settings)
            return anomaly if isinstance(anomaly, AnomalyRule) else f"anomaly detection alarm not evaluated locally: {anomaly}"
        metric, statistic, period, unit = self.metric, self.statistic, self.period, self.unit
        if self.queries:
            if any(query.expression is not None for query in self.queries):
                return "metric math expressions are not evaluated locally"
            returned = [query for query in self.queries if query.return_data]
            if len(returned) != 1:
                return "an alarm on metric queries needs exactly one query with ReturnData"
            metric, statistic, period, unit = returned[0].metric, returned[0].stat, returned[0].period, returned[0].unit
        if metric is None or statistic is None or period is None or self.threshold is None:
            return "no metric, statistic, period or threshold to evaluate"
        rule = AlarmRule(
            name=self.name,
            metric=metric,
            statistic=statistic,
            period=int(period),
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.datapoints_to_alarm or self.evaluation_periods,
            threshold=self.threshold,
            comparison=self.comparison,
            treat_missing_data=self.treat_missing_data or DEFAULT_MISSING_DATA,
            unit=unit,
            low_sample_count=self.low_sample_count or "evaluate",
        )
        problem = rule.problem()
        return rule if problem is None else f"not evaluated locally: {problem}"

    def actions_for(self, state: str) -> tuple[str, ...]:
        if not self.actions_enabled:
            return ()
        return {"ALARM": self.alarm_actions, "OK": self.ok_actions, "INSUFFICIENT_DATA": self.insufficient_data_actions}[state]
