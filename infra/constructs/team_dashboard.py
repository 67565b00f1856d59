"""One owning team's dashboard: its automations side by side, in the team's own stack.

It names the team's automations and nothing else of them (at most a team's worth, so its size is
bounded by the team, not the catalog; and a change to one automation's manifest, workflow or code
leaves it as it is: versions and SLOs are on each automation's own dashboard). It reads their metrics
by the names Keel gives what it deploys, so it references no resource of another stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra import names
from infra.catalog import Automation
from infra.config import Environment

PERIOD = Duration.minutes(5)
FULL_WIDTH = 24


@dataclass(frozen=True)
class TeamDashboardProps:
    owner: str
    environment: Environment
    automations: list[Automation]


class TeamDashboard(Construct):
    """`keel-<env>-team-<owner>`: a row per automation of the team."""

    def __init__(self, scope: Construct, construct_id: str, props: TeamDashboardProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment.name
        self.automations = sorted(props.automations, key=lambda automation: automation.name)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=names.dashboard(env, f"team-{props.owner}"), start="-PT24H"
        )
        listed = ", ".join(f"`{automation.name}`" for automation in self.automations)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# {props.owner} in {env}\n{len(self.automations)} automations: {listed}. "
                f"Each has its own dashboard (`keel-{env}-<automation>`).",
                width=FULL_WIDTH,
                height=2,
            )
        )
        for automation in self.automations:
            self.dashboard.add_widgets(*self._row(automation, env))

    def _row(self, automation: Automation, env: str) -> list[cloudwatch.IWidget]:
        name = automation.name
        arn = Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=names.state_machine(env, name),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

        def execution_metric(metric: str, statistic: str, label: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/States",
                metric_name=metric,
                dimensions_map={"StateMachineArn": arn},
                statistic=statistic,
                label=label,
                period=PERIOD,
            )

        return [
            cloudwatch.GraphWidget(
                title=f"{name}: executions",
                left=[
                    execution_metric("ExecutionsStarted", "Sum", "started"),
                    execution_metric("ExecutionsSucceeded", "Sum", "succeeded"),
                    execution_metric("ExecutionsFailed", "Sum", "failed"),
                    execution_metric("ExecutionsTimedOut", "Sum", "timed out"),
                ],
                width=10,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: p50 and p90 duration (ms)",
                left=[execution_metric("ExecutionTime", "p50", "p50"), execution_metric("ExecutionTime", "p90", "p90")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: dead letters",
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/SQS",
                        metric_name="ApproximateNumberOfMessagesVisible",
                        dimensions_map={"QueueName": names.dead_letter_queue(env, name)},
                        statistic="Maximum",
                        label="visible",
                        period=PERIOD,
                    )
                ],
                width=6,
            ),
        ]
