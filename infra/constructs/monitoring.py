"""Alarms that page the owning team, and a dashboard per automation.

Built on cdk-monitoring-constructs: its MonitoringFacade gives the step function / queue / Lambda
alarms we need with consistent naming and a dashboard for free, and its alarm defaults route every
alarm to one SNS action. Two things it has no preset for are written by hand below: the dead man's
switch on a heartbeat metric (missing data must breach) and a manifest's own metric alarms (`alarms:`,
any statistic and comparison on a metric its functions emit). The automation's own function
instances are on the same facade: their errors and throttles page the automation's on-call.

`slo.anomaly` adds CloudWatch anomaly-detection alarms (the library has no preset for a band on a math
expression): the executions' average duration and their failure rate, each compared with the band
its own history predicts (`ANOMALY_DETECTION_BAND(m, band_width)`, ThresholdMetricId, above the upper
threshold pages). CloudWatch takes "anomaly detection alarms on single metrics and the outputs of
metric math expressions" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html)
and trains the model itself from the metric's past when the alarm is created, so no
AWS::CloudWatch::AnomalyDetector is declared.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    DefaultDashboardFactory,
    DurationThreshold,
    ErrorCountThreshold,
    ErrorRateThreshold,
    MaxMessageCountThreshold,
    MonitoringFacade,
    SnsAlarmActionStrategy,
)
from constructs import Construct

from infra import names
from infra.config import Environment
from infra.constructs.automation import AutomationResources
from infra.constructs.function import METRICS_NAMESPACE, KeelFunction
from infra.manifest import Anomaly, MetricAlarm


@dataclass(frozen=True)
class AutomationMonitoringProps:
    resources: AutomationResources
    functions: list[KeelFunction]
    environment: Environment
    topic: sns.ITopic


class AutomationMonitoring(Construct):
    """Alarms to the owner's on-call topic and the automation's dashboard; `alarms` is exposed."""

    def __init__(self, scope: Construct, construct_id: str, props: AutomationMonitoringProps) -> None:
        super().__init__(scope, construct_id)
        manifest = props.resources.automation.manifest
        env = props.environment
        thresholds = env.alarms
        prefix = names.state_machine(env.name, manifest.name)
        self.prefix = prefix
        period = Duration.minutes(thresholds.period_minutes)
        self.facade = MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=prefix,
                action=SnsAlarmActionStrategy(on_alarm_topic=props.topic),
                evaluation_periods=thresholds.evaluation_periods,
                datapoints_to_alarm=thresholds.evaluation_periods,
            ),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=prefix,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        count = {"Critical": ErrorCountThreshold(max_error_count=thresholds.failed_executions - 1, period=period)}
        self.facade.monitor_step_function(
            state_machine=props.resources.state_machine,
            alarm_friendly_name=manifest.name,
            human_readable_name=f"{manifest.name} ({env.name})",
            add_failed_execution_count_alarm=count,
            add_timed_out_execution_count_alarm={"Critical": ErrorCountThreshold(max_error_count=0, period=period)},
            add_throttled_execution_count_alarm={"Critical": ErrorCountThreshold(max_error_count=0, period=period)},
            add_aborted_execution_count_alarm={"Critical": ErrorCountThreshold(max_error_count=0, period=period)},
            add_failed_execution_rate_alarm={
                "Warning": ErrorRateThreshold(
                    max_error_rate=round(1 - manifest.slo.success_rate_percent / 100, 6), period=Duration.hours(1)
                )
            },
            add_duration_p90_alarm={
                "Warning": DurationThreshold(
                    max_duration=Duration.millis(int(manifest.slo.p90_duration_seconds * 1000)), period=period
                )
            },
        )
        self.facade.monitor_sqs_queue(
            queue=props.resources.dead_letter_queue,
            alarm_friendly_name=f"{manifest.name}-dlq",
            human_readable_name=f"{manifest.name} dead letters",
            add_queue_max_size_alarm={"Critical": MaxMessageCountThreshold(max_message_count=thresholds.dlq_messages - 1)},
        )
        for function in props.functions:
            # The automation's own instances: their errors and throttles page its on-call.
            self.facade.monitor_lambda_function(
                lambda_function=function.function,
                alarm_friendly_name=f"fn-{function.spec.module}",
                human_readable_name=f"{function.spec.module} ({manifest.name})",
                add_fault_count_alarm={
                    "Critical": ErrorCountThreshold(max_error_count=thresholds.lambda_errors - 1, period=period)
                },
                add_throttles_count_alarm={
                    "Critical": ErrorCountThreshold(max_error_count=thresholds.lambda_throttles - 1, period=period)
                },
            )
        self.heartbeat_alarm = self._heartbeat_alarm(props, prefix)
        for name, queue in props.resources.queues.items():
            # The consumers' side of the automation's own queues: a message they cannot process pages the owner.
            self.facade.monitor_sqs_queue_with_dlq(
                queue=queue,
                dead_letter_queue=props.resources.queue_dead_letters[name],
                alarm_friendly_name=f"{manifest.name}-{name}",
                human_readable_name=f"{manifest.name} queue {name}",
                add_dead_letter_queue_max_size_alarm={
                    "Critical": MaxMessageCountThreshold(max_message_count=thresholds.dlq_messages - 1)
                },
            )
        self.metric_alarms = [self._metric_alarm(props, prefix, alarm) for alarm in manifest.alarms]
        anomaly = manifest.slo.anomaly
        self.anomaly_alarms = [] if anomaly is None else [self._anomaly_alarm(props, anomaly, kind) for kind in anomaly.metrics]

    def rollout_alarm_names(self) -> list[str]:
        """The alarms a rollout watches: the state machine's executions, its dead letters, the manifest's
        own. Not the functions' (Lambda counts a function's errors over every version, a candidate's
        shadow run included; a version's failing task fails its execution anyway), nor the heartbeat
        (its silence says the platform is down, not that a version misbehaves)."""
        functions = f"{self.prefix}-fn-"
        created = [annotated.alarm.alarm_name for annotated in self.facade.created_alarms()]
        return [name for name in created if not name.startswith(functions)] + [alarm.alarm_name for alarm in self.metric_alarms]

    def _heartbeat_alarm(self, props: AutomationMonitoringProps, prefix: str) -> cloudwatch.Alarm | None:
        heartbeat = props.resources.automation.manifest.slo.heartbeat
        if heartbeat is None:
            return None
        metric = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=heartbeat.metric,
            dimensions_map=keel_dimensions(heartbeat.function, props.environment.name, props.resources.automation.name),
            statistic="Sum",
            period=Duration.minutes(heartbeat.max_silence_minutes),
        )
        alarm = cloudwatch.Alarm(
            self,
            "MissingHeartbeat",
            alarm_name=f"{prefix}-missing-heartbeat",
            alarm_description=(
                f"No {heartbeat.metric} from {heartbeat.function} for {heartbeat.max_silence_minutes} minutes: "
                "the Keel platform may be down (schedule, Step Functions, Lambda or metrics pipeline)."
            ),
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(props.topic))
        self.facade.add_widget(cloudwatch.AlarmWidget(alarm=alarm, title="Heartbeat", width=12))
        return alarm

    def _metric_alarm(self, props: AutomationMonitoringProps, prefix: str, alarm: MetricAlarm) -> cloudwatch.Alarm:
        """A manifest `alarms:` entry: a metric one of the automation's functions emits, to the owner's topic."""
        metric = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=alarm.metric,
            dimensions_map=keel_dimensions(alarm.function, props.environment.name, props.resources.automation.name),
            statistic=alarm.statistic,
            period=Duration.minutes(alarm.period_minutes),
        )
        created = cloudwatch.Alarm(
            self,
            f"Metric-{alarm.name}",
            alarm_name=f"{prefix}-{alarm.name}",
            alarm_description=f"{alarm.description} ({alarm.metric} {alarm.statistic} from {alarm.function})",
            metric=metric,
            threshold=alarm.threshold,
            comparison_operator=COMPARISONS[alarm.comparison],
            evaluation_periods=alarm.evaluation_periods,
            datapoints_to_alarm=alarm.evaluation_periods,
            treat_missing_data=MISSING_DATA[alarm.missing_data],
        )
        created.add_alarm_action(cw_actions.SnsAction(props.topic))
        self.facade.add_widget(cloudwatch.AlarmWidget(alarm=created, title=f"{alarm.metric} ({alarm.statistic})", width=8))
        return created

    def _anomaly_alarm(self, props: AutomationMonitoringProps, anomaly: Anomaly, kind: str) -> cloudwatch.AnomalyDetectionAlarm:
        """An execution duration or failure rate above the band the automation's own past predicts."""
        manifest = props.resources.automation.manifest
        period = Duration.minutes(anomaly.period_minutes)
        machine = props.resources.state_machine
        if kind == "duration":
            # Step Functions' advice for time interval metrics is the average
            # (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html). The metrics
            # carry the state machine's unqualified ARN (dimension StateMachineArn), as the other execution
            # alarms read them; a shadow candidate runs on a state machine of its own and is not counted.
            metric: cloudwatch.IMetric = machine.metric("ExecutionTime", statistic="Average", period=period)
            what = f"the average duration of {manifest.name}'s executions"
        else:
            metric = cloudwatch.MathExpression(
                # No execution failed in a period: Step Functions may publish nothing, which is 0 failures.
                expression="100 * FILL(failed, 0) / started",
                using_metrics={
                    "failed": machine.metric_failed(statistic="Sum", period=period),
                    "started": machine.metric_started(statistic="Sum", period=period),
                },
                label="failed executions (% of started)",
                period=period,
            )
            what = f"the share of {manifest.name}'s executions that fail"
        alarm = cloudwatch.AnomalyDetectionAlarm(
            self,
            f"Anomaly-{kind}",
            alarm_name=f"{self.prefix}-anomaly-{kind.replace('_', '-')}",
            alarm_description=(
                f"Expected: {what} stays within {anomaly.band_width:g} standard deviations of what CloudWatch's "
                f"anomaly model learned from its own past ({anomaly.period_minutes}-minute periods). It rose above "
                f"that band for {anomaly.evaluation_periods} period(s): compare recent executions with earlier ones "
                f"(keel ops executions {manifest.name})."
            ),
            metric=metric,
            std_devs=anomaly.band_width,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            evaluation_periods=anomaly.evaluation_periods,
            datapoints_to_alarm=anomaly.evaluation_periods,
            # A period without executions is not an anomaly.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(props.topic))
        self.facade.add_widget(cloudwatch.AlarmWidget(alarm=alarm, title=f"Anomaly: {kind.replace('_', ' ')}", width=8))
        return alarm


def keel_dimensions(module: str, environment: str, automation: str) -> dict[str, str]:
    """The dimensions of a metric a function emits through Powertools (functions/shared/runtime/handler.py)."""
    return {"service": module, "environment": environment, "automation": automation}


COMPARISONS = {
    "less_than": cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    "less_than_or_equal": cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    "greater_than": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    "greater_than_or_equal": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
}
MISSING_DATA = {
    "missing": cloudwatch.TreatMissingData.MISSING,
    "not_breaching": cloudwatch.TreatMissingData.NOT_BREACHING,
    "breaching": cloudwatch.TreatMissingData.BREACHING,
    "ignore": cloudwatch.TreatMissingData.IGNORE,
}
