"""The platform dashboard of one environment: every automation, function and dead-letter queue on one page.

Plain `aws_cloudwatch` widgets, not cdk-monitoring-constructs. The library's facade monitors one
resource per `monitor_*` call and gives each its own row of widgets: the right cut for the
per-automation dashboards (monitoring.py), the wrong one here. This page asks one question per
widget across the whole environment (one line per automation, function or queue), computes a success
rate with metric math over four metrics of each state machine, and reads pending approvals with a
Logs Insights query; the facade composes none of these. Hand-written, it is a flat list of widgets,
each readable on its own, and it creates no alarms (paging stays in monitoring.py).

Pending approvals. No metric counts them. request_approval's Powertools metrics (namespace Keel,
dimensions service and environment) count requests sent (TaskSucceeded) and requests that failed,
but an answer comes from `keel ops approve|reject` (SendTaskSuccess/Failure, no Keel metric) and an
expiry happens inside Step Functions (the task's TimeoutSecondsPath), so no Keel code sees a wait
end. The state machines' execution logs see both ends: every Keel state machine logs at level ALL,
and a `.waitForTaskToken` task logs TaskScheduled, TaskStarted and TaskSubmitted while it waits, then
TaskSucceeded (approved), TaskFailed (rejected) or TaskTimedOut (expired). The Logs Insights query
below takes each execution's latest such event, or the execution's own end for one stopped while
waiting, and counts the executions whose latest event is an open one. Step Functions ends every
wait after the environment's approval timeout, so over a time range at least that long the count is
exact; the dashboard's default range covers it. It counts executions waiting, which is the number
of approvals while each workflow asks one question at a time (every Keel workflow does). The
requests-sent graph beside it is the metric request_approval already emits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import asl
from infra.constructs.automation import AutomationResources
from infra.constructs.function import METRICS_NAMESPACE, KeelFunction
from infra.constructs.platform import Platform
from infra.errors import KeelConfigError

DASHBOARD_SUFFIX = "platform"
APPROVAL_FUNCTION = "request_approval"
# Step Functions history event types (the `type` of each execution log event).
OPEN_WAIT_EVENTS = ("TaskScheduled", "TaskStarted", "TaskSubmitted")
EXECUTION_END_EVENTS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
MIN_RANGE_HOURS = 24
FULL_WIDTH = 24
PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class PlatformDashboardProps:
    platform: Platform
    automations: list[AutomationResources]
    # Every function of the environment, one per module.
    functions: list[KeelFunction]


@dataclass(frozen=True)
class DeadLetterQueue:
    label: str
    queue: sqs.IQueue


class PlatformDashboard(Construct):
    """`keel-<env>-platform`: executions, success rate, durations, DLQ depth, Lambda errors, approvals.

    Exposes `dashboard`, `dead_letter_queues` (every one the page watches) and `approval_log_groups`
    (the log groups the pending-approvals query reads).
    """

    def __init__(self, scope: Construct, construct_id: str, props: PlatformDashboardProps) -> None:
        super().__init__(scope, construct_id)
        env = props.platform.environment
        for resources in props.automations:
            if resources.automation.name == DASHBOARD_SUFFIX:
                raise KeelConfigError(
                    resources.automation.path,
                    "name",
                    f"'{DASHBOARD_SUFFIX}' is reserved: keel-{env.name}-{DASHBOARD_SUFFIX} is the platform dashboard",
                )
        self.automations = sorted(props.automations, key=lambda resources: resources.automation.name)
        self.functions = sorted(props.functions, key=lambda function: function.spec.module)
        self.dead_letter_queues = dead_letter_queues(props.platform, self.automations)
        self.approval_log_groups = [
            resources.log_group.log_group_name
            for resources in self.automations
            if asl.waits_for_task_token(resources.automation.definition)
        ]
        self.range_hours = max(MIN_RANGE_HOURS, math.ceil(env.approval.timeout_minutes / 60) + 1)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"keel-{env.name}-{DASHBOARD_SUFFIX}",
            start=f"-PT{self.range_hours}H",
        )
        self.dashboard.add_widgets(self._header(env.name, env.region))
        self.dashboard.add_widgets(self._success_over_range(), *self._pending_approvals_count())
        self.dashboard.add_widgets(*self._executions())
        self.dashboard.add_widgets(self._success_rate(), *self._durations())
        self.dashboard.add_widgets(self._dead_letters())
        self.dashboard.add_widgets(*self._lambda_health())
        self.dashboard.add_widgets(*self._approvals(env.name))

    def _header(self, env: str, region: str) -> cloudwatch.IWidget:
        names = ", ".join(resources.automation.name for resources in self.automations)
        return cloudwatch.TextWidget(
            markdown=(
                f"# Keel {env}: the platform\n"
                f"{len(self.automations)} automations ({names}), {len(self.functions)} functions, "
                f"{len(self.dead_letter_queues)} dead-letter queues. Each automation has its own dashboard "
                f"(`keel-{env}-<automation>`); alarms page the owners. Pending approvals are read from the state "
                f"machines' execution logs (exact over a range of at least the approval timeout; default "
                f"{self.range_hours} h); `keel ops pending --env {env} --region {region}` lists them."
            ),
            width=FULL_WIDTH,
            height=3,
        )

    def _executions(self) -> list[cloudwatch.IWidget]:
        def graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.IWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=6)

        def each(metric: str) -> list[cloudwatch.IMetric]:
            return [_state_machine_metric(r.state_machine, metric, r.automation.name) for r in self.automations]

        return [
            graph("Executions started", each("ExecutionsStarted")),
            graph("Executions succeeded", each("ExecutionsSucceeded")),
            graph("Executions failed", each("ExecutionsFailed")),
            graph(
                "Executions timed out or aborted",
                [timed_out_or_aborted(r.state_machine, index, r.automation.name) for index, r in enumerate(self.automations)],
            ),
        ]

    def _success_rate_expressions(self) -> list[cloudwatch.IMetric]:
        return [success_rate(r.state_machine, index, r.automation.name) for index, r in enumerate(self.automations)]

    def _success_over_range(self) -> cloudwatch.IWidget:
        return cloudwatch.SingleValueWidget(
            title="Success rate over the range (%): succeeded / ended",
            metrics=self._success_rate_expressions(),
            set_period_to_time_range=True,
            width=16,
            height=4,
        )

    def _success_rate(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Success rate (%): succeeded / (succeeded + failed + timed out + aborted)",
            left=self._success_rate_expressions(),
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100, show_units=False),
            width=8,
        )

    def _durations(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{percentile} execution duration (ms)",
                left=[
                    r.state_machine.metric_time(statistic=percentile, label=r.automation.name, period=PERIOD)
                    for r in self.automations
                ],
                width=8,
            )
            for percentile in ("p50", "p90")
        ]

    def _dead_letters(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Dead-letter queue depth (messages visible, max)",
            left=[
                dlq.queue.metric_approximate_number_of_messages_visible(statistic="Maximum", label=dlq.label)
                for dlq in self.dead_letter_queues
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            legend_position=cloudwatch.LegendPosition.RIGHT,
            width=FULL_WIDTH,
            height=6,
        )

    def _lambda_health(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Lambda errors per function",
                left=[fn.function.metric_errors(statistic="Sum", label=fn.spec.module) for fn in self.functions],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda throttles per function",
                left=[fn.function.metric_throttles(statistic="Sum", label=fn.spec.module) for fn in self.functions],
                width=12,
            ),
        ]

    def _pending_approvals_count(self) -> list[cloudwatch.IWidget]:
        if not self.approval_log_groups:
            return [
                cloudwatch.TextWidget(
                    markdown="### Pending approvals\nNo automation here waits for an approval.", width=8, height=4
                )
            ]
        return [
            cloudwatch.LogQueryWidget(
                title="Pending approvals (executions waiting for an answer)",
                log_group_names=self.approval_log_groups,
                query_lines=[*pending_approvals_query(), "stats count(*) as pending_approvals"],
                view=cloudwatch.LogQueryVisualizationType.TABLE,
                width=8,
                height=4,
            )
        ]

    def _approvals(self, env: str) -> list[cloudwatch.IWidget]:
        widgets: list[cloudwatch.IWidget] = []
        if self.approval_log_groups:
            widgets.append(
                cloudwatch.LogQueryWidget(
                    title="Waiting for an answer, oldest first (approve or reject with keel ops)",
                    log_group_names=self.approval_log_groups,
                    query_lines=[*pending_approvals_query(), "sort waiting_since asc", "limit 100"],
                    view=cloudwatch.LogQueryVisualizationType.TABLE,
                    width=16,
                )
            )
        if any(fn.spec.module == APPROVAL_FUNCTION for fn in self.functions):
            widgets.append(
                cloudwatch.GraphWidget(
                    title="Approval requests (request_approval)",
                    left=[
                        _keel_metric("TaskSucceeded", env, "requests sent"),
                        _keel_metric("TaskFailed", env, "requests that failed"),
                    ],
                    width=8,
                )
            )
        return widgets


def dead_letter_queues(platform: Platform, automations: list[AutomationResources]) -> list[DeadLetterQueue]:
    """Every dead-letter queue of the environment: rule targets', automation queues', undelivered pages'."""
    queues: list[DeadLetterQueue] = []
    for resources in automations:
        name = resources.automation.name
        queues.append(DeadLetterQueue(f"{name}: events not started", resources.dead_letter_queue))
        queues.extend(
            DeadLetterQueue(f"{name}: queue {queue}", dlq) for queue, dlq in sorted(resources.queue_dead_letters.items())
        )
    queues.extend(
        DeadLetterQueue(f"on-call {route}: pages not delivered", queue)
        for route, queue in sorted(platform.undelivered_pages.items())
    )
    return queues


