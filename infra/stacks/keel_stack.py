"""Everything Keel deploys into one environment: the platform, the functions, the automations."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.catalog import Catalog
from infra.config import Environment
from infra.constructs.automation import AutomationProps, AutomationResources
from infra.constructs.function import FunctionProps, KeelFunction, powertools_layer
from infra.constructs.monitoring import AutomationMonitoring, AutomationMonitoringProps, FunctionAlarms, FunctionAlarmsProps
from infra.constructs.platform import Platform, PlatformProps
from infra.constructs.platform_dashboard import PlatformDashboard, PlatformDashboardProps
from infra.packaging import stage_package


class KeelStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        catalog: Catalog,
        build_dir: Path,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("keel:environment", environment.name)
        declared_secrets = {secret for automation in catalog.automations for secret in automation.manifest.secrets}
        self.platform = Platform(self, "Platform", PlatformProps(environment=environment, secrets=sorted(declared_secrets)))
        layer = powertools_layer(self)
        self.functions: dict[str, KeelFunction] = {}
        for spec in catalog.functions_in_use():
            users = catalog.automations_using(spec.module)
            secrets = sorted({secret for automation in users for secret in automation.manifest.secrets})
            self.functions[spec.module] = KeelFunction(
                self,
                f"Fn-{spec.module}",
                FunctionProps(
                    spec=spec,
                    platform=self.platform,
                    package_dir=stage_package(catalog.root / "functions", spec.module, build_dir),
                    layer=layer,
                    secrets=secrets,
                ),
            )
            owners = sorted({automation.manifest.oncall for automation in users})
            FunctionAlarms(
                self,
                f"Alarms-{spec.module}",
                FunctionAlarmsProps(
                    function=self.functions[spec.module],
                    environment=environment,
                    topics=[self.platform.topic(route) for route in owners],
                ),
            )
        self.automations: dict[str, AutomationResources] = {}
        for automation in catalog.automations:
            manifest = automation.manifest
            resources = AutomationResources(
                self,
                f"Automation-{manifest.name}",
                AutomationProps(automation=automation, platform=self.platform, functions=self.functions),
            )
            AutomationMonitoring(
                self,
                f"Monitoring-{manifest.name}",
                AutomationMonitoringProps(
                    resources=resources,
                    functions=[self.functions[module] for module in manifest.functions],
                    environment=environment,
                    topic=self.platform.topic(manifest.oncall),
                ),
            )
            self.automations[manifest.name] = resources
        self.dashboard = PlatformDashboard(
            self,
            "PlatformDashboard",
            PlatformDashboardProps(
                platform=self.platform,
                automations=list(self.automations.values()),
                functions=list(self.functions.values()),
            ),
        )
