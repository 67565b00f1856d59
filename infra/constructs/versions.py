"""An automation's versions and the alias its rules start executions through.

Every deploy that changes the workflow publishes a state machine version
(`AWS::StepFunctions::StateMachineVersion`, kept when replaced so earlier versions stay runnable),
whose definition invokes qualified Lambda versions: an execution keeps the code it started with.
The `live` alias (`AWS::StepFunctions::StateMachineAlias`) moves to the new version by the
manifest's rollout: its DeploymentPreference shifts traffic all at once, as a canary or linearly, and
CloudFormation rolls it back when one of the automation's alarms enters ALARM meanwhile
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-stepfunctions-statemachinealias-deploymentpreference.html:
Type ALL_AT_ONCE|CANARY|LINEAR, Percentage 1-99, Interval 1-2100 minutes, Alarms 1-100 names; the
quota guard, infra/quotas.py, stops synth of an automation with too many for one alias).

A shadow deploy (`shadow: {version}`) publishes the candidate version but leaves the alias where the
last deploy or operator left it: the SSM parameter live_version_parameter holds that version's ARN,
read by CloudFormation before it updates anything (a dynamic reference), so the first deploy of an
automation cannot be a shadow deploy.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import names
from infra.manifest import Manifest, Rollout

STRATEGIES = {"canary": "CANARY", "linear": "LINEAR", "all_at_once": "ALL_AT_ONCE"}


@dataclass(frozen=True)
class ReleaseProps:
    state_machine: sfn.StateMachine
    manifest: Manifest
    environment: str
    rollout: Rollout


class Release(Construct):
    """Exposes `version` (this deploy's state machine version), `alias` and `alias_arn`."""

    def __init__(self, scope: Construct, construct_id: str, props: ReleaseProps) -> None:
        super().__init__(scope, construct_id)
        manifest = props.manifest
        self.props = props
        self.version = sfn.CfnStateMachineVersion(
            self,
            "Version",
            state_machine_arn=props.state_machine.state_machine_arn,
            state_machine_revision_id=props.state_machine.state_machine_revision_id,
            description=f"{manifest.name} {manifest.version}",
        )
        # A replaced version stays: executions running on it finish, and rollback can go back to it.
        self.version.apply_removal_policy(RemovalPolicy.RETAIN)
        parameter = names.live_version_parameter(props.environment, manifest.name)
        if manifest.shadow is not None:
            # Resolved when the deploy starts: the version the alias routes to now stays live.
            self.live_version_arn = f"{{{{resolve:ssm:{parameter}}}}}"
        else:
            self.live_version_arn = self.version.attr_arn
        self.alias = sfn.CfnStateMachineAlias(
            self, "Alias", name=names.LIVE_ALIAS, description=f"{manifest.name}: the version its events run on"
        )
        self.watch([])
        ssm.StringParameter(
            self,
            "LiveVersion",
            parameter_name=parameter,
            string_value=self.live_version_arn,
            description=f"{manifest.name}: the state machine version the live alias routes to",
        )

    @property
    def alias_arn(self) -> str:
        return self.alias.ref

    def watch(self, alarm_names: list[str]) -> None:
        """The deployment preference, rolled back when one of `alarm_names` enters ALARM while it shifts."""
        rollout = self.props.rollout
        if self.props.manifest.shadow is not None:
            # A shadow deploy does not move the alias.
            self.alias.routing_configuration = [
                sfn.CfnStateMachineAlias.RoutingConfigurationVersionProperty(
                    state_machine_version_arn=self.live_version_arn, weight=100
                )
            ]
            self.alias.deployment_preference = None
            return
        shifting = rollout.strategy != "all_at_once"
        self.alias.deployment_preference = sfn.CfnStateMachineAlias.DeploymentPreferenceProperty(
            state_machine_version_arn=self.live_version_arn,
            type=STRATEGIES[rollout.strategy],
            percentage=rollout.percent if shifting else None,
            interval=rollout.interval_minutes if shifting else None,
            alarms=sorted(alarm_names) or None,
        )
