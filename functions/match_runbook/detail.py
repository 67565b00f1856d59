"""The parts of an event's `detail` that match_runbook reads, by the event's source.

The detail arrives as an EventBridge event from AWS (or a hand-made copy of one), and the workflow
passes it on whole; a runbook reads only these fields, each checked for its type here, so a string
where an object belongs is an error naming the field instead of a crash in the middle of matching.
Fields a runbook does not read are not checked (extra="ignore"): the event keeps them.
"""

from __future__ import annotations

from functions.shared.runtime.contract import ConfigDict, Field, Model


class Reader(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")


# CloudWatch "Alarm State Change": https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html


class AlarmState(Reader):
    value: str = "?"
    reason: str = "no reason given"


class Metric(Reader):
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)


class MetricStat(Reader):
    metric: Metric = Field(default_factory=Metric)


class MetricQuery(Reader):
    # A metric-math alarm's expressions carry no metricStat.
    metric_stat: MetricStat | None = Field(default=None, alias="metricStat")


class AlarmConfiguration(Reader):
    # A composite alarm has no metrics.
    metrics: list[MetricQuery] = Field(default_factory=list)


class AlarmDetail(Reader):
    # CloudWatch alarm names are 1 to 255 characters (PutMetricAlarm AlarmName).
    alarm_name: str = Field(alias="alarmName", min_length=1, max_length=255)
    state: AlarmState = Field(default_factory=AlarmState)
    configuration: AlarmConfiguration = Field(default_factory=AlarmConfiguration)

    def first_metric(self) -> Metric:
        """The alarm's metric (the first one returning data, for metric-math alarms)."""
        return next((query.metric_stat.metric for query in self.configuration.metrics if query.metric_stat), Metric())


# GuardDuty finding: https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-cloudwatch.html


class FindingResource(Reader):
    resource_type: str | None = Field(default=None, alias="resourceType")


class FindingDetail(Reader):
    type: str = Field(min_length=1)
    # GuardDuty's severity is a number from 0 to 10 (its levels: low, medium, high, critical):
    # https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings.html#guardduty_findings-severity
    severity: float = Field(ge=0, le=10)
    id: str = ""
    title: str = ""
    resource: FindingResource = Field(default_factory=FindingResource)
