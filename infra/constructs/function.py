"""A function module deployed for one automation, in that automation's stack, with a role of its own.

Each automation gets its own instance of every module it uses: the role grants exactly what
functions/<module>/function.yaml declares plus read access to this automation's secrets (never
another automation's), the code is the version this automation's stack was last deployed with, and
errors page this automation's owner. No managed policies, no wildcard actions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from aws_cdk import ArnFormat, Duration, Fn, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.shared.adapters.model_store import model_key, pointer_key
from functions.shared.domain.decisions import chain_partition, marker_partition_prefix
from infra import names
from infra.config import ApiSpec
from infra.constructs.deploy_time import deploy_time_value
from infra.constructs.key_use import KeyUse, grant_key_use
from infra.constructs.log_group import platform_log_group
from infra.constructs.platform import TABLE_INDEXES, PlatformResources
from infra.function_spec import DECISION_WRITER, FunctionSpec, bounded_by_its_arn
from infra.nag import acknowledge_all, nag_resource_of
from infra.packaging import package_digest

# The Python the tests and the local cloud run on (CPython 3.11 on these machines and CI): the handlers
# are tested on the interpreter Lambda runs them on. README "Python on Lambda" says why and until when.
RUNTIME = lambda_.Runtime.PYTHON_3_11
RUNTIME_REASON = (
    "python3.11 is the interpreter the handlers are tested on (tests and local cloud run CPython 3.11); Lambda "
    "supports it until 2027-06-30 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html)"
)
METRICS_NAMESPACE = "Keel"
# The limits table is read and written one item at a time, each write under a condition.
LIMITS_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
# The decision writer reads a chain's head and step markers and creates items (in a transaction: each
# Put needs PutItem; there is no TransactWriteItems action,
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
# No UpdateItem, DeleteItem, BatchWriteItem, Scan or Query: it cannot edit or remove a decision.
DECISIONS_APPEND_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem"]
OVERRIDES_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"]
# A reader of the decision record (the advisor drift watch) reads chains a page at a time, from a seq on.
DECISIONS_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"]
# Which platform table each platform_access entry reaches, and what else of the key it needs.
TABLE_OF_ACCESS = {
    "idempotency_table": "idempotency",
    "decisions_append": "decisions",
    "decisions_read": "decisions",
    "approvals_table": "approvals",
    "approvals_table_read": "approvals",
    "limits_table": "limits",
    "overrides_read": "overrides",
    "confidential_write": "confidential",
    "confidential_read": "confidential",
    "models_read": "models",
    "models_write": "models",
}
# The decision writer reads and creates single items by key: it queries no index of the decisions table.
NO_INDEX_QUERIES = {"decisions_append", "decisions_read", "models_read", "models_write"}
# One item at a time, and only what each side does: the seal writes, the readers read.
CONFIDENTIAL_ACTIONS = {"confidential_write": ["dynamodb:PutItem"], "confidential_read": ["dynamodb:GetItem"]}
KEY_USE_OF_ACCESS: dict[str, KeyUse] = {
    **dict.fromkeys(TABLE_OF_ACCESS, "dynamodb"),
    "oncall_topics": "sns",
    "oncall_topics_all": "sns",
}


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The public Powertools layer, pinned to the version the tests run against.

    Its ARN is read from the public SSM parameter at deploy time (a CloudFormation parameter), so
    synth never calls AWS and the deployed version always equals the one pinned in pyproject.toml.
    """
    version = metadata.version("aws-lambda-powertools")
    arch = "x86_64"
    runtime = RUNTIME.name  # e.g. python3.11
    arn = deploy_time_value(
        scope,
        "PowertoolsLayerArn",
        f"/aws/service/powertools/python/{arch}/{runtime}/{version}",
        f"the public Powertools {version} layer's ARN",
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)


@dataclass(frozen=True)
class FunctionProps:
    spec: FunctionSpec
    # The automation this instance of the module runs for.
    automation: str
    platform: PlatformResources
    package_dir: Path
    layer: lambda_.ILayerVersion
    # The secrets the automation declares: the only ones this function may read.
    secrets: list[str]
    # The automation's on-call routes (oncall, escalation, approvers): the only topics it may publish to.
    routes: list[str]
    # The external APIs the automation calls (its manifest's `apis`), for functions with external_apis access.
    apis: dict[str, ApiSpec] = field(default_factory=dict)


