"""Queries over a synthesized CloudFormation template, and the checks every automation must pass.

The checks take a template and the catalog that produced it, so the same assertions run on the real
app (every automation, every environment) and on temporary catalogs built by tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra import asl, names
from infra.function_spec import UNSCOPABLE_ACTIONS as DECLARABLE_UNSCOPABLE

Template = dict[str, Any]

KEEL_TAGS = ("keel:automation", "keel:version", "keel:owner", "keel:oncall", "keel:environment", "keel:data-classification")
STATE_MACHINE_ALARM_METRICS = {
    "ExecutionsFailed",
    "ExecutionsTimedOut",
    "ExecutionThrottled",
    "ExecutionsAborted",
    "ExecutionTime",
}
# Actions that support no resource-level scoping; CDK adds them for tracing and log delivery, and a DynamoDB
# stream's poller needs dynamodb:ListStreams (the decision anchor's).
UNSCOPABLE_ACTIONS = re.compile(
    r"^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:\w+Deliver\w*|logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)|dynamodb:ListStreams"
    # kpis_read (infra/constructs/function.py): no resource-level permissions for either.
    r"|tag:GetResources|cloudwatch:GetMetricData)$"
)
# The platform's own functions, beside every automation's instances of its modules.
PLATFORM_MODULES = ("anchor_decisions",)


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def referenced_ids(value: Any) -> set[str]:
    """Logical ids referenced by Ref or Fn::GetAtt anywhere inside value."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    return found


def tags(props: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in props.get("Tags", [])}


def one(matches: dict[str, Any], what: str) -> str:
    assert len(matches) == 1, f"expected exactly one {what}, found {sorted(matches)}"
    return next(iter(matches))


def find_by(template: Template, resource_type: str, prop: str, value: Any) -> str:
    matches = {key: r for key, r in resources(template, resource_type).items() if r["Properties"].get(prop) == value}
    return one(matches, f"{resource_type} with {prop}={value}")


def topic_id(template: Template, environment: str, route: str) -> str:
    return find_by(template, "AWS::SNS::Topic", "TopicName", f"keel-{environment}-oncall-{route}")


def state_machine_id(template: Template, environment: str, automation: str) -> str:
    return find_by(template, "AWS::StepFunctions::StateMachine", "StateMachineName", f"keel-{environment}-{automation}")


def function_id(template: Template, environment: str, automation: str, module: str) -> str:
    """The automation's own instance of the module."""
    return find_by(template, "AWS::Lambda::Function", "FunctionName", names.function(environment, automation, module))


def text(value: Any) -> str:
    """A template value as the string it deploys as, where it is built of intrinsics: Fn::Join's parts
    joined, AWS::Partition as aws, other Refs as <Ref:Id>, GetAtts as <Id.Attribute>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(text(part) for part in parts)
    if isinstance(value, dict) and value.get("Ref") == "AWS::Partition":
        return "aws"
    if isinstance(value, dict) and "Ref" in value:
        return f"<Ref:{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"not a string value: {value!r}")


def topic_arn(environment: Any, route: str) -> str:
    """An on-call topic's ARN, as automation stacks name it (by name, not by reference)."""
    return f"arn:aws:sns:{environment.region}:{environment.account}:{names.oncall_topic(environment.name, route)}"


def platform_key_ids(template: Template) -> set[str]:
    """What stands for the platform key: the key itself, or the SSM parameter holding its ARN."""
    keys = set(resources(template, "AWS::KMS::Key"))
    parameters = {
        key
        for key, parameter in template.get("Parameters", {}).items()
        if str(parameter.get("Default", "")).endswith("/platform/key-arn")
    }
    return keys | parameters


def rules_of(template: Template, automation: str) -> dict[str, dict[str, Any]]:
    return {
        key: r
        for key, r in resources(template, "AWS::Events::Rule").items()
        if tags(r["Properties"]).get("keel:automation") == automation
    }


def alarms_on(template: Template, logical_id: str) -> dict[str, dict[str, Any]]:
    """Alarms whose metric has a dimension pointing at the resource."""
    return {
        key: r["Properties"]
        for key, r in resources(template, "AWS::CloudWatch::Alarm").items()
        if logical_id in referenced_ids(r["Properties"].get("Metrics", r["Properties"].get("Dimensions")))
    }


def alarm_metric_names(alarm: dict[str, Any]) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {metric["MetricStat"]["Metric"]["MetricName"] for metric in alarm["Metrics"] if "MetricStat" in metric}


def definition_of(template: Template, logical_id: str) -> dict[str, Any]:
    body = properties(template, logical_id)["DefinitionString"]
    assert isinstance(body, str), "the definition is inlined as a plain string, substitutions resolved by CloudFormation"
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def identity_policy_statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """(owner logical id, statement) for every statement of every IAM identity policy in the template."""
    statements = []
    for key, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        elif resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
            assert not props.get("ManagedPolicyArns"), f"{key} attaches managed policies"
        else:
            continue
        statements += [(key, statement) for document in documents for statement in document["Statement"]]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- The checks every automation passes, in every environment -----------------------------------


