"""One automation: EventBridge rule(s) -> state machine, with a dead-letter queue and the prologue.

The state machine's role is derived from what its ASL references: the functions it invokes and the
platform resources it names through ${Keel...} substitutions. Nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from functions.shared.domain.context import KeelContext, Limits
from infra import asl, names, workflow_defaults
from infra.catalog import Automation
from infra.constructs.function import KeelFunction
from infra.constructs.key_use import KeyUse, grant_key_use
from infra.constructs.log_group import platform_log_group
from infra.constructs.platform import TABLE_INDEXES, PlatformResources
from infra.constructs.versions import Release, ReleaseProps
from infra.event_pattern import rule_pattern
from infra.nag import acknowledge_all, nag_resource_of
from infra.shadow import shadow_definition


@dataclass(frozen=True)
class AutomationProps:
    automation: Automation
    platform: PlatformResources
    # This automation's own instances of the modules it uses.
    functions: dict[str, KeelFunction]


class AutomationResources(Construct):
    """Exposes `state_machine`, `release` (its version and live alias), `shadow_machine` (a candidate's
    forced dry run, when the manifest declares `shadow`), `dead_letter_queue`, `rules` and `log_group`."""

    def __init__(self, scope: Construct, construct_id: str, props: AutomationProps) -> None:
        super().__init__(scope, construct_id)
        manifest = props.automation.manifest
        platform = props.platform
        env = platform.environment
        settings = manifest.resolved_for(env.name)
        self.automation = props.automation
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=names.dead_letter_queue(env.name, manifest.name),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=platform.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge_all(
            self.dead_letter_queue,
            {
                "AwsSolutions-SQS3": "This queue is the dead-letter queue of the automation's EventBridge targets; "
                "it has no DLQ of its own",
                "Serverless-SQSRedrivePolicy": "This queue is the dead-letter queue of the automation's EventBridge "
                "targets; `keel ops redrive` replays it",
            },
        )
        self.log_group = platform_log_group(self, "Logs", f"/keel/{env.name}/statemachines/{manifest.name}", platform)
        # The tasks' own contract builds the context, so the prologue writes exactly what they parse.
        limits = settings.limits
        context = KeelContext(
            automation=manifest.name,
            version=manifest.version,
            environment=env.name,
            region=env.region,
            owner=manifest.owner,
            data_classification=manifest.data_classification,
            dry_run=limits.dry_run,
            approval_required=settings.approval_required,
            approval_from_risk=env.approval.required_from_risk,
            approval_timeout_seconds=env.approval.timeout_minutes * 60,
            oncall=manifest.oncall,
            escalation=manifest.escalation,
            approvers=manifest.approvers,
            definition_hash=asl.definition_hash(props.automation.definition),
            limits=Limits(
                max_concurrency=limits.concurrency.max if limits.concurrency else None,
                max_actions_per_window=limits.max_actions_per_window,
                window_minutes=limits.window_minutes,
            ),
        ).model_dump(mode="json")
        definition = asl.with_prologue(props.automation.definition, manifest.name, context)
        # CDK's `timeout` prop only applies to definitions it builds itself; ours come from a file.
        definition["TimeoutSeconds"] = manifest.workflow.timeout_seconds
        self.state_machine = self._state_machine("StateMachine", names.state_machine(env.name, manifest.name), definition, props)
        self.release = Release(
            self,
            "Release",
            ReleaseProps(state_machine=self.state_machine, manifest=manifest, environment=env.name, rollout=settings.rollout),
        )
        self.shadow_machine: sfn.StateMachine | None = None
        if manifest.shadow is not None:
            shadowed = shadow_definition(props.automation.definition, manifest.name, context)
            shadowed["TimeoutSeconds"] = manifest.workflow.timeout_seconds
            self.shadow_machine = self._state_machine(
                "ShadowStateMachine", names.shadow_state_machine(env.name, manifest.name), shadowed, props
            )
        self.rules = self._rules(props, enabled=settings.enabled)
        for rule in self.rules:  # its targets name the alias: it exists before they can start anything
            rule.node.add_dependency(self.release.alias)
        self.queues, self.queue_dead_letters = self._queues(props)
        for key, value in {
            "keel:automation": manifest.name,
            "keel:version": manifest.version,
            "keel:owner": manifest.owner,
            # The route that pages the owner: where the monthly review sends the team's summary.
            "keel:oncall": manifest.oncall,
            "keel:environment": env.name,
            "keel:data-classification": manifest.data_classification,
        }.items():
            Tags.of(self).add(key, value)

    def _state_machine(
        self, construct_id: str, name: str, definition: dict[str, Any], props: AutomationProps
    ) -> sfn.StateMachine:
        manifest = props.automation.manifest
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.EXPRESS
            if manifest.workflow.type == "express"
            else sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(definition, indent=2)),
            definition_substitutions=self._substitutions(definition, props),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=manifest.logs_execution_data,
            ),
        )
        self._grant_state_machine(machine, definition, props)
        return machine

    def _substitutions(self, definition: dict[str, Any], props: AutomationProps) -> dict[str, str]:
        platform, manifest = props.platform, props.automation.manifest
        available = {
            "KeelIdempotencyTable": lambda: platform.idempotency_table.table_name,
            "KeelApprovalsTable": lambda: platform.approvals_table.table_name,
            "KeelEventBus": lambda: platform.event_bus.event_bus_name,
            "KeelOncallTopic": lambda: platform.topic(manifest.oncall).topic_arn,
            "KeelEscalationTopic": lambda: platform.topic(manifest.escalation).topic_arn,
        }
        substitutions = {}
        for name in sorted(asl.substitutions_used(definition)):
            if name in available:
                substitutions[name] = available[name]()
            else:
                # The version this deploy published: an execution runs the code it started with.
                substitutions[name] = props.functions[name].function.current_version.function_arn
        return substitutions

    def _grant_state_machine(self, machine: sfn.StateMachine, definition: dict[str, Any], props: AutomationProps) -> None:
        platform, manifest = props.platform, props.automation.manifest
        role = machine.role
        used = asl.substitutions_used(definition)
        # The prologue's claim (a conditional put) and Keel's failure path releasing it (a conditional
        # update) are the only access to the idempotency table.
        claims = ["dynamodb:PutItem"] + (
            ["dynamodb:UpdateItem"] if workflow_defaults.RELEASE_CLAIM in definition["States"] else []
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=claims, resources=[platform.idempotency_table.table_arn]))
        key_uses: list[KeyUse] = ["dynamodb"]
        invoked = [f"{props.functions[module].function_arn}:*" for module in sorted(used & set(manifest.functions))]
        if invoked:
            # Qualified ARNs only (function:NAME:VERSION): the ASL invokes the versions a deploy
            # published, never $LATEST, so an execution keeps the code it started with.
            role.add_to_principal_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=invoked))
        tables: dict[str, dynamodb.ITable] = {"KeelApprovalsTable": platform.approvals_table}
        versions = (
            "lambda:InvokeFunction on the published versions of this automation's own function (its ARN and a version "
            "number): every deploy publishes one, and executions started on an earlier version finish on it"
        )
        findings = {f"AwsSolutions-IAM5[Resource::{nag_resource_of(self, arn)}]": versions for arn in invoked} | {
            "AwsSolutions-IAM5[Resource::*]": "CloudWatch Logs log delivery (logs:CreateLogDelivery, logs:GetLogDelivery, "
            "logs:UpdateLogDelivery, logs:DeleteLogDelivery, logs:ListLogDeliveries, logs:PutResourcePolicy, "
            "logs:DescribeResourcePolicies, logs:DescribeLogGroups) and xray:PutTraceSegments, xray:PutTelemetryRecords, "
            "xray:GetSamplingRules, xray:GetSamplingTargets, which support no resource-level permissions; every other "
            "statement names its resource"
        }
        for name in sorted(used & set(tables)):
            tables[name].grant_read_write_data(role)
            indexes = TABLE_INDEXES["approvals"]
            if indexes:
                index_arns = [f"{tables[name].table_arn}/index/{index}" for index in indexes]
                role.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=index_arns))
        if "KeelEventBus" in used:
            platform.event_bus.grant_put_events_to(role)
        # sns:Publish on the named topics only, and the key's use for them through SNS.
        topics = {"KeelOncallTopic": manifest.oncall, "KeelEscalationTopic": manifest.escalation}
        published = sorted({platform.topic(topics[name]).topic_arn for name in used & set(topics)})
        if published:
            role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=published))
            key_uses.append("sns")
        grant_key_use(role, platform.key, key_uses)
        acknowledge_all(role, findings)

    def _queues(self, props: AutomationProps) -> tuple[dict[str, sqs.Queue], dict[str, sqs.Queue]]:
        """The manifest's `queues:`, each with its own dead-letter queue; only the senders may send."""
        declared = props.automation.manifest.queues
        if declared is None:
            return {}, {}
        env, automation = props.platform.environment.name, props.automation.name
        queues: dict[str, sqs.Queue] = {}
        dead_letters: dict[str, sqs.Queue] = {}
        for name in declared.names:
            dead_letters[name] = sqs.Queue(
                self,
                f"Queue-{name}-DeadLetters",
                queue_name=names.queue_dead_letters(env, automation, name),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=props.platform.key,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            acknowledge_all(
                dead_letters[name],
                dict.fromkeys(
                    ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"),
                    f"This queue is itself the dead-letter queue of {names.queue(env, automation, name)}; "
                    "its depth pages the owner",
                ),
            )
            queues[name] = sqs.Queue(
                self,
                f"Queue-{name}",
                queue_name=names.queue(env, automation, name),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=props.platform.key,
                enforce_ssl=True,
                retention_period=Duration.days(declared.retention_days),
                visibility_timeout=Duration.seconds(declared.visibility_timeout_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=declared.max_receive_count, queue=dead_letters[name]),
            )
        for sender in declared.senders:
            props.functions[sender].allow_sending(props.automation.name, dict(queues), props.platform.key)
        return queues, dead_letters

    def _rules(self, props: AutomationProps, *, enabled: bool) -> list[events.Rule]:
        manifest, platform = props.automation.manifest, props.platform
        trigger = manifest.trigger
        # Executions start through the live alias, which routes them to a version.
        # Named in this stack's account and region (the alias ARN is the state machine's, suffixed :live).
        live = sfn.StateMachine.from_state_machine_name(
            self, "LiveAlias", f"{names.state_machine(platform.environment.name, manifest.name)}:{names.LIVE_ALIAS}"
        )
        role = iam.Role(self, "EventsRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"))
        # StartExecution through an alias is authorized on the state machine's ARN, scoped to the
        # alias by the states:StateMachineQualifier key
        # (https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[self.state_machine.state_machine_arn],
                conditions={"StringEquals": {"states:StateMachineQualifier": names.LIVE_ALIAS}},
            )
        )
        started = [live] if self.shadow_machine is None else [live, self.shadow_machine]
        target = [
            targets.SfnStateMachine(
                machine,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=trigger.retry_attempts,
                max_event_age=Duration.seconds(trigger.max_event_age_seconds),
                role=role,
            )
            for machine in started
        ]
        rules = []
        if trigger.event_pattern is not None:
            rule = events.Rule(
                self,
                "EventRule",
                rule_name=names.rule(platform.environment.name, manifest.name, "events"),
                description=f"{manifest.name} {manifest.version}: {manifest.description}"[:512],
                event_bus=platform.event_bus if trigger.bus == "keel" else None,
                # CDK's own validation wants the rule to hold a pattern (or a schedule); this stand-in
                # satisfies it and is never rendered: the L1 property below replaces CDK's rendering.
                event_pattern=events.EventPattern(detail={}),
                enabled=enabled,
                targets=target,
            )
            # CDK's typed EventPattern takes only strings where EventBridge also takes matchers
            # (`source: [{prefix: ...}]`); the L1 property carries the manifest's pattern as written,
            # already checked by infra/event_pattern.py.
            cast(events.CfnRule, rule.node.default_child).event_pattern = rule_pattern(trigger.event_pattern)
            rules.append(rule)
        if trigger.schedule is not None:
            rules.append(
                events.Rule(
                    self,
                    "ScheduleRule",
                    rule_name=names.rule(platform.environment.name, manifest.name, "schedule"),
                    description=f"{manifest.name} {manifest.version}: schedule {trigger.schedule}",
                    schedule=events.Schedule.expression(trigger.schedule),
                    enabled=enabled,
                    targets=target,
                )
            )
        return rules

    @property
    def stack(self) -> Stack:
        return Stack.of(self)
