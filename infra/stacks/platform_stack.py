"""An environment's platform stack: what every automation shares, deployed first and on its own.

The bus, the key, the on-call topics, the tables, the decision record's anchor, the environment's
secrets catalog and the platform dashboard, all from config/environments.yaml, and the schema
registry of the event contracts (schemas/). Nothing here names an automation: a new automation,
or a change to one, leaves this stack as it is.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.config import Environment
from infra.constructs.api_rotation import ApiRotation, ApiRotationProps
from infra.constructs.decision_anchor import DecisionAnchor, DecisionAnchorProps
from infra.constructs.event_registry import EventRegistry, EventRegistryProps
from infra.constructs.function import powertools_layer
from infra.constructs.platform import Platform, PlatformProps
from infra.constructs.platform_dashboard import PlatformDashboard, PlatformDashboardProps
from infra.event_contracts import PublishedContract


class PlatformStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        anchor_package: Path,
        rotation_package: Path,
        contracts: list[PublishedContract],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("keel:environment", environment.name)
        self.platform = Platform(self, "Platform", PlatformProps(environment=environment))
        layer = powertools_layer(self)
        # The decision record's anchor, fed by the decisions table's stream (anchor_package: functions/anchor_decisions).
        self.decision_anchor = DecisionAnchor(
            self,
            "DecisionAnchor",
            DecisionAnchorProps(platform=self.platform, package_dir=anchor_package, layer=layer),
        )
        # The credentials Keel rotates through their APIs (rotation_package: functions/rotate_api_credential).
        self.rotations = {
            api: ApiRotation(
                self,
                f"Rotation-{api}",
                ApiRotationProps(platform=self.platform, api=api, spec=spec, package_dir=rotation_package, layer=layer),
            )
            for api, spec in environment.rotated_apis().items()
        }
        self.event_registry = EventRegistry(
            self, "EventRegistry", EventRegistryProps(environment=environment, contracts=contracts)
        )
        self.dashboard = PlatformDashboard(self, "PlatformDashboard", PlatformDashboardProps(platform=self.platform))