def check_automation(template: Template, environment: Any, automation: Any, catalog: Any) -> None:
    manifest = automation.manifest
    env = environment.name
    machine = state_machine_id(template, env, manifest.name)
    check_rules(template, env, manifest, machine)
    check_state_machine(template, environment, automation, machine)
    check_alarms(template, environment, manifest, machine)
    for key in (machine, *rules_of(template, manifest.name)):
        found = tags(properties(template, key))
        expected = {
            "keel:automation": manifest.name,
            "keel:version": manifest.version,
            "keel:owner": manifest.owner,
            "keel:oncall": manifest.oncall,
            "keel:environment": env,
            "keel:data-classification": manifest.data_classification,
        }
        assert {tag: found.get(tag) for tag in KEEL_TAGS} == expected, f"{key} tags"


def machine_arn(template: Template, machine: str) -> str:
    """The state machine's ARN, from its name and the account and region its stack deploys to."""
    name = template["Resources"][machine]["Properties"]["StateMachineName"]
    sample = next(
        arn
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule"
        for target in resource["Properties"].get("Targets", [])
        if isinstance(arn := target.get("Arn"), str) and ":stateMachine:" in arn
    )
    return f"{sample.split(':stateMachine:', 1)[0]}:stateMachine:{name}"


def check_rules(template: Template, env: str, manifest: Any, machine: str) -> None:
    trigger = manifest.trigger
    rules = rules_of(template, manifest.name)
    expected_kinds = {kind for kind, present in (("events", trigger.event_pattern), ("schedule", trigger.schedule)) if present}
    assert {r["Properties"]["Name"].rsplit("-", 1)[1] for r in rules.values()} == expected_kinds
    dlq = find_by(template, "AWS::SQS::Queue", "QueueName", f"keel-{env}-{manifest.name}-dlq")
    enabled = manifest.resolved_for(env).enabled
    for key, rule in rules.items():
        props = rule["Properties"]
        assert props["State"] == ("ENABLED" if enabled else "DISABLED")
        if "ScheduleExpression" in props:
            assert props["ScheduleExpression"] == trigger.schedule
        else:
            assert props["EventPattern"] == trigger.event_pattern
            bus = props.get("EventBusName")
            if trigger.bus == "keel":
                assert bus == names.event_bus(env), f"{key} listens on {bus}"
            else:
                assert bus is None, f"{key} listens on the default bus"
        assert len(props["Targets"]) == 1
        target = props["Targets"][0]
        # Executions start through the live alias, which routes them to a published version.
        assert target["Arn"] == f"{machine_arn(template, machine)}:live"
        assert target.get("DeadLetterConfig", {}).get("Arn") == {"Fn::GetAtt": [dlq, "Arn"]}, f"{key} target has no DLQ"
        assert target.get("RetryPolicy") == {
            "MaximumEventAgeInSeconds": trigger.max_event_age_seconds,
            "MaximumRetryAttempts": trigger.retry_attempts,
        }, f"{key} target has no explicit retry policy"


def check_state_machine(template: Template, environment: Any, automation: Any, machine: str) -> None:
    manifest = automation.manifest
    props = properties(template, machine)
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is (manifest.data_classification in ("public", "internal"))
    (destination,) = logging["Destinations"]
    (log_group,) = referenced_ids(destination)
    assert properties(template, log_group)["RetentionInDays"] == environment.log_retention_days
    assert "KmsKeyId" in properties(template, log_group)
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["StateMachineType"] == manifest.workflow.type.upper()
    definition = definition_of(template, machine)
    assert definition.get("TimeoutSeconds") == manifest.workflow.timeout_seconds
    assert definition["StartAt"] == asl.CLAIM_STATE
    assert definition["States"][asl.CLAIM_STATE]["Next"] == automation.definition["StartAt"]
    assert set(props["DefinitionSubstitutions"]) == asl.substitutions_used(definition)
    for module in manifest.functions:
        # The version of the automation's own function this deploy published (an execution keeps its code).
        version = props["DefinitionSubstitutions"][module]["Ref"]
        assert template["Resources"][version]["Type"] == "AWS::Lambda::Version"
        assert template["Resources"][version]["Properties"]["FunctionName"] == {
            "Ref": function_id(template, environment.name, manifest.name, module)
        }


