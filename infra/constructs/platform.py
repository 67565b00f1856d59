"""Shared resources of one environment: bus, key, on-call topics, tables and the secrets catalog.

`Platform` creates them, in the platform stack. `PlatformRefs` reaches them from an automation's
stack by their names (infra/names.py), and the key by the ARN the platform stack keeps in an SSM
parameter, read at deploy time: no CloudFormation export, so no automation stack ever locks the
platform stack. Constructs take either through the `PlatformResources` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, aws_lambda
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from functions.shared.adapters import confidential_store
from functions.shared.domain import event_claim
from functions.shared.domain.approvals import BY_STATUS
from functions.shared.domain.decisions import INDEXES as DECISION_INDEXES
from infra import names
from infra.config import Environment, Subscription
from infra.constructs.deploy_time import deploy_time_value
from infra.nag import acknowledge

TABLE_INDEXES = {
    "idempotency": [],
    "decisions": sorted(DECISION_INDEXES),
    "approvals": [BY_STATUS],
    "limits": [],
    "overrides": [],
    "confidential": [],
    "models": [],
}


class PlatformResources(Protocol):
    """What an automation's constructs use of the platform, wherever it was created."""

    @property
    def environment(self) -> Environment: ...
    @property
    def key(self) -> kms.IKey: ...
    @property
    def event_bus(self) -> events.IEventBus: ...
    @property
    def idempotency_table(self) -> dynamodb.ITable: ...
    @property
    def decisions_table(self) -> dynamodb.ITable: ...
    @property
    def approvals_table(self) -> dynamodb.ITable: ...
    @property
    def limits_table(self) -> dynamodb.ITable: ...
    @property
    def overrides_table(self) -> dynamodb.ITable: ...
    @property
    def confidential_table(self) -> dynamodb.ITable: ...
    @property
    def models_table(self) -> dynamodb.ITable: ...
    def topic(self, route: str) -> sns.ITopic: ...
    def secret(self, name: str) -> secretsmanager.ISecret: ...


@dataclass(frozen=True)
class PlatformProps:
    # Every secret of its catalog is created, declared by an automation or not yet: the platform stack
    # depends on the environment table alone, never on which automations exist.
    environment: Environment


class Platform(Construct):
    """Per environment: the Keel event bus, a KMS key, on-call topics, tables, secrets."""

    def __init__(self, scope: Construct, construct_id: str, props: PlatformProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment
        self.environment = env
        self.key = kms.Key(
            self,
            "Key",
            alias=names.key_alias(env.name),
            description=f"Keel {env.name}: tables, queues, topics, secrets and logs",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._allow_services_to_use_key()
        ssm.StringParameter(
            self,
            "KeyArn",
            parameter_name=names.key_arn_parameter(env.name),
            string_value=self.key.key_arn,
            description=f"Keel {env.name}: the platform key's ARN, read by automation stacks at deploy time",
        )
        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=names.event_bus(env.name))
        # Each route's pages that SNS could not deliver, by route (the dead-letter queue of its subscriptions).
        self.undelivered_pages: dict[str, sqs.Queue] = {}
        self.topics: dict[str, sns.ITopic] = {
            route: self._topic(route, spec.subscriptions) for route, spec in env.oncall_routes.items()
        }
        # Claims, sent markers and probes expire through the attribute Powertools' idempotency layer also writes.
        self.idempotency_table = self._table(
            "IdempotencyTable", "idempotency", "id", None, ttl=event_claim.TTL_ATTRIBUTE, retain=False
        )
        # Its stream (old and new images) feeds the decision anchor (infra/constructs/decision_anchor.py).
        self.decisions_table = self._table(
            "DecisionsTable", "decisions", "pk", "sk", ttl=None, retain=True, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
        )
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
            index_name=BY_STATUS,
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="requested_at", type=dynamodb.AttributeType.STRING),
        )
        # Limits decided by conditional writes (functions/shared/domain/limits.py): cooldown leases, action
        # and concurrency slots, debounce bursts. Every item carries `expires`: what nobody gives back goes.
        self.limits_table = self._table("LimitsTable", "limits", "pk", "sk", ttl="expires", retain=False)
        # Operators' `keel ops disable|enable` (functions/shared/domain/overrides.py): written by operators
        # only, read by check_guardrails; apart from the decision record, which no one edits.
        self.overrides_table = self._table("OverridesTable", "overrides", "pk", "sk", ttl=None, retain=True)
        # The customer text of confidential automations, by reference (functions/shared/domain/confidential.py):
        # its own table, so only the roles that ask for confidential_read/_write reach it. Items expire after
        # the environment's confidential_retention_days.
        self.confidential_table = self._table(
            "ConfidentialTable", "confidential", "id", None, ttl=confidential_store.TTL_ATTRIBUTE, retain=False
        )
        # Advisor models that retraining produced, with their evaluations, and which one each automation
        # advises from in shadow or live (functions/shared/adapters/model_store.py). Retained: a decision
        # names the model version that made it, and the model must stay readable to explain it.
        self.models_table = self._table("ModelsTable", "models", "id", None, ttl=None, retain=True)
        self.secrets = {name: self._secret(name) for name in sorted(env.secrets)}

    def topic(self, route: str) -> sns.ITopic:
        return self.topics[route]

    def secret(self, name: str) -> secretsmanager.ISecret:
        return self.secrets[name]

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
            topic_name=names.oncall_topic(self.environment.name, route),
            display_name=f"Keel {self.environment.name} on-call: {route}",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Pages that SNS fails to deliver (an endpoint down, a bounced mail) are kept, not lost.
        undelivered = sqs.Queue(
            self,
            f"OnCall-{route}-Undelivered",
            queue_name=names.undelivered_pages_queue(self.environment.name, route),
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
        self,
        construct_id: str,
        purpose: str,
        partition: str,
        sort: str | None,
        *,
        ttl: str | None,
        retain: bool,
        stream: dynamodb.StreamViewType | None = None,
    ) -> dynamodb.Table:
        # Named, so operators' tools (keel ops) find them by environment without a stack lookup.
        return dynamodb.Table(
            self,
            construct_id,
            table_name=names.table(self.environment.name, purpose),
            partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute=ttl,
            stream=stream,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )

    def _secret(self, name: str) -> secretsmanager.Secret:
        spec = self.environment.secrets[name]
        secret = secretsmanager.Secret(
            self,
            f"Secret-{name}",
            secret_name=names.secret(self.environment.name, name),
            description=spec.description,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # A secret rotated through its API gets its schedule from infra/constructs/api_rotation.py.
        rotated_by_keel = any(api.auth.secret == name for api in self.environment.rotated_apis().values())
        if spec.rotation_lambda_arn:
            secret.add_rotation_schedule(
                "Rotation",
                rotation_lambda=aws_lambda.Function.from_function_arn(self, f"Rotator-{name}", spec.rotation_lambda_arn),
                automatically_after=Duration.days(spec.rotation_days),
            )
        elif not rotated_by_keel:
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                f"'{name}' is a third-party credential rotated by its issuer; "
                "the environment table names no rotation function for it",
            )
        return secret