class KeelFunction(Construct):
    """A function module deployed as a Lambda function; `function` and `role` are exposed."""

    def __init__(self, scope: Construct, construct_id: str, props: FunctionProps) -> None:
        super().__init__(scope, construct_id)
        spec, platform = props.spec, props.platform
        env_name = platform.environment.name
        self.spec = spec
        self.automation = props.automation
        self._executions_read: dict[str, str] = {}
        self._kpis_read: dict[str, str] = {}
        self.log_group = platform_log_group(
            self, "Logs", f"/keel/{env_name}/functions/{props.automation}/{spec.module}", platform
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Keel {env_name} {props.automation} function {spec.module}: only what function.yaml declares",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=names.function(env_name, props.automation, spec.module),
            description=spec.description,
            runtime=RUNTIME,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(props.package_dir)),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            reserved_concurrent_executions=spec.reserved_concurrency,
            role=self.role,
            log_group=self.log_group,
            # X-Ray at the service level: invocations, cold starts and durations under the execution's trace,
            # at no cold-start cost; the handlers' own AWS calls are not traced (functions/shared/runtime/
            # observability.py has the measurement: the Powertools Tracer would cost +62 ms, +33%, per cold start).
            tracing=lambda_.Tracing.ACTIVE,
            layers=[props.layer],
            environment=self._environment(props),
        )
        self._grant(props)
        # Queues of automations this function may send to (allow_sending), by automation.
        self._queues: dict[str, dict[str, str]] = {}
        Tags.of(self).add("keel:function", spec.module)
        acknowledge_all(
            self.function,
            {
                "Serverless-LambdaDLQ": "Invoked synchronously by Step Functions only; a failure surfaces in the "
                "execution, where Retry/Catch handle it",
                "Serverless-LambdaAsyncFailureDestination": "Invoked synchronously by Step Functions only; there are "
                "no asynchronous invocations to route",
                "AwsSolutions-L1": RUNTIME_REASON,
                "Serverless-LambdaLatestVersion": RUNTIME_REASON,
            },
        )

    def _environment(self, props: FunctionProps) -> dict[str, str]:
        platform, spec = props.platform, props.spec
        env = {
            "KEEL_ENVIRONMENT": platform.environment.name,
            "POWERTOOLS_SERVICE_NAME": spec.module,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "KEEL_CODE_VERSION": package_digest(props.package_dir),
        }
        access = set(spec.platform_access)
        env.update(self._table_variables(platform, access))
        if "decision_writer" in access:
            env["KEEL_DECISION_WRITER"] = names.function(platform.environment.name, props.automation, DECISION_WRITER)
        if access & {"decisions_append", "models_read"}:
            env["KEEL_AUTOMATION"] = props.automation
        if "models_write" in access:
            env["KEEL_RETRAINS"] = ",".join(spec.retrains)
        if "confidential_write" in access:
            env["KEEL_CONFIDENTIAL_RETENTION_DAYS"] = str(platform.environment.confidential_retention_days)
        if "event_bus" in access:
            env["KEEL_EVENT_BUS"] = platform.event_bus.event_bus_name
        if access & {"oncall_topics", "oncall_topics_all"}:
            routes = platform.environment.oncall_routes if "oncall_topics_all" in access else props.routes
            topics = {route: platform.topic(route).topic_arn for route in routes}
            env["KEEL_ONCALL_TOPICS"] = Stack.of(self).to_json_string(topics)
        if "external_apis" in access:
            env["KEEL_APIS"] = json.dumps(
                {name: api_settings(api) for name, api in sorted(props.apis.items())}, sort_keys=True, separators=(",", ":")
            )
        if props.secrets:
            # Secret ids by name: the platform names them, Secrets Manager suffixes their ARNs.
            env["KEEL_SECRETS"] = Stack.of(self).to_json_string(
                {name: names.secret(platform.environment.name, name) for name in props.secrets}
            )
        return env

    @staticmethod
    def _table_variables(platform: PlatformResources, access: AbstractSet[str]) -> dict[str, str]:
        """The name of each platform table the function reaches, in the variable its settings read."""
        tables = {
            "KEEL_IDEMPOTENCY_TABLE": ({"idempotency_table"}, platform.idempotency_table),
            "KEEL_DECISIONS_TABLE": ({"decisions_append", "decisions_read", "models_write"}, platform.decisions_table),
            "KEEL_OVERRIDES_TABLE": ({"overrides_read"}, platform.overrides_table),
            "KEEL_APPROVALS_TABLE": ({"approvals_table", "approvals_table_read"}, platform.approvals_table),
            "KEEL_LIMITS_TABLE": ({"limits_table"}, platform.limits_table),
            "KEEL_CONFIDENTIAL_TABLE": (set(CONFIDENTIAL_ACTIONS), platform.confidential_table),
            "KEEL_MODELS_TABLE": ({"models_read", "models_write"}, platform.models_table),
        }
        return {variable: table.table_name for variable, (needs, table) in tables.items() if access & needs}

    def _grant(self, props: FunctionProps) -> None:
        platform, spec, role = props.platform, props.spec, self.role
        grants: dict[str, Callable[[], object]] = {
            "idempotency_table": lambda: platform.idempotency_table.grant_read_write_data(role),
            "decision_writer": lambda: self._grant_decision_writer(props),
            "decisions_append": lambda: self._grant_decisions_append(props),
            "decisions_read": lambda: self._grant_items(
                DECISIONS_READ_ACTIONS,
                platform.decisions_table,
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [chain_partition("*")]}},
            ),
            "overrides_read": lambda: self._grant_items(OVERRIDES_READ_ACTIONS, platform.overrides_table),
            "approvals_table": lambda: platform.approvals_table.grant_read_write_data(role),
            "approvals_table_read": lambda: platform.approvals_table.grant_read_data(role),
            "limits_table": lambda: self._grant_limits(props),
            "confidential_write": lambda: self._grant_confidential(props, "confidential_write"),
            "confidential_read": lambda: self._grant_confidential(props, "confidential_read"),
            "event_bus": lambda: platform.event_bus.grant_put_events_to(role),
            "oncall_topics": lambda: [platform.topic(route).grant_publish(role) for route in props.routes],
            "oncall_topics_all": lambda: [
                platform.topic(route).grant_publish(role) for route in platform.environment.oncall_routes
            ],
            "kpis_read": lambda: self._grant_kpis_read(props),
            # Its credentials are among props.secrets (the automation stack adds them), read like the others.
            "external_apis": lambda: None,
            "models_read": lambda: self._grant_models_read(props),
            "models_write": lambda: self._grant_models_write(props),
        }
        for resource in spec.platform_access:
            grants[resource]()
        self._grant_index_queries(props)
        grant_key_use(
            role, platform.key, [KEY_USE_OF_ACCESS[access] for access in spec.platform_access if access in KEY_USE_OF_ACCESS]
        )
        # Lambda writes the function's logs with its execution role: without these two actions on its
        # log group nothing reaches CloudWatch Logs
        # (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html, "Required IAM permissions";
        # the group exists, made by the stack, so logs:CreateLogGroup is not needed).
        self.log_group.grant_write(role)
        for name in props.secrets:
            platform.secret(name).grant_read(role)
        for statement in spec.permissions:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=statement.actions,
                    resources=[_sub(resource) for resource in statement.resources],
                    conditions=statement.conditions,
                )
            )
        acknowledge_all(
            role,
            {
                **_role_wildcards(spec),
                **_declared_wildcards(spec),
                **self._secret_suffixes(props),
                **self._executions_read,
                **self._kpis_read,
            },
        )

    def _grant_limits(self, props: FunctionProps) -> None:
        """Only what conditional writes on single items need: no scan, no batch, no index."""
        self._grant_items(LIMITS_TABLE_ACTIONS, props.platform.limits_table)

    def _grant_items(
        self, actions: list[str], table: dynamodb.ITable, conditions: dict[str, dict[str, object]] | None = None
    ) -> None:
        """Item actions on one table (no index); the key's use for them is granted with the others (grant_key_use)."""
        self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[table.table_arn], conditions=conditions))

    def _grant_decisions_append(self, props: FunctionProps) -> None:
        """The automation's own items alone: every partition key it may read or write starts with the
        automation's prefix (functions/shared/domain/decisions.py), enforced by dynamodb:LeadingKeys
        (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
        ForAllValues is true of a request without the key, but every GetItem and PutItem names its key."""
        own = [chain_partition(props.automation), f"{marker_partition_prefix(props.automation)}*"]
        self._grant_items(
            DECISIONS_APPEND_ACTIONS,
            props.platform.decisions_table,
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": own}},
        )
        # Which version and alias of the automation's state machine ran a decision's execution
        # (functions/shared/adapters/executions.py): its own executions and its shadow run's, nothing else.
        machine = names.state_machine(props.platform.environment.name, props.automation)
        executions = [
            Stack.of(self).format_arn(
                service="states", resource="execution", resource_name=f"{name}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
            for name in (machine, f"{machine}-shadow")
        ]
        self.role.add_to_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=executions))
        self._executions_read = {
            f"AwsSolutions-IAM5[Resource::{nag_resource_of(self, arn)}]": "states:DescribeExecution on the executions of "
            "this automation's own state machine (every execution name under it): which version and alias ran the decision"
            for arn in executions
        }

    def _grant_kpis_read(self, props: FunctionProps) -> None:
        """The reads of functions/shared/adapters/kpi_sources.py, on the environment's resources (keel-<env>-*).
        tag:GetResources and cloudwatch:GetMetricData support no resource-level permissions; DescribeAlarmHistory
        takes the alarm resource type ("Actions, resources, and condition keys for Amazon CloudWatch",
        https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html). Only a
        composite alarm's history needs it scoped to * (API_DescribeAlarmHistory.html); the reads ask for metric alarms."""
        stack, env_prefix = Stack.of(self), names.prefix(props.platform.environment.name)
        colon = ArnFormat.COLON_RESOURCE_NAME
        scoped = {
            "cloudwatch:DescribeAlarmHistory": stack.format_arn(
                service="cloudwatch", resource="alarm", resource_name=f"{env_prefix}-*", arn_format=colon
            ),
            "states:ListExecutions": stack.format_arn(
                service="states", resource="stateMachine", resource_name=f"{env_prefix}-*", arn_format=colon
            ),
            "states:GetExecutionHistory": stack.format_arn(
                service="states", resource="execution", resource_name=f"{env_prefix}-*", arn_format=colon
            ),
            "lambda:GetFunctionConfiguration": stack.format_arn(
                service="lambda", resource="function", resource_name=f"{env_prefix}-*", arn_format=colon
            ),
        }
        scoped_reads = {**scoped, "states:DescribeStateMachine": scoped["states:ListExecutions"]}
        for action, arn in scoped_reads.items():
            self.role.add_to_policy(iam.PolicyStatement(actions=[action], resources=[arn]))
        self.role.add_to_policy(iam.PolicyStatement(actions=["tag:GetResources", "cloudwatch:GetMetricData"], resources=["*"]))
        actions_on: dict[str, list[str]] = {}
        for action, arn in scoped_reads.items():
            actions_on.setdefault(arn, []).append(action)
        self._kpis_read = {
            f"AwsSolutions-IAM5[Resource::{nag_resource_of(self, arn)}]": f"{', '.join(sorted(actions))} on the "
            f"{env_prefix}-* resources of this environment only: the KPIs of every team's automations"
            for arn, actions in actions_on.items()
        }

    def _grant_decision_writer(self, props: FunctionProps) -> None:
        """Invoke the automation's own record_decision, by name (it is in this stack; another automation's is not)."""
        writer = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=names.function(props.platform.environment.name, props.automation, DECISION_WRITER),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[writer]))

    def _grant_confidential(self, props: FunctionProps, access: str) -> None:
        """Single items of the confidential store: no scan, no query, no batch, nothing else."""
        self.role.add_to_policy(
            iam.PolicyStatement(actions=CONFIDENTIAL_ACTIONS[access], resources=[props.platform.confidential_table.table_arn])
        )

    def _grant_models_read(self, props: FunctionProps) -> None:
        """Its own automation's models and pointers, one item at a time (dynamodb:LeadingKeys, as for decisions)."""
        own = [model_key(props.automation, "*"), pointer_key(props.automation, "*")]
        self._grant_items(
            ["dynamodb:GetItem"],
            props.platform.models_table,
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": own}},
        )

    def _grant_models_write(self, props: FunctionProps) -> None:
        """For each automation it retrains: that automation's decision chain (records, by Query; no markers, no
        index, no write), and its models and shadow pointer (GetItem, PutItem; never the live pointer, which
        only a person's promotion moves)."""
        retrains = props.spec.retrains
        self._grant_items(
            ["dynamodb:Query"],
            props.platform.decisions_table,
            conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [chain_partition(name) for name in retrains]}},
        )
        keys = [key for name in retrains for key in (model_key(name, "*"), pointer_key(name, "shadow"))]
        self._grant_items(
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            props.platform.models_table,
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": keys}},
        )

    def _grant_index_queries(self, props: FunctionProps) -> None:
        """dynamodb:Query on each index of the tables this function reaches, named one by one: an index can
        only be queried or scanned, and Keel's lookups query (no wildcard, so nothing to acknowledge)."""
        platform = props.platform
        tables = {
            "decisions": platform.decisions_table,
            "approvals": platform.approvals_table,
            "idempotency": platform.idempotency_table,
            "limits": platform.limits_table,
            "overrides": platform.overrides_table,
            "confidential": platform.confidential_table,
            "models": platform.models_table,
        }
        querying = set(props.spec.platform_access) & set(TABLE_OF_ACCESS) - NO_INDEX_QUERIES
        reached = sorted({TABLE_OF_ACCESS[access] for access in querying})
        indexes = [f"{tables[table].table_arn}/index/{index}" for table in reached for index in TABLE_INDEXES[table]]
        if indexes:
            self.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=indexes))

    def _secret_suffixes(self, props: FunctionProps) -> dict[str, str]:
        return {
            f"AwsSolutions-IAM5[Resource::{nag_resource_of(self, props.platform.secret(name).secret_arn)}-??????]": (
                f"'{name}' is one secret: `-??????` only matches the random suffix Secrets Manager adds to its ARN"
            )
            for name in props.secrets
        }

    def allow_sending(self, automation: str, queues: dict[str, sqs.IQueue], key: kms.IKey) -> None:
        """Let this function send to an automation's queues (manifest `queues:`): their URLs in
        KEEL_QUEUES as {automation: {queue: url}}, sqs:SendMessage on exactly those queues, and the
        platform key's data-key actions that sending to a KMS-encrypted queue needs."""
        self._queues[automation] = {name: queue.queue_url for name, queue in sorted(queues.items())}
        self.function.add_environment("KEEL_QUEUES", Stack.of(self).to_json_string(self._queues))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes"],
                resources=[queue.queue_arn for _, queue in sorted(queues.items())],
            )
        )
        grant_key_use(self.role, key, ["sqs"])

    @property
    def function_arn(self) -> str:
        return self.function.function_arn