def check_alarms(template: Template, environment: Any, manifest: Any, machine: str) -> None:
    env = environment.name
    owner_topic = [topic_arn(environment, manifest.oncall)]
    machine_alarms = alarms_on(template, machine)
    assert {name for alarm in machine_alarms.values() for name in alarm_metric_names(alarm)} >= STATE_MACHINE_ALARM_METRICS
    # The SLO's static p90 alarm (slo.anomaly's band on the average duration has no Threshold)
    p90 = [alarm for alarm in machine_alarms.values() if alarm_metric_names(alarm) == {"ExecutionTime"} and "Threshold" in alarm]
    assert [alarm["Threshold"] for alarm in p90] == [manifest.slo.p90_duration_seconds * 1000]
    assert all(metric["MetricStat"]["Stat"] == "p90" for alarm in p90 for metric in alarm["Metrics"])
    dlq = find_by(template, "AWS::SQS::Queue", "QueueName", f"keel-{env}-{manifest.name}-dlq")
    dlq_alarms = alarms_on(template, dlq)
    assert {name for alarm in dlq_alarms.values() for name in alarm_metric_names(alarm)} == {"ApproximateNumberOfMessagesVisible"}
    assert [alarm["Threshold"] for alarm in dlq_alarms.values()] == [0], "DLQ depth > 0 pages"
    for alarm in (*machine_alarms.values(), *dlq_alarms.values()):
        assert [text(action) for action in alarm["AlarmActions"]] == owner_topic, (
            f"{alarm['AlarmName']} does not page {manifest.oncall}"
        )
    for module in manifest.functions:
        # The automation's own function pages the automation's own on-call, nobody else
        function_alarms = alarms_on(template, function_id(template, env, manifest.name, module))
        assert {name for alarm in function_alarms.values() for name in alarm_metric_names(alarm)} >= {"Errors", "Throttles"}
        for alarm in function_alarms.values():
            assert [text(action) for action in alarm["AlarmActions"]] == owner_topic, alarm["AlarmName"]
    heartbeat = manifest.slo.heartbeat
    if heartbeat is not None:
        alarm = properties(
            template, find_by(template, "AWS::CloudWatch::Alarm", "AlarmName", f"keel-{env}-{manifest.name}-missing-heartbeat")
        )
        assert (alarm["Namespace"], alarm["MetricName"]) == ("Keel", heartbeat.metric)
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "service": heartbeat.function,
            "environment": env,
            "automation": manifest.name,
        }
        assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
            "LessThanThreshold",
            1,
            "breaching",
        )
        assert alarm["Period"] == heartbeat.max_silence_minutes * 60
        assert [text(action) for action in alarm["AlarmActions"]] == owner_topic


def check_functions(template: Template, environment: Any, catalog: Any) -> None:
    """Each automation's own instance of every module it uses, sized as declared, with a role of its own."""
    platform = {names.platform_function(environment.name, module) for module in PLATFORM_MODULES}
    # and the rotation function of each API whose credential Keel rotates (infra/constructs/api_rotation.py)
    platform |= {names.platform_function(environment.name, f"rotate-{api}") for api in environment.rotated_apis()}
    functions = {
        key: function
        for key, function in resources(template, "AWS::Lambda::Function").items()
        if function["Properties"].get("FunctionName") not in platform
    }
    assert len(functions) == sum(len(automation.manifest.functions) for automation in catalog.automations)
    roles = [properties(template, key)["Role"] for key in functions]
    assert len({json.dumps(role) for role in roles}) == len(roles), "functions share a role"
    for automation in catalog.automations:
        for module in automation.manifest.functions:
            spec = catalog.functions[module]
            props = properties(template, function_id(template, environment.name, automation.name, module))
            assert (props["Timeout"], props["MemorySize"]) == (spec.timeout_seconds, spec.memory_mb)
            assert re.fullmatch(r"python3\.\d+", props["Runtime"])
            assert props["Handler"] == f"functions.{spec.module}.handler.lambda_handler"
            assert props["TracingConfig"] == {"Mode": "Active"}
            variables = props["Environment"]["Variables"]
            assert variables["KEEL_ENVIRONMENT"] == environment.name
            assert (variables["POWERTOOLS_SERVICE_NAME"], variables["POWERTOOLS_METRICS_NAMESPACE"]) == (spec.module, "Keel")
            (role,) = referenced_ids(props["Role"])
            assert resources(template, "AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
                "Principal"
            ] == {"Service": "lambda.amazonaws.com"}
            (log_group,) = referenced_ids(props["LoggingConfig"])
            assert properties(template, log_group)["RetentionInDays"] == environment.log_retention_days


def check_iam(template: Template) -> None:
    """No wildcard actions; the few unscopable ones are the only statements on Resource *."""
    keys = platform_key_ids(template)
    for owner, statement in identity_policy_statements(template):
        if statement["Effect"] != "Allow":
            continue
        actions = as_list(statement["Action"])
        for action in actions:
            assert action != "*", f"{owner} allows every action"
            assert not action.endswith(":*"), f"{owner} allows wildcard action {action}"
            # CDK's grants (kms:ReEncrypt*, kms:GenerateDataKey* ...) are not used: each action is named.
            assert "*" not in action, f"{owner} allows {action}"
            if action.startswith("kms:"):
                assert referenced_ids(statement["Resource"]) <= keys, f"{owner}: {action} not on the platform key"
        if "*" in as_list(statement["Resource"]):
            assert all(UNSCOPABLE_ACTIONS.match(action) or action in DECLARABLE_UNSCOPABLE for action in actions), (
                f"{owner} allows {actions} on *"
            )
