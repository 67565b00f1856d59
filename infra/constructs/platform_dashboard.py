"""The platform dashboard of one environment: every automation, function and dead-letter queue, on a
page whose size does not depend on how many there are.

Each widget asks one question across the environment with a CloudWatch SEARCH expression over the
names Keel gives what it deploys (every state machine, function and queue of an environment is
named `keel-<env>-...`), so a new automation appears on it without a change to this stack, and the
body is the same at 4 automations as at 300. Graphs show the ten worst series (SORT ... DESC, 10):
a page of 300 lines answers nothing. Per-automation detail lives in each automation's own dashboard
(its stack) and in its team's dashboard (infra/constructs/team_dashboard.py).

Limits (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html,
"Search expression limits"): a graph takes at most 100 SEARCH expressions and 500 time series; a
search finds metrics that reported in the last two weeks. A search term matches whole tokens of a
dimension value (`keel-prod-alarm_remediation` has the tokens keel, prod, alarm, remediation), so
`keel prod` selects the environment's resources.

Pending approvals come from the `PendingApprovals` metric the platform heartbeat emits
(functions/emit_heartbeat): the requests waiting and not expired, counted from the approvals table.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra import names
from infra.constructs.function import METRICS_NAMESPACE
from infra.constructs.platform import Platform

DASHBOARD_SUFFIX = "platform"
APPROVAL_FUNCTION = "request_approval"
FULL_WIDTH = 24
PERIOD = Duration.minutes(5)
RANGE_HOURS = 24
WORST = 10
# Step Functions' execution outcomes, each a metric of AWS/States per state machine.
ENDED = ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")


@dataclass(frozen=True)
class PlatformDashboardProps:
    platform: Platform


class PlatformDashboard(Construct):
    """`keel-<env>-platform`: executions, success rate, durations, DLQ depth, Lambda health, approvals."""

    def __init__(self, scope: Construct, construct_id: str, props: PlatformDashboardProps) -> None:
        super().__init__(scope, construct_id)
        env = props.platform.environment
        self.search = EnvironmentSearch(env.name)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=names.dashboard(env.name, DASHBOARD_SUFFIX), start=f"-PT{RANGE_HOURS}H"
        )
        self.dashboard.add_widgets(self._header(env.name, env.region))
        self.dashboard.add_widgets(self._success_over_range(), self._pending_approvals())
        self.dashboard.add_widgets(*self._executions())
        self.dashboard.add_widgets(self._success_rate(), *self._durations())
        self.dashboard.add_widgets(self._dead_letters(), self._undelivered_pages())
        self.dashboard.add_widgets(*self._lambda_health())
        self.dashboard.add_widgets(self._approval_requests())

    def _header(self, env: str, region: str) -> cloudwatch.IWidget:
        return cloudwatch.TextWidget(
            markdown=(
                f"# Keel {env}: the platform\n"
                f"Every automation of {env}, whatever their number: graphs show the {WORST} worst. Each automation "
                f"has its own dashboard (`keel-{env}-<automation>`) and each team one for its automations "
                f"(`keel-{env}-team-<owner>`); alarms page the owners. "
                f"`keel ops pending --env {env} --region {region}` lists the approvals waiting."
            ),
            width=FULL_WIDTH,
            height=2,
        )

    def _executions(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{title} (top {WORST})", left=[self.search.worst_state_machines(metric, "Sum")], width=6
            )
            for title, metric in (
                ("Executions started", "ExecutionsStarted"),
                ("Executions failed", "ExecutionsFailed"),
                ("Executions timed out", "ExecutionsTimedOut"),
                ("Executions aborted", "ExecutionsAborted"),
            )
        ]

    def _success_over_range(self) -> cloudwatch.IWidget:
        return cloudwatch.SingleValueWidget(
            title="Success rate over the range (%): succeeded / ended, all automations",
            metrics=[self.search.success_rate(over_range=True)],
            set_period_to_time_range=True,
            width=16,
            height=4,
        )

    def _success_rate(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Success rate (%): succeeded / (succeeded + failed + timed out + aborted)",
            left=[self.search.success_rate()],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100, show_units=False),
            width=8,
        )

    def _durations(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{percentile} execution duration (ms), slowest {WORST}",
                left=[self.search.worst_state_machines("ExecutionTime", percentile)],
                width=8,
            )
            for percentile in ("p50", "p90")
        ]

    def _dead_letters(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title=f"Dead-letter queue depth (messages visible, max), deepest {WORST}",
            left=[self.search.worst_queues("dlq")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            legend_position=cloudwatch.LegendPosition.RIGHT,
            width=16,
            height=6,
        )

    def _undelivered_pages(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="On-call pages not delivered (messages visible, max)",
            left=[self.search.worst_queues("undelivered")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            width=8,
            height=6,
        )

    def _lambda_health(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"Lambda {metric.lower()} per function (top {WORST})",
                left=[self.search.worst_functions(metric)],
                width=12,
            )
            for metric in ("Errors", "Throttles")
        ]

    def _pending_approvals(self) -> cloudwatch.IWidget:
        return cloudwatch.SingleValueWidget(
            title="Pending approvals (waiting, not expired)",
            metrics=[self.search.keel_gauge("PendingApprovals", "pending")],
            width=8,
            height=4,
        )

    def _approval_requests(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Approval requests (request_approval, every automation)",
            left=[
                self.search.keel_total("TaskSucceeded", "Sum", "requests sent", service=APPROVAL_FUNCTION),
                self.search.keel_total("TaskFailed", "Sum", "requests that failed", service=APPROVAL_FUNCTION),
                self.search.keel_gauge("PendingApprovals", "pending"),
            ],
            width=FULL_WIDTH,
        )


@dataclass(frozen=True)
class EnvironmentSearch:
    """SEARCH expressions over one environment's resources, by the names Keel gives them."""

    environment: str

    def _expression(self, schema: str, terms: str, statistic: str, *, period: bool = True) -> str:
        """A search among the environment's resources: AWS's metrics by the tokens of Keel's names,
        Keel's own by their `environment` dimension. Without a period the widget's own applies (a
        single value over the whole range)."""
        scope = f'environment="{self.environment}"' if schema.startswith(METRICS_NAMESPACE) else f"keel {self.environment}"
        seconds = f", {int(PERIOD.to_seconds())}" if period else ""
        return f"SEARCH('{{{schema}}} {terms} {scope}', '{statistic}'{seconds})"

    def _worst(self, search: str) -> cloudwatch.MathExpression:
        """The WORST series of a search; labelled by each series' own name alone (an empty label)."""
        return cloudwatch.MathExpression(
            expression=f"SORT({search}, MAX, DESC, {WORST})", label="", period=PERIOD, using_metrics={}
        )

    def worst_state_machines(self, metric: str, statistic: str) -> cloudwatch.MathExpression:
        return self._worst(self._expression("AWS/States,StateMachineArn", f'MetricName="{metric}"', statistic))

    def worst_functions(self, metric: str) -> cloudwatch.MathExpression:
        return self._worst(self._expression("AWS/Lambda,FunctionName", f'MetricName="{metric}"', "Sum"))

    def worst_queues(self, token: str) -> cloudwatch.MathExpression:
        search = self._expression("AWS/SQS,QueueName", f'MetricName="ApproximateNumberOfMessagesVisible" {token}', "Maximum")
        return self._worst(search)

    def success_rate(self, *, over_range: bool = False) -> cloudwatch.MathExpression:
        """100 x succeeded / ended over every state machine of the environment; none where nothing ended."""
        ids = dict(zip("sfta", ENDED, strict=True))
        searches = {
            key: self._expression("AWS/States,StateMachineArn", f'MetricName="{metric}"', "Sum", period=not over_range)
            for key, metric in ids.items()
        }
        totals = {key: f"FILL(SUM({search}), 0)" for key, search in searches.items()}
        ended = " + ".join(totals.values())
        return cloudwatch.MathExpression(
            expression=f"IF(({ended}) > 0, 100 * {totals['s']} / ({ended}))",
            label="success rate",
            period=PERIOD,
            using_metrics={},
        )

    def keel_total(self, metric: str, statistic: str, label: str, service: str | None = None) -> cloudwatch.MathExpression:
        """A Keel metric (Powertools, functions/shared/runtime/handler.py) summed over the environment's automations."""
        return self._keel(metric, statistic, label, service, "SUM")

    def keel_gauge(self, metric: str, label: str) -> cloudwatch.MathExpression:
        """A gauge of the whole environment that any automation may report (every heartbeat counts the
        same table): the largest report, never their sum."""
        return self._keel(metric, "Maximum", label, None, "MAX")

    def _keel(self, metric: str, statistic: str, label: str, service: str | None, combine: str) -> cloudwatch.MathExpression:
        terms = f'MetricName="{metric}"' + (f' service="{service}"' if service else "")
        search = self._expression(f"{METRICS_NAMESPACE},automation,environment,service", terms, statistic)
        return cloudwatch.MathExpression(expression=f"{combine}({search})", label=label, period=PERIOD, using_metrics={})
