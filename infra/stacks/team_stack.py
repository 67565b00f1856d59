"""One owning team's stack in an environment: the team's dashboard, nothing that runs."""

from __future__ import annotations

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.catalog import Automation
from infra.config import Environment
from infra.constructs.team_dashboard import TeamDashboard, TeamDashboardProps


class TeamStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        owner: str,
        automations: list[Automation],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("keel:environment", environment.name)
        Tags.of(self).add("keel:owner", owner)
        self.dashboard = TeamDashboard(
            self, f"Team-{owner}", TeamDashboardProps(owner=owner, environment=environment, automations=automations)
        )
