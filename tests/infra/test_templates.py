"""Assertions on the real app's synthesized templates: every automation, every environment."""

from __future__ import annotations

import json
import re

import pytest
import template_checks as checks

from functions.shared.domain.approvals import BY_STATUS
from infra.app_builder import ROOT
from infra.catalog import load_catalog
from infra.config import load_environments

ENVIRONMENTS = load_environments(ROOT / "config" / "environments.yaml")
CATALOG = load_catalog(ROOT, ENVIRONMENTS)
ENV_NAMES = sorted(ENVIRONMENTS.environments)
AUTOMATIONS = [(env, automation) for env in ENV_NAMES for automation in CATALOG.automations]


def test_the_catalog_has_automations_and_every_environment_is_synthesized(synthesized) -> None:
    # Given the real app / Then there is something to check, in dev, staging and prod
    assert CATALOG.automations
    assert sorted(synthesized.templates) == ENV_NAMES == ["dev", "prod", "staging"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_each_environment_is_a_platform_stack_one_stack_per_automation_and_one_per_team(synthesized, env) -> None:
    # Given the synthesized app / When a stage's stacks are read
    stacks = synthesized.keel.environments[env]
    environment = ENVIRONMENTS.get(env)

    # Then the platform, every automation and every owning team have a stack named for the environment
    assert stacks.platform.stack_name == f"keel-{env}-platform"
    assert {name: stack.stack_name for name, stack in stacks.automations.items()} == {
        automation.name: f"keel-{env}-automation-{automation.name.replace('_', '-')}" for automation in CATALOG.automations
    }
    assert {stack.stack_name for stack in stacks.teams.values()} == {
        f"keel-{env}-team-{automation.manifest.owner}" for automation in CATALOG.automations
    }
    # And each deploys to the environment's account and region, after the platform stack
    for stack in stacks.all():
        assert (stack.account, stack.region) == (environment.account, environment.region)
    for stack in [*stacks.automations.values(), *stacks.teams.values()]:
        assert stack.dependencies == [stacks.platform]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_no_stack_exports_or_imports_anything(synthesized, env) -> None:
    # Given every stack of an environment / Then none exports a value another imports (an export in use
    # would lock the platform stack); automation stacks reach the platform by name and SSM parameter
    for name, template in synthesized.stacks[env].items():
        assert not any("Export" in output for output in template.get("Outputs", {}).values()), name
        assert "Fn::ImportValue" not in json.dumps(template), name


@pytest.mark.parametrize(("env", "automation"), AUTOMATIONS, ids=[f"{env}-{a.name}" for env, a in AUTOMATIONS])
def test_each_automation_has_its_rule_state_machine_alarms_and_tags(synthesized, env, automation) -> None:
    # Given an automation of the catalog and an environment's template
    template = synthesized.template(env)

    # When its resources are inspected
    # Then each rule target has a DLQ and a retry policy; the state machine logs, traces, times out and
    # starts with the claim prologue; alarms page the owner; the resources carry the five keel tags
    checks.check_automation(template, ENVIRONMENTS.get(env), automation, CATALOG)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_rule_target_in_the_template_has_a_dead_letter_queue_and_retry_policy(synthesized, env) -> None:
    # Given every rule in the template, whichever construct made it
    rules = checks.resources(synthesized.template(env), "AWS::Events::Rule")

    # Then each target dead-letters and retries explicitly
    assert rules
    for key, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            assert "Arn" in target.get("DeadLetterConfig", {}), f"{key} target without DLQ"
            assert {"MaximumEventAgeInSeconds", "MaximumRetryAttempts"} <= set(target.get("RetryPolicy", {})), key


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_state_machine_logs_traces_and_times_out(synthesized, env) -> None:
    # Given every state machine in the template
    template = synthesized.template(env)
    machines = checks.resources(template, "AWS::StepFunctions::StateMachine")

    # Then each has logging, tracing, a timeout and the claim prologue
    assert len(machines) == len(CATALOG.automations)
    for key in machines:
        props = checks.properties(template, key)
        assert props["LoggingConfiguration"]["Destinations"], key
        assert props["TracingConfiguration"] == {"Enabled": True}, key
        definition = checks.definition_of(template, key)
        assert definition["TimeoutSeconds"] > 0, key
        assert definition["StartAt"] == "KeelClaimEvent", key


@pytest.mark.parametrize("env", ENV_NAMES)
def test_each_function_is_sized_traced_and_has_its_own_role(synthesized, env) -> None:
    # Given the functions of an environment / Then one per module in use, as declared in function.yaml
    checks.check_functions(synthesized.template(env), ENVIRONMENTS.get(env), CATALOG)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_no_iam_policy_allows_a_wildcard_action(synthesized, env) -> None:
    # Given every identity policy statement in the template
    template = synthesized.template(env)

    # Then none allows "*" or "service:*"; unscopable actions are the only ones on Resource "*"
    assert checks.identity_policy_statements(template)
    checks.check_iam(template)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_alarm_pages_an_oncall_topic(synthesized, env) -> None:
    # Given every alarm in the template
    template = synthesized.template(env)
    topics = {checks.topic_arn(ENVIRONMENTS.get(env), route) for route in ENVIRONMENTS.get(env).oncall_routes}
    alarms = checks.resources(template, "AWS::CloudWatch::Alarm")

    # Then each has actions enabled, and they are on-call topics of this environment
    assert alarms
    for key, alarm in alarms.items():
        props = alarm["Properties"]
        assert props.get("ActionsEnabled", True) is True, key
        assert props["AlarmActions"], f"{key} pages nobody"
        assert {checks.text(action) for action in props["AlarmActions"]} <= topics, key


@pytest.mark.parametrize("env", ENV_NAMES)
def test_platform_storage_is_encrypted_and_recoverable(synthesized, env) -> None:
    # Given the platform's tables, keys and queues
    template = synthesized.template(env)
    keys = checks.resources(template, "AWS::KMS::Key")
    key_ids = checks.platform_key_ids(template)
    tables = checks.resources(template, "AWS::DynamoDB::Table")
    queues = checks.resources(template, "AWS::SQS::Queue")
    policies = checks.resources(template, "AWS::SQS::QueuePolicy")

    # Then each table has point-in-time recovery and the platform KMS key
    assert len(tables) >= 3, "idempotency, decisions and approvals tables"
    for key, table in tables.items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, key
        assert props["SSESpecification"]["SSEType"] == "KMS", key
        assert checks.referenced_ids(props["SSESpecification"]["KMSMasterKeyId"]) <= set(keys), key
    # And every key rotates
    assert keys
    assert all(key["Properties"]["EnableKeyRotation"] is True for key in keys.values())
    # And every queue is KMS-encrypted and denies requests that are not over TLS
    assert queues
    for key, queue in queues.items():
        assert checks.referenced_ids(queue["Properties"]["KmsMasterKeyId"]) <= key_ids, key
        denies = [
            statement
            for policy in policies.values()
            if {"Ref": key} in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert len(denies) == 1, f"{key} is not SSL-only"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_platform_resources_exist_once_per_environment(synthesized, env) -> None:
    # Given an environment's template
    template = synthesized.template(env)
    environment = ENVIRONMENTS.get(env)

    # Then it has its own event bus and one on-call topic per route, each subscribed as configured
    checks.find_by(template, "AWS::Events::EventBus", "Name", f"keel-{env}")
    subscriptions = checks.resources(template, "AWS::SNS::Subscription")
    for route, spec in environment.oncall_routes.items():
        topic = checks.topic_id(template, env, route)
        assert "KmsMasterKeyId" in checks.properties(template, topic)
        endpoints = sorted(
            (s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
            for s in subscriptions.values()
            if s["Properties"]["TopicArn"] == {"Ref": topic}
        )
        assert endpoints == sorted((sub.protocol, sub.endpoint) for sub in spec.subscriptions)
    # And each state machine's log group follows the environment's retention
    for group in checks.resources(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == environment.log_retention_days


def test_environments_differ_only_where_the_table_says(synthesized) -> None:
    # Given dev and prod
    dev, prod = synthesized.template("dev"), synthesized.template("prod")

    # Then prod retains logs longer and pages the prod routes, and names never leak across environments
    assert {g["Properties"]["RetentionInDays"] for g in checks.resources(prod, "AWS::Logs::LogGroup").values()} == {365}
    assert {g["Properties"]["RetentionInDays"] for g in checks.resources(dev, "AWS::Logs::LogGroup").values()} == {14}
    assert not re.search(r"keel-(dev|staging)\b", json.dumps(prod))
    assert not re.search(r"keel-(prod|staging)\b", json.dumps(dev))


@pytest.mark.parametrize(("env", "automation"), AUTOMATIONS, ids=[f"{env}-{a.name}" for env, a in AUTOMATIONS])
def test_the_prologue_hands_tasks_a_context_their_contract_accepts(synthesized, env, automation) -> None:
    # Given the context the claim prologue puts under $.keel in the deployed definition
    from functions.shared.domain.context import KeelContext, Limits

    template = synthesized.template(env)
    definition = checks.definition_of(template, checks.state_machine_id(template, env, automation.name))
    context = definition["States"]["KeelClaimEvent"]["ResultSelector"]

    # When a task parses it with the shared contract / Then it is valid and describes this automation here
    parsed = KeelContext.model_validate(context)
    manifest = automation.manifest
    assert (parsed.automation, parsed.version, parsed.environment) == (manifest.name, manifest.version, env)
    assert (parsed.owner, parsed.oncall, parsed.data_classification) == (
        manifest.owner,
        manifest.oncall,
        manifest.data_classification,
    )
    # And it holds exactly the contract's fields, as the contract dumps them: one definition, not two
    assert set(context) == set(KeelContext.model_fields)
    assert set(context["limits"]) == set(Limits.model_fields)
    assert parsed.model_dump(mode="json") == context


def test_the_heartbeat_alarm_watches_the_metric_the_function_emits(synthesized) -> None:
    # Given the deployed function's environment and the missing-heartbeat alarm in dev
    template = synthesized.template("dev")
    heartbeat = next(a for a in CATALOG.automations if a.manifest.slo.heartbeat is not None).manifest
    function = checks.properties(template, checks.function_id(template, "dev", heartbeat.name, heartbeat.slo.heartbeat.function))
    variables = function["Environment"]["Variables"]
    alarm = checks.properties(
        template, checks.find_by(template, "AWS::CloudWatch::Alarm", "AlarmName", f"keel-dev-{heartbeat.name}-missing-heartbeat")
    )

    # Then the alarm's namespace and service dimension are the ones Powertools will emit with
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dimensions["service"] == variables["POWERTOOLS_SERVICE_NAME"]
    assert dimensions["environment"] == variables["KEEL_ENVIRONMENT"]
    assert dimensions["automation"] == heartbeat.name


def broken(template: dict, change) -> dict:
    copy = json.loads(json.dumps(template))
    change(copy)
    return copy


def first(template: dict, resource_type: str) -> dict:
    """The heartbeat's resource of this type (the automation the violation tests break), else the first."""
    found = list(checks.resources(template, resource_type).values())
    return next((r for r in found if "platform_heartbeat" in json.dumps(r)), found[0])["Properties"]


@pytest.mark.parametrize(
    "change",
    [
        lambda t: first(t, "AWS::Events::Rule")["Targets"][0].pop("DeadLetterConfig"),
        lambda t: first(t, "AWS::Events::Rule")["Targets"][0].pop("RetryPolicy"),
        lambda t: first(t, "AWS::Events::Rule")["Tags"].pop(0),
        lambda t: first(t, "AWS::StepFunctions::StateMachine")["LoggingConfiguration"].update(IncludeExecutionData=False),
        lambda t: first(t, "AWS::StepFunctions::StateMachine").update(TracingConfiguration={"Enabled": False}),
        lambda t: first(t, "AWS::StepFunctions::StateMachine").update(
            DefinitionString=first(t, "AWS::StepFunctions::StateMachine")["DefinitionString"].replace(
                '"TimeoutSeconds"', '"Timeout"'
            )
        ),
        lambda t: next(
            a
            for a in checks.resources(t, "AWS::CloudWatch::Alarm").values()
            if "ExecutionsAborted" in json.dumps(a) and "platform_heartbeat" in json.dumps(a)
        )["Properties"].update(AlarmActions=["arn:aws:sns:eu-west-1:111111111111:keel-dev-oncall-security-oncall"]),
    ],
    ids=["no-dlq", "no-retry-policy", "missing-tag", "wrong-log-data", "no-tracing", "no-timeout", "alarm-to-wrong-topic"],
)
def test_the_automation_checks_catch_a_violation(synthesized, change) -> None:
    # Given the dev template with one guarantee broken
    template = broken(synthesized.template("dev"), change)
    automation = next(a for a in CATALOG.automations if a.name == "platform_heartbeat")

    # When the automation checks run / Then they fail
    with pytest.raises(AssertionError):
        checks.check_automation(template, ENVIRONMENTS.get("dev"), automation, CATALOG)


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:*"], "Resource": "arn:aws:s3:::b"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b"},
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"},
    ],
    ids=["star", "service-star", "prefix", "unscoped-resource"],
)
def test_the_iam_check_catches_a_wildcard(synthesized, statement) -> None:
    # Given the dev template with a function policy that grants too much
    def grant(template: dict) -> None:
        first(template, "AWS::IAM::Policy")["PolicyDocument"]["Statement"].append(statement)

    template = broken(synthesized.template("dev"), grant)

    # When the IAM check runs / Then it fails
    with pytest.raises(AssertionError):
        checks.check_iam(template)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_platform_name_an_automation_stack_uses_is_one_the_platform_stack_creates(synthesized, env) -> None:
    # Given the platform stack and what it creates under fixed names
    stacks = synthesized.stacks[env]
    platform = stacks[f"keel-{env}-platform"]
    created = {
        "topic": {r["Properties"]["TopicName"] for r in checks.resources(platform, "AWS::SNS::Topic").values()},
        "table": {r["Properties"]["TableName"] for r in checks.resources(platform, "AWS::DynamoDB::Table").values()},
        "bus": {r["Properties"]["Name"] for r in checks.resources(platform, "AWS::Events::EventBus").values()},
        "parameter": {r["Properties"]["Name"] for r in checks.resources(platform, "AWS::SSM::Parameter").values()},
    }
    patterns = {
        "topic": rf"(keel-{env}-oncall-[a-z0-9-]+)",
        "table": rf"table/(keel-{env}-[a-z]+)",
        "bus": rf'"EventBusName": "(keel-{env})"',
        "parameter": rf'"Default": "(/keel/{env}/[^"]+)"',
    }
    used: dict[str, set[str]] = {kind: set() for kind in patterns}
    for name, template in stacks.items():
        if name.startswith(f"keel-{env}-automation-"):
            text = json.dumps(template)
            for kind, pattern in patterns.items():
                used[kind] |= set(re.findall(pattern, text))

    # Then every name the automations reach the platform by exists there (the CDK cannot check it across stacks)
    assert all(used.values()), used
    for kind in patterns:
        assert used[kind] <= created[kind], (kind, used[kind] - created[kind])


def role_actions(template: dict, env: str, automation: str, module: str) -> dict[str, set[str]]:
    """Resource (as deployed) -> the actions the automation's own instance of the module may take on it."""
    function = checks.properties(template, checks.function_id(template, env, automation, module))
    (role,) = checks.referenced_ids(function["Role"])
    allowed: dict[str, set[str]] = {}
    for owner, statement in checks.identity_policy_statements(template):
        roles = checks.properties(template, owner).get("Roles", []) if owner in template["Resources"] else []
        if role in checks.referenced_ids(roles) and statement["Effect"] == "Allow":
            for resource in checks.as_list(statement["Resource"]):
                allowed.setdefault(checks.text(resource), set()).update(checks.as_list(statement["Action"]))
    return allowed


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_heartbeat_may_read_approvals_and_never_write_them(synthesized, env) -> None:
    # Given the heartbeat's role (it counts the approvals waiting)
    environment = ENVIRONMENTS.get(env)
    table = f"arn:aws:dynamodb:{environment.region}:{environment.account}:table/keel-{env}-approvals"
    allowed = role_actions(synthesized.template(env), env, "platform_heartbeat", "emit_heartbeat")

    # Then it may query the table and its index (named, not index/*), and neither put, update nor delete anything in it
    index = f"{table}/index/{BY_STATUS}"
    assert "dynamodb:Query" in allowed[table]
    assert allowed[index] == {"dynamodb:Query"}
    assert f"{table}/index/*" not in allowed
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert not writes & allowed[table]


PUBLISHERS = [(env, automation) for env, automation in AUTOMATIONS if "request_approval" in automation.manifest.functions]


@pytest.mark.parametrize(("env", "automation"), PUBLISHERS, ids=[f"{env}-{a.name}" for env, a in PUBLISHERS])
def test_an_automation_pages_only_its_own_routes(synthesized, env, automation) -> None:
    # Given an automation whose functions may publish to on-call topics (request_approval)
    manifest = automation.manifest
    template = synthesized.template(env)
    environment = ENVIRONMENTS.get(env)
    routes = {manifest.oncall, manifest.escalation, *manifest.approvers}
    function = checks.properties(template, checks.function_id(template, env, automation.name, "request_approval"))

    # Then its role publishes to its own routes' topics only, and the function knows only those
    allowed = role_actions(template, env, automation.name, "request_approval")
    published = {resource for resource, actions in allowed.items() if "sns:Publish" in actions}
    assert published == {checks.topic_arn(environment, route) for route in routes}
    topics = json.loads(checks.text(function["Environment"]["Variables"]["KEEL_ONCALL_TOPICS"]))
    assert set(topics) == routes
    # And it may use the platform key those topics are encrypted with
    key = next(resource for resource, actions in allowed.items() if "kms:GenerateDataKey" in actions)
    assert key.startswith("<Ref:")
    assert "KeyArn" in key


@pytest.mark.parametrize("env", ENV_NAMES)
def test_deploy_time_parameters_do_not_make_an_unchanged_stack_redeploy(synthesized, env) -> None:
    # Given every stack's SSM-typed parameters (the Powertools layer's ARN, the platform key's)
    parameters = [
        (name, parameter)
        for name, template in synthesized.stacks[env].items()
        for parameter in template.get("Parameters", {}).values()
        if parameter["Type"].startswith("AWS::SSM::Parameter::Value")
    ]

    # Then each is marked [cdk:skip]: the CDK CLI otherwise redeploys its stack on every `cdk deploy`
    assert parameters
    for name, parameter in parameters:
        assert "[cdk:skip]" in parameter.get("Description", ""), name


@pytest.mark.parametrize("env", ENV_NAMES)
def test_claims_expire_through_the_idempotency_tables_ttl_and_only_the_failure_path_releases_them(synthesized, env) -> None:
    from functions.shared.domain import event_claim
    from infra import workflow_defaults

    # Given the environment's idempotency table and every state machine's role
    template = synthesized.template(env)
    [idempotency] = [
        table
        for table in checks.resources(template, "AWS::DynamoDB::Table").values()
        if table["Properties"]["TableName"] == f"keel-{env}-idempotency"
    ]

    # Then the table's TTL attribute is the one every claim carries (the prologue writes it)
    assert idempotency["Properties"]["TimeToLiveSpecification"] == {"AttributeName": event_claim.TTL_ATTRIBUTE, "Enabled": True}
    machines = checks.resources(template, "AWS::StepFunctions::StateMachine")
    assert machines
    for key in machines:
        definition = checks.definition_of(template, key)
        claim = definition["States"]["KeelClaimEvent"]["Parameters"]["Item"]
        assert set(claim) >= {"id", "execution", "status", event_claim.TTL_ATTRIBUTE}, key
        # And a state machine that releases claims does so with a conditional update, nothing more
        release = definition["States"].get(workflow_defaults.RELEASE_CLAIM)
        if release is not None:
            assert release["Parameters"]["ConditionExpression"] == "#execution = :me", key