class PlatformRefs(Construct):
    """The platform's resources as seen from another stack of the same environment (by name)."""

    def __init__(self, scope: Construct, construct_id: str, environment: Environment) -> None:
        super().__init__(scope, construct_id)
        env = environment.name
        self._environment = environment
        self._stack = Stack.of(self)
        key_arn = deploy_time_value(self, "KeyArn", names.key_arn_parameter(env), "the platform key's ARN")
        self._key = kms.Key.from_key_arn(self, "Key", key_arn)
        self._event_bus = events.EventBus.from_event_bus_name(self, "EventBus", names.event_bus(env))
        # Without their key and indexes: CDK's grants would add its broad key actions and every action on
        # index/*. Roles get the key's use through infra/constructs/key_use.py and queries on the indexes
        # by name (TABLE_INDEXES) instead.
        self._tables = {
            purpose: dynamodb.Table.from_table_attributes(self, f"Table-{purpose}", table_name=names.table(env, purpose))
            for purpose in TABLE_INDEXES
        }
        self._topics: dict[str, sns.ITopic] = {
            route: sns.Topic.from_topic_attributes(
                self,
                f"OnCall-{route}",
                topic_arn=self._stack.format_arn(service="sns", resource=names.oncall_topic(env, route)),
            )
            for route in environment.oncall_routes
        }
        self._secrets: dict[str, secretsmanager.ISecret] = {}

    @property
    def environment(self) -> Environment:
        return self._environment

    @property
    def key(self) -> kms.IKey:
        return self._key

    @property
    def event_bus(self) -> events.IEventBus:
        return self._event_bus

    @property
    def idempotency_table(self) -> dynamodb.ITable:
        return self._tables["idempotency"]

    @property
    def decisions_table(self) -> dynamodb.ITable:
        return self._tables["decisions"]

    @property
    def approvals_table(self) -> dynamodb.ITable:
        return self._tables["approvals"]

    @property
    def limits_table(self) -> dynamodb.ITable:
        return self._tables["limits"]

    @property
    def overrides_table(self) -> dynamodb.ITable:
        return self._tables["overrides"]

    @property
    def confidential_table(self) -> dynamodb.ITable:
        return self._tables["confidential"]

    @property
    def models_table(self) -> dynamodb.ITable:
        return self._tables["models"]

    def topic(self, route: str) -> sns.ITopic:
        return self._topics[route]

    def secret(self, name: str) -> secretsmanager.ISecret:
        """A secret of the environment's catalog, by its name; Secrets Manager adds a random suffix
        to the ARN, so grants name the partial ARN (AWS matches it with `-??????`)."""
        if name not in self._secrets:
            partial = self._stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=names.secret(self._environment.name, name),
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            self._secrets[name] = secretsmanager.Secret.from_secret_attributes(
                self, f"Secret-{name}", secret_partial_arn=partial, encryption_key=self._key
            )
        return self._secrets[name]
