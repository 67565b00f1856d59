"""Shared resources of one environment: bus, key, on-call topics, tables and the secrets catalog."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack, aws_lambda
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.shared.decisions import INDEXES as DECISION_INDEXES
from infra.config import Environment, Subscription
from infra.nag import acknowledge


@dataclass(frozen=True)
class PlatformProps:
    environment: Environment
    # Only the secrets some automation of this environment declares are created.
    secrets: list[str]


class Platform(Construct):
    """Per environment: the Keel event bus, a KMS key, on-call topics, tables, secrets."""

    def __init__(self, scope: Construct, construct_id: str, props: PlatformProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment
        self.environment = env
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/keel-{env.name}",
            description=f"Keel {env.name}: tables, queues, topics, secrets and logs",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._allow_services_to_use_key()
        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=f"keel-{env.name}")
        # Each route's pages that SNS could not deliver, by route (the dead-letter queue of its subscriptions).
        self.undelivered_pages: dict[str, sqs.Queue] = {}
        self.topics = {route: self._topic(route, spec.subscriptions) for route, spec in env.oncall_routes.items()}
        self.idempotency_table = self._table("IdempotencyTable", "idempotency", "id", None, ttl="expiration", retain=False)
        self.decisions_table = self._table("DecisionsTable", "decisions", "pk", "sk", ttl=None, retain=True)
        # Lookups of the decision record: by event, execution, resource, and real actions on a resource.
        for index, attribute in DECISION_INDEXES.items():
            self.decisions_table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=attribute, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name="recorded_at", type=dynamodb.AttributeType.STRING),
            )
        # Answered requests are purged long after expiry; the decision record keeps the outcome.
        self.approvals_table = self._table("ApprovalsTable", "approvals", "pk", "sk", ttl="purge_at", retain=True)
        self.approvals_table.add_global_secondary_index(
            index_name="by_status",
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="requested_at", type=dynamodb.AttributeType.STRING),
        )
        self.secrets = {name: self._secret(name) for name in sorted(props.secrets)}

    def topic(self, route: str) -> sns.ITopic:
        return self.topics[route]

    def _allow_services_to_use_key(self) -> None:
        stack = Stack.of(self)
        # Services that write into resources encrypted with this key on our behalf: CloudWatch
        # alarms publishing to topics, EventBridge and SNS dead-lettering to queues, CloudWatch Logs.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsEventsAndSnsToUseKey",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("sns.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        log_groups = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsToUseKey",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )

    def _topic(self, route: str, subs: list[Subscription]) -> sns.Topic:
        topic = sns.Topic(
            self,
            f"OnCall-{route}",
            topic_name=f"keel-{self.environment.name}-oncall-{route}",
            display_name=f"Keel {self.environment.name} on-call: {route}",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Pages that SNS fails to deliver (an endpoint down, a bounced mail) are kept, not lost.
        undelivered = sqs.Queue(
            self,
            f"OnCall-{route}-Undelivered",
            queue_name=f"keel-{self.environment.name}-oncall-{route}-undelivered",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
            acknowledge(undelivered, rule, f"This queue is itself the dead-letter queue of the '{route}' on-call subscriptions")
        self.undelivered_pages[route] = undelivered
        for index, sub in enumerate(subs):
            topic.add_subscription(self._subscription(f"{route}-{index}", sub, undelivered))
        return topic

    def _subscription(self, construct_id: str, sub: Subscription, undelivered: sqs.IQueue) -> sns.ITopicSubscription:
        if sub.protocol == "email":
            return subscriptions.EmailSubscription(sub.endpoint, dead_letter_queue=undelivered)
        if sub.protocol == "https":
            return subscriptions.UrlSubscription(
                sub.endpoint, protocol=sns.SubscriptionProtocol.HTTPS, dead_letter_queue=undelivered
            )
        if sub.protocol == "sqs":
            queue = sqs.Queue.from_queue_arn(self, f"Queue-{construct_id}", sub.endpoint)
            return subscriptions.SqsSubscription(queue, dead_letter_queue=undelivered)
        function = aws_lambda.Function.from_function_arn(self, f"Function-{construct_id}", sub.endpoint)
        return subscriptions.LambdaSubscription(function, dead_letter_queue=undelivered)

    def _table(
        self, construct_id: str, purpose: str, partition: str, sort: str | None, *, ttl: str | None, retain: bool
    ) -> dynamodb.Table:
        # Named, so operators' tools (keel ops) find them by environment without a stack lookup.
        return dynamodb.Table(
            self,
            construct_id,
            table_name=f"keel-{self.environment.name}-{purpose}",
            partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute=ttl,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )

    def _secret(self, name: str) -> secretsmanager.Secret:
        spec = self.environment.secrets[name]
        secret = secretsmanager.Secret(
            self,
            f"Secret-{name}",
            secret_name=f"keel/{self.environment.name}/{name}",
            description=spec.description,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        if spec.rotation_lambda_arn:
            secret.add_rotation_schedule(
                "Rotation",
                rotation_lambda=aws_lambda.Function.from_function_arn(self, f"Rotator-{name}", spec.rotation_lambda_arn),
                automatically_after=Duration.days(spec.rotation_days),
            )
        else:
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                f"'{name}' is a third-party credential rotated by its issuer; "
                "the environment table names no rotation function for it",
            )
        return secret