def _sub(resource: str) -> str:
    return Fn.sub(resource) if "${" in resource else resource


def _role_wildcards(spec: FunctionSpec) -> dict[str, str]:
    """The role's `*` finding: what CDK adds for active tracing, and what function.yaml declares on `*`."""
    unscoped = [statement for statement in spec.permissions if "*" in statement.resources]
    declared = "".join(
        f"; {', '.join(statement.actions)} as function.yaml declares: {statement.reason}" for statement in unscoped
    )
    if "kpis_read" in spec.platform_access:
        declared += (
            "; tag:GetResources and cloudwatch:GetMetricData (kpis_read), which support no resource-level "
            "permissions: the environment's automations found by their tags, and their metrics"
        )
    return {
        "AwsSolutions-IAM5[Resource::*]": "xray:PutTraceSegments and xray:PutTelemetryRecords for active tracing, "
        "which support no resource-level permissions" + declared
    }


def _declared_wildcards(spec: FunctionSpec) -> dict[str, str]:
    """A wildcard function.yaml bounds (with a condition, or by an S3 folder in the ARN): acknowledged
    on this role, with its reason. Statements on the same resource share one finding, so its reason
    says what each of them allows."""
    reasons: dict[str, list[str]] = {}
    for statement in spec.permissions:
        if statement.conditions is None and not any(bounded_by_its_arn(resource) for resource in statement.resources):
            continue
        bound = "; ".join(
            f"{operator} {key}={_values(value)}"
            for operator, keys in (statement.conditions or {}).items()
            for key, value in keys.items()
        )
        scope = f"where {bound}" if bound else "on the keys under the folder its ARN names"
        for resource in statement.resources:
            if "*" in resource:
                finding = f"AwsSolutions-IAM5[Resource::{nag_resource(resource)}]"
                reasons.setdefault(finding, []).append(f"{', '.join(statement.actions)} only {scope}. {statement.reason}")
    return {finding: f"{spec.module}: " + " | ".join(parts) for finding, parts in reasons.items()}


def _values(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "[" + ", ".join(value) + "]"


def nag_resource(resource: str) -> str:
    """How cdk-nag spells a resource in a finding id: ${AWS::Region} becomes <AWS::Region>."""
    return re.sub(r"\$\{([^}]+)\}", r"<\1>", resource)


def api_settings(api: ApiSpec) -> dict[str, object]:
    """What the platform's HTTP client reads of one API (functions/shared/adapters/http_api.py ApiSettings)."""
    return {
        "base_url": api.base_url,
        "auth": api.auth.kind,
        "secret": api.auth.secret,
        "header": api.auth.header,
        "token_path": api.auth.token_path,
        "connect_timeout_seconds": api.connect_timeout_seconds,
        "read_timeout_seconds": api.read_timeout_seconds,
        "rate_limit_per_second": api.rate_limit_per_second,
        "breaker_failures": api.breaker.failures,
        "breaker_cooloff_seconds": api.breaker.cooloff_seconds,
        "max_wait_seconds": api.max_wait_seconds,
    }
