"""The decision record's anchor: a write-once copy of every record, outside the decisions table.

The decisions table streams every change (NEW_AND_OLD_IMAGES) to `anchor_decisions`, a function of the
platform stack, which copies each new record into an S3 bucket with Object Lock in compliance mode: for
the environment's `decision_anchor_retention_days` no one, the account's root user included, can
overwrite or delete an object version or shorten its retention
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html; CDK's `object_lock_enabled`
and `ObjectLockRetention.compliance`). Object Lock needs versioning, which it turns on for good.
Besides, the bucket's policy lets only the anchor function put objects and no one delete them (a
delete would only hide a locked version behind a delete marker, but it is refused all the same).

`keel ops verify-chain` compares the table with these copies (keel/ops/ledger.py); operators find the
bucket through an SSM parameter, as automation stacks find the platform key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from functions.shared.domain import anchor
from infra import names
from infra.constructs.function import METRICS_NAMESPACE, RUNTIME, RUNTIME_REASON
from infra.constructs.key_use import grant_key_use
from infra.constructs.log_group import platform_log_group
from infra.constructs.platform import Platform
from infra.nag import acknowledge, acknowledge_all, nag_resource_of
from infra.packaging import package_digest

MODULE = "anchor_decisions"
# A batch of stream records per invocation; each record is one small PutObject.
BATCH_SIZE = 100
# A batch that keeps failing is retried this often (halved each time, down to the failing record),
# then its place in the stream goes to the dead-letter queue, which pages: the records stay in the
# table, and `keel ops verify-chain` lists them as not anchored. Lambda's parameters for DynamoDB
# event sources: https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
RETRY_ATTEMPTS = 10


@dataclass(frozen=True)
class DecisionAnchorProps:
    platform: Platform
    package_dir: Path
    layer: lambda_.ILayerVersion


class DecisionAnchor(Construct):
    """The anchor bucket, its access-log bucket, the anchor function fed by the table's stream, and its alarms."""

    def __init__(self, scope: Construct, construct_id: str, props: DecisionAnchorProps) -> None:
        super().__init__(scope, construct_id)
        platform = props.platform
        env = platform.environment
        self.access_logs = self._access_log_bucket(env.log_retention_days)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=platform.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(env.decision_anchor_retention_days)),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="decision-anchor/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        ssm.StringParameter(
            self,
            "BucketName",
            parameter_name=names.decision_anchor_parameter(env.name),
            string_value=self.bucket.bucket_name,
            description=f"Keel {env.name}: the decision anchor bucket's name, read by keel ops verify-chain and audit",
        )
        self.function = self._function(props)
        self._only_the_anchor_writes()
        self.failures = self._event_source(platform)
        self._alarms(platform)

    def _access_log_bucket(self, retention_days: int) -> s3.Bucket:
        """Who read or wrote the anchor, kept as long as the environment keeps logs. SSE-S3: S3's log
        delivery writes with no grant on a customer managed key."""
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(retention_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This bucket receives the decision anchor's server access logs; logging it too would log each log delivery",
        )
        return bucket

    def _function(self, props: DecisionAnchorProps) -> lambda_.Function:
        platform = props.platform
        env = platform.environment
        log_group = platform_log_group(self, "Logs", f"/keel/{env.name}/platform/{MODULE}", platform)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Keel {env.name} decision anchor: reads the decisions table's stream, creates objects in the anchor",
        )
        function = lambda_.Function(
            self,
            "Function",
            function_name=names.platform_function(env.name, MODULE),
            description="Copies every new decision record from the decisions table's stream into the anchor (S3, Object Lock).",
            runtime=RUNTIME,
            handler=f"functions.{MODULE}.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(props.package_dir)),
            memory_size=256,
            timeout=Duration.seconds(60),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            layers=[props.layer],
            environment={
                "KEEL_ENVIRONMENT": env.name,
                "KEEL_ANCHOR_BUCKET": self.bucket.bucket_name,
                "KEEL_CODE_VERSION": package_digest(props.package_dir),
                "POWERTOOLS_SERVICE_NAME": MODULE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        log_group.grant_write(role)
        # Create and read back its own copies: under records/ and alterations/ only, never delete.
        objects = [self.bucket.arn_for_objects(f"{prefix}/*") for prefix in (anchor.RECORDS, anchor.ALTERATIONS)]
        role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject"], resources=objects))
        # The platform key through S3 (its copies), DynamoDB (the stream's records) and SQS (its failures) only.
        grant_key_use(role, platform.key, ["s3", "dynamodb", "sqs"])
        acknowledge_all(
            role,
            {
                f"AwsSolutions-IAM5[Resource::{nag_resource_of(self, arn)}]": (
                    "The anchor's keys are data (an automation and a record number each): s3:PutObject and s3:GetObject "
                    "on this one bucket's folder only; Object Lock keeps every version, and no delete is granted"
                )
                for arn in objects
            },
        )
        acknowledge_all(
            function,
            {
                "AwsSolutions-L1": RUNTIME_REASON,
                "Serverless-LambdaLatestVersion": RUNTIME_REASON,
                "Serverless-LambdaDLQ": "Invoked by its DynamoDB stream event source mapping only (never asynchronously), "
                "whose on-failure destination keeps what it could not anchor",
                "Serverless-LambdaAsyncFailureDestination": "Invoked by its DynamoDB stream event source mapping only; "
                "there are no asynchronous invocations to route",
            },
        )
        self.role = role
        return function

    def _only_the_anchor_writes(self) -> None:
        """Object Lock stops any change to a copy; the policy also stops anyone but the anchor adding
        objects (a forged copy would be compared as if anchored) and anyone removing one."""
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheAnchorFunctionCreatesObjects",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": self.role.role_arn}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NoOneDeletesAnchoredRecords",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )

    def _event_source(self, platform: Platform) -> sqs.Queue:
        """The table's stream, from its oldest record; what cannot be anchored goes to a queue that pages.

        The mapping and its grants are spelled out rather than taken from CDK's DynamoEventSource, whose
        grants use the platform key outside any service (kms:DescribeKey, and CDK's queue grants kms:Encrypt
        and kms:GenerateDataKey*). What Lambda's poller needs of the execution role: dynamodb:DescribeStream,
        GetRecords, GetShardIterator and ListStreams, and sqs:SendMessage for an on-failure queue
        (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html, "Execution
        role permissions")."""
        failures = sqs.Queue(
            self,
            "Unanchored",
            queue_name=f"{names.platform_function(platform.environment.name, MODULE)}-failures",
            # It holds where in the stream a batch failed (shard, sequence numbers), never a record's content.
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=platform.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
            acknowledge(failures, rule, "This queue is itself the on-failure destination of the decision anchor's stream")
        stream_arn = platform.decisions_table.table_stream_arn
        assert stream_arn is not None, "the decisions table streams its changes (infra/constructs/platform.py)"
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"], resources=[stream_arn]
            )
        )
        # ListStreams supports no resource-level permissions (Service Authorization Reference, Amazon DynamoDB).
        self.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"]))
        self.role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failures.queue_arn]))
        mapping = lambda_.EventSourceMapping(
            self,
            "Stream",
            target=self.function,
            event_source_arn=stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=BATCH_SIZE,
            bisect_batch_on_error=True,
            retry_attempts=RETRY_ATTEMPTS,
            on_failure=_QueueDestination(failures.queue_arn),
        )
        # The poller starts once the role may read the stream.
        mapping.node.add_dependency(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams (the stream poller's), xray:PutTraceSegments and xray:PutTelemetryRecords support no "
            "resource-level permissions",
        )
        return failures

    def _alarms(self, platform: Platform) -> None:
        """The platform on-call route is paged when records fail to be anchored."""
        # By name, as automation stacks name on-call topics; after the topic exists.
        route = platform.environment.platform_oncall
        topic_arn = Stack.of(self).format_arn(service="sns", resource=names.oncall_topic(platform.environment.name, route))
        action = cw_actions.SnsAction(sns.Topic.from_topic_arn(self, "PlatformOnCall", topic_arn))
        prefix = names.platform_function(platform.environment.name, MODULE)
        failing = cloudwatch.Alarm(
            self,
            "FailingAlarm",
            alarm_name=f"{prefix}-errors",
            alarm_description="The decision anchor fails: records are not being copied to the anchor (they are retried)",
            metric=self.function.metric_errors(period=Duration.minutes(5)),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dropped = cloudwatch.Alarm(
            self,
            "UnanchoredAlarm",
            alarm_name=f"{prefix}-unanchored",
            alarm_description="Decision records the anchor gave up on: `keel ops verify-chain` lists them as not anchored",
            metric=self.failures.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (failing, dropped):
            alarm.add_alarm_action(action)
            alarm.node.add_dependency(platform.topic(route))


@jsii.implements(lambda_.IEventSourceDlq)
class _QueueDestination:
    """An on-failure queue without CDK's grant (SqsDlq grants the key outside SQS): the role's
    sqs:SendMessage and the key's use through SQS are granted above."""

    def __init__(self, queue_arn: str) -> None:
        self._arn = queue_arn

    def bind(self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        del target, target_handler  # the same queue, whatever the mapping
        return lambda_.DlqDestinationConfig(destination=self._arn)
