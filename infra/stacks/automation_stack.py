"""One automation's stack: its rules, dead-letter queues, state machine, its own functions, alarms
and dashboard. Its team deploys it on its own; it reaches the platform by name (PlatformRefs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.catalog import Automation, Catalog
from infra.config import Environment
from infra.constructs.automation import AutomationProps, AutomationResources
from infra.constructs.function import FunctionProps, KeelFunction, powertools_layer
from infra.constructs.monitoring import AutomationMonitoring, AutomationMonitoringProps
from infra.constructs.platform import PlatformRefs
from infra.function_spec import FunctionSpec
from infra.manifest import Manifest
from infra.packaging import stage_package


@dataclass(frozen=True)
class AutomationStackProps:
    environment: Environment
    automation: Automation
    catalog: Catalog
    # Staged function packages, one directory per module, shared by the automations that use it.
    packages: dict[str, Path]


class AutomationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, props: AutomationStackProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        environment, automation = props.environment, props.automation
        manifest = automation.manifest
        Tags.of(self).add("keel:environment", environment.name)
        # Every construct id carries the automation's name, so logical ids are unique across the
        # environment's stacks (the tests read an environment as one set of resources).
        scope_ = Construct(self, f"Automation-{manifest.name}")
        self.platform = PlatformRefs(scope_, "Platform", environment)
        layer = powertools_layer(scope_)
        topic = self.platform.topic(manifest.oncall)
        self.functions: dict[str, KeelFunction] = {}
        for module in manifest.functions:
            self.functions[module] = KeelFunction(
                scope_,
                f"Fn-{module}",
                FunctionProps(
                    spec=props.catalog.functions[module],
                    automation=manifest.name,
                    platform=self.platform,
                    package_dir=props.packages[module],
                    layer=layer,
                    secrets=module_secrets(manifest, environment, props.catalog.functions[module]),
                    routes=sorted({manifest.oncall, manifest.escalation, *manifest.approvers}),
                    apis={api: environment.apis[api] for api in manifest.apis},
                ),
            )
        self.resources = AutomationResources(
            scope_, "Resources", AutomationProps(automation=automation, platform=self.platform, functions=self.functions)
        )
        self.monitoring = AutomationMonitoring(
            scope_,
            "Monitoring",
            AutomationMonitoringProps(
                resources=self.resources,
                functions=list(self.functions.values()),
                environment=environment,
                topic=topic,
            ),
        )
        # A rollout goes back when any of the automation's own alarms fires while it shifts.
        self.resources.release.watch(self.monitoring.rollout_alarm_names())


def stage_packages(catalog: Catalog, build_dir: Path) -> dict[str, Path]:
    """Each module the catalog uses, staged once per environment."""
    return {spec.module: stage_package(catalog.root / "functions", spec.module, build_dir) for spec in catalog.functions_in_use()}


def module_secrets(manifest: Manifest, environment: Environment, spec: FunctionSpec) -> list[str]:
    """The secrets one module of the automation may read: the manifest's, and the credentials of its APIs
    when the module calls them (external_apis)."""
    apis = {environment.apis[api].auth.secret for api in manifest.apis} if "external_apis" in spec.platform_access else set()
    return sorted(set(manifest.secrets) | apis)