def pending_approvals_query() -> list[str]:
    """Executions whose latest task-token event is an open wait, with the time the wait began.

    Fields are those of Step Functions' execution log events: `type` (the history event type),
    `execution_arn`, and `details.resource` (e.g. `invoke.waitForTaskToken`)."""
    opened = ", ".join(f'"{event}"' for event in OPEN_WAIT_EVENTS)
    ended = ", ".join(f'"{event}"' for event in EXECUTION_END_EVENTS)
    return [
        "fields @timestamp, type, execution_arn",
        f"filter details.resource like /\\.waitForTaskToken$/ or type in [{ended}]",
        "stats latest(type) as last_event, max(@timestamp) as waiting_since by execution_arn",
        f"filter last_event in [{opened}]",
    ]


def success_rate(state_machine: sfn.IStateMachine, index: int, label: str) -> cloudwatch.MathExpression:
    """100 x succeeded / ended (succeeded, failed, timed out, aborted); no value where nothing ended."""
    ids = {"s": "ExecutionsSucceeded", "f": "ExecutionsFailed", "t": "ExecutionsTimedOut", "a": "ExecutionsAborted"}
    using = {f"{key}{index}": _state_machine_metric(state_machine, metric, label) for key, metric in ids.items()}
    filled = {key: f"FILL({key}{index}, 0)" for key in ids}
    ended = " + ".join(filled.values())
    return cloudwatch.MathExpression(
        expression=f"IF(({ended}) > 0, 100 * {filled['s']} / ({ended}))",
        using_metrics=using,
        label=label,
        period=PERIOD,
    )


def timed_out_or_aborted(state_machine: sfn.IStateMachine, index: int, label: str) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression=f"FILL(t{index}, 0) + FILL(a{index}, 0)",
        using_metrics={
            f"t{index}": _state_machine_metric(state_machine, "ExecutionsTimedOut", label),
            f"a{index}": _state_machine_metric(state_machine, "ExecutionsAborted", label),
        },
        label=label,
        period=PERIOD,
    )


def _state_machine_metric(state_machine: sfn.IStateMachine, metric: str, label: str) -> cloudwatch.Metric:
    """One AWS/States metric of a state machine (dimension StateMachineArn), summed per period."""
    return state_machine.metric(metric, statistic="Sum", label=label, period=PERIOD)


def _keel_metric(name: str, env: str, label: str) -> cloudwatch.IMetric:
    """A metric request_approval emits through Powertools (functions/shared/handler.py)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": APPROVAL_FUNCTION, "environment": env},
        statistic="Sum",
        label=label,
        period=PERIOD,
    )
