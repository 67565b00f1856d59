"""Rotation of an external API's credential by Keel (config/environments.yaml `apis.<api>.rotation`).

For each API that declares it, the platform stack holds a rotation function (functions/rotate_api_credential)
and the secret's rotation schedule: every `every_days` Secrets Manager invokes the function for its four
steps (createSecret, setSecret, testSecret, finishSecret;
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html). The
function may use that one secret and nothing else, Secrets Manager may invoke it for that secret only,
and its errors (a failed rotation: AWSCURRENT is left as it was) page the platform's on-call route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import names
from infra.config import ApiSpec
from infra.constructs.function import METRICS_NAMESPACE, RUNTIME, RUNTIME_REASON, api_settings
from infra.constructs.key_use import grant_key_use
from infra.constructs.log_group import platform_log_group
from infra.constructs.platform import Platform
from infra.nag import acknowledge_all
from infra.packaging import package_digest

MODULE = "rotate_api_credential"
# What a rotation function does with its secret, and nothing more: read its versions and their labels, read a
# version's value, add the pending version, move AWSCURRENT and AWSPENDING
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html).
ROTATION_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]


@dataclass(frozen=True)
class ApiRotationProps:
    platform: Platform
    api: str
    spec: ApiSpec
    package_dir: Path
    layer: lambda_.ILayerVersion


class ApiRotation(Construct):
    """The rotation function of one API's credential, its role, log group, alarm, permission and schedule."""

    def __init__(self, scope: Construct, construct_id: str, props: ApiRotationProps) -> None:
        super().__init__(scope, construct_id)
        rotation = props.spec.rotation
        assert rotation is not None, "only APIs that declare rotation get a rotation function"
        self.secret = props.platform.secrets[props.spec.auth.secret]
        self.function = self._function(props, rotation.path)
        self._grant(props)
        # Secrets Manager may invoke it for this secret only (the confused deputy: another account's secret).
        permission = lambda_.CfnPermission(
            self,
            "InvokedBySecretsManager",
            action="lambda:InvokeFunction",
            function_name=self.function.function_arn,
            principal="secretsmanager.amazonaws.com",
            source_arn=self.secret.secret_arn,
            source_account=Stack.of(self).account,
        )
        self.schedule = secretsmanager.CfnRotationSchedule(
            self,
            "Schedule",
            secret_id=self.secret.secret_arn,
            rotation_lambda_arn=self.function.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(automatically_after_days=rotation.every_days),
            # Not at deploy: the secret holds a placeholder until an operator puts the API's first credential,
            # and a rotation asked for with it would fail. The first rotation comes `every_days` later.
            rotate_immediately_on_update=False,
        )
        self.schedule.node.add_dependency(permission)
        self.alarm = self._alarm(props)

    def _function(self, props: ApiRotationProps, path: str) -> lambda_.Function:
        env = props.platform.environment
        function_name = names.platform_function(env.name, f"rotate-{props.api}")
        self.log_group = platform_log_group(self, "Logs", f"/keel/{env.name}/platform/{MODULE}/{props.api}", props.platform)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Keel {env.name}: rotates API {props.api}'s credential (secret {props.spec.auth.secret}) only",
        )
        function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=f"Rotates API {props.api}'s credential in Secrets Manager through the API's {path}.",
            runtime=RUNTIME,
            handler=f"functions.{MODULE}.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(props.package_dir)),
            memory_size=256,
            # Three calls to the API at most per step, each within its connect and read timeouts.
            timeout=Duration.seconds(60),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            layers=[props.layer],
            environment={
                "KEEL_ENVIRONMENT": env.name,
                "KEEL_APIS": json.dumps({props.api: api_settings(props.spec)}, sort_keys=True, separators=(",", ":")),
                "KEEL_ROTATION_API": props.api,
                "KEEL_ROTATED_SECRET": names.secret(env.name, props.spec.auth.secret),
                "KEEL_ROTATION_PATH": path,
                "KEEL_CODE_VERSION": package_digest(props.package_dir),
                "POWERTOOLS_SERVICE_NAME": MODULE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        acknowledge_all(
            function,
            {
                "AwsSolutions-L1": RUNTIME_REASON,
                "Serverless-LambdaLatestVersion": RUNTIME_REASON,
                "Serverless-LambdaDLQ": "Invoked synchronously by Secrets Manager's rotation only; a failed step fails "
                "the rotation, which Secrets Manager retries and the errors alarm pages",
                "Serverless-LambdaAsyncFailureDestination": "Invoked synchronously by Secrets Manager's rotation only; "
                "there are no asynchronous invocations to route",
            },
        )
        return function

    def _grant(self, props: ApiRotationProps) -> None:
        self.log_group.grant_write(self.role)
        self.role.add_to_policy(iam.PolicyStatement(actions=ROTATION_ACTIONS, resources=[self.secret.secret_arn]))
        # The secret is encrypted with the platform key: through Secrets Manager only.
        grant_key_use(self.role, props.platform.key, ["secretsmanager"])
        acknowledge_all(
            self.role,
            {
                "AwsSolutions-IAM5[Resource::*]": "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) "
                "support no resource-level permissions",
            },
        )

    def _alarm(self, props: ApiRotationProps) -> cloudwatch.Alarm:
        """A failed rotation pages the platform on-call route (the credential stays as it was until fixed)."""
        env = props.platform.environment
        route = env.platform_oncall
        topic_arn = Stack.of(self).format_arn(service="sns", resource=names.oncall_topic(env.name, route))
        alarm = cloudwatch.Alarm(
            self,
            "FailingAlarm",
            alarm_name=f"{names.platform_function(env.name, f'rotate-{props.api}')}-errors",
            alarm_description=f"Rotation of API {props.api}'s credential failed: AWSCURRENT is unchanged; "
            "the function's log says which step and why",
            metric=self.function.metric_errors(period=Duration.minutes(5)),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(sns.Topic.from_topic_arn(self, "PlatformOnCall", topic_arn)))
        alarm.node.add_dependency(props.platform.topic(route))
        return alarm
