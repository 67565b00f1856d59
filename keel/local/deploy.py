"""Create a synthesized template's resources in moto, in dependency order, intrinsics resolved.

This is the local stand-in for `cdk deploy` (moto's CloudFormation cannot be: it ignores
DefinitionSubstitutions and puts state machines in the non-executing backend). Each resource type
has one creator that calls the AWS API (boto3 against moto) with the template's properties and
returns what Ref and Fn::GetAtt answer for it. Types with nothing to emulate are listed as skipped.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import string
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.names import bounded
from keel.local import moto_patches, streams
from keel.local.errors import LocalCloudError
from keel.local.releases import Releases
from keel.local.template import EnvironmentTemplate, Resolver, StackTemplate, creation_order

Attributes = dict[str, Any]
Creator = Callable[["Deployer", str, dict[str, Any]], Attributes]

# Resource types with nothing to run locally (metadata, permissions between services moto does not check).
IGNORED = frozenset({"AWS::CDK::Metadata", "AWS::Lambda::Permission"})
# Subscriptions that would deliver outside this process (moto POSTs to HTTP endpoints for real).
OUTSIDE_PROTOCOLS = frozenset({"http", "https"})


@dataclass(frozen=True)
class MachineLogging:
    """A state machine's LoggingConfiguration: where its execution history is logged, and how much."""

    log_group: str
    level: str
    include_data: bool


@dataclass(frozen=True)
class DeployedStateMachine:
    logical_id: str
    arn: str
    name: str
    automation: str
    logging: MachineLogging | None = None


@dataclass(frozen=True)
class RotationSchedule:
    secret: str  # the secret's name
    function_arn: str
    every_days: int
    # RotateImmediatelyOnUpdate (CloudFormation's default: true): not run at deploy locally, where the
    # secrets hold placeholders until the fake APIs' credentials are put in them.
    at_deploy: bool


@dataclass
class Deployment:
    template: EnvironmentTemplate
    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    state_machines: dict[str, DeployedStateMachine] = field(default_factory=dict)
    buses: list[str] = field(default_factory=list)
    queues: dict[str, str] = field(default_factory=dict)  # queue ARN -> URL
    stream_mappings: list[streams.StreamMapping] = field(default_factory=list)  # delivered by keel/local/streams.py
    # Secret name -> its rotation schedule (AWS::SecretsManager::RotationSchedule), scheduled on virtual time.
    rotations: dict[str, RotationSchedule] = field(default_factory=dict)
    # Function name -> the log group its LoggingConfig names (Lambda's default when it names none).
    function_log_groups: dict[str, str] = field(default_factory=dict)
    # Aliases and their routing (keel/local/releases.py); None: the template's aliases cannot be made.
    releases: Releases | None = None
    # Virtual time now (a shift starts then).
    now: Callable[[], float] = lambda: 0.0
    # Stack -> logical id -> (resolved properties, attributes): what a later deploy of it compares with.
    records: dict[str, dict[str, tuple[Any, Attributes]]] = field(default_factory=dict)
    # Function name -> the directory its $LATEST code runs from ("": the repository, as first deployed);
    # a published version's ARN -> the same, fixed when it was published.
    code_roots: dict[str, str] = field(default_factory=dict)
    version_code_roots: dict[str, str] = field(default_factory=dict)

    def automation_of(self, state_machine_arn: str) -> str:
        machine = self.state_machines.get(state_machine_arn)
        return machine.automation if machine else state_machine_arn.rsplit(":", 1)[-1]

    def summary(self) -> str:
        parts = [f"{count} {kind.split('::', 1)[1]}" for kind, count in sorted(self.created.items())]
        return ", ".join(parts)


def tags_of(properties: dict[str, Any]) -> dict[str, str]:
    tags = properties.get("Tags", [])
    if isinstance(tags, dict):
        return {str(key): str(value) for key, value in tags.items()}
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags}


def _tag_list(properties: dict[str, Any], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags_of(properties).items()]


class Deployer:
    """Creates one stack's resources; `deployment` collects what every stack of the environment made."""

    def __init__(self, template: StackTemplate, client: Callable[[str], Any], deployment: Deployment) -> None:
        self.template = template
        self.client = client
        self.resolver = Resolver(template, parameter_store=self._parameter)
        self.deployment = deployment

    @property
    def account(self) -> str:
        return self.template.account

    @property
    def region(self) -> str:
        return self.template.region

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def physical_name(self, logical_id: str, limit: int = 64) -> str:
        """A generated name, unique like the one CloudFormation makes when the template gives none."""
        return bounded(f"{self.template.stack_name}-{logical_id}", limit)

    def _parameter(self, name: str) -> str | None:
        try:
            value: str = self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except self.client("ssm").exceptions.ParameterNotFound:
            return None
        return value

    def deploy(self) -> None:
        """Create the stack, or update it as CloudFormation does when it was deployed before: a
        resource whose resolved properties did not change is kept, a changed one is updated in place
        (the types in UPDATERS) or replaced when its logical id changed (a new Lambda or state
        machine version). Resources a new template no longer has are left in place."""
        previous = self.deployment.records.get(self.template.stack_name, {})
        record: dict[str, tuple[Any, Attributes]] = {}
        for logical_id in creation_order(self.template):
            resource = self.template.resources[logical_id]
            kind = resource["Type"]
            creator = CREATORS.get(kind)
            if creator is None:
                self.deployment.skipped[kind] += 1
                self.resolver.attributes[logical_id] = {"Ref": self.physical_name(logical_id)}
                continue
            properties = dynamic_references(self.resolver.resolve(resource.get("Properties", {})), self._parameter)
            kept = previous.get(logical_id)
            if kept is not None and _untagged(kept[0]) == _untagged(properties):
                self.resolver.attributes[logical_id] = kept[1]
            elif kept is not None:
                self.resolver.attributes[logical_id] = self._update(logical_id, kind, properties)
            else:
                self.resolver.attributes[logical_id] = creator(self, logical_id, properties)
                self.deployment.created[kind] += 1
            record[logical_id] = (properties, self.resolver.attributes[logical_id])
        self.deployment.records[self.template.stack_name] = record

    def _update(self, logical_id: str, kind: str, properties: dict[str, Any]) -> Attributes:
        updater = UPDATERS.get(kind)
        if updater is None:
            raise LocalCloudError(f"{logical_id}: the local cloud cannot update a {kind} in place (its properties changed)")
        return updater(self, logical_id, properties)

    def asset_directory(self, code: dict[str, Any]) -> str:
        """Where the assembly staged a function's package (S3Key <hash>.zip -> asset.<hash>)."""
        key = str(code.get("S3Key", ""))
        if self.template.path is None or not key.endswith(".zip"):
            raise LocalCloudError(f"{self.template.stack_name}: a redeployed function's code must be an asset of its assembly")
        for directory in (self.template.path.parent, self.template.path.parent.parent):
            candidate = directory / f"asset.{key.removesuffix('.zip')}"
            if candidate.is_dir():
                return str(candidate)
        raise LocalCloudError(f"{self.template.stack_name}: no staged asset for {key} beside {self.template.path}")


def deploy_environment(
    template: EnvironmentTemplate,
    client: Callable[[str], Any],
    releases: Releases | None = None,
    now: Callable[[], float] | None = None,
) -> Deployment:
    """Every stack of the environment, in deploy order, as `cdk deploy` would create them."""
    deployment = Deployment(template, releases=releases)
    if now is not None:
        deployment.now = now
    for stack in template.stacks:
        Deployer(stack, client, deployment).deploy()
    return deployment


def _untagged(properties: Any) -> Any:
    """What a redeploy compares: a change of tags alone (a new version's keel:version) is kept as it was."""
    return {key: value for key, value in properties.items() if key != "Tags"} if isinstance(properties, dict) else properties


DYNAMIC_SSM = re.compile(r"\{\{resolve:ssm:([^}:]+)\}\}")


def dynamic_references(value: Any, parameter: Callable[[str], str | None]) -> Any:
    """`{{resolve:ssm:NAME}}` replaced by the parameter's value, as CloudFormation resolves it when a
    stack operation starts (before any resource of it changes)."""
    if isinstance(value, str):

        def found(match: re.Match[str]) -> str:
            resolved = parameter(match.group(1))
            if resolved is None:
                raise LocalCloudError(f"dynamic reference {match.group(0)}: no such SSM parameter")
            return resolved

        return DYNAMIC_SSM.sub(found, value)
    if isinstance(value, list):
        return [dynamic_references(item, parameter) for item in value]
    if isinstance(value, dict):
        return {key: dynamic_references(item, parameter) for key, item in value.items()}
    return value


def _kms_key(deployer: Deployer, _logical_id: str, properties: dict[str, Any]) -> Attributes:
    kms = deployer.client("kms")
    policy = properties.get("KeyPolicy")
    key = kms.create_key(
        Description=properties.get("Description", ""),
        Policy=json.dumps(policy) if policy else "",
        Tags=_tag_list(properties, "TagKey", "TagValue"),
    )["KeyMetadata"]
    if properties.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return {"Ref": key["KeyId"], "Arn": key["Arn"], "KeyId": key["KeyId"]}


def _kms_alias(deployer: Deployer, _logical_id: str, properties: dict[str, Any]) -> Attributes:
    deployer.client("kms").create_alias(AliasName=properties["AliasName"], TargetKeyId=properties["TargetKeyId"])
    return {"Ref": properties["AliasName"], "AliasArn": deployer.arn("kms", properties["AliasName"])}


def _event_bus(deployer: Deployer, _logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties["Name"]
    arn = deployer.client("events").create_event_bus(Name=name, Tags=_tag_list(properties))["EventBusArn"]
    deployer.deployment.buses.append(name)
    return {"Ref": name, "Name": name, "Arn": arn}


def _sns_topic(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("TopicName") or deployer.physical_name(logical_id, 256)
    attributes = {key: str(properties[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in properties}
    arn = deployer.client("sns").create_topic(Name=name, Attributes=attributes, Tags=_tag_list(properties))["TopicArn"]
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}


def _sns_subscription(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    if str(properties["Protocol"]).lower() in OUTSIDE_PROTOCOLS:
        # moto would really POST every page to the endpoint (a paging service): never from the local cloud.
        deployer.deployment.skipped[f"AWS::SNS::Subscription ({properties['Protocol']})"] += 1
        return {"Ref": deployer.arn("sns", f"{logical_id}:not-subscribed")}
    attributes = {
        key: json.dumps(properties[key]) if isinstance(properties[key], dict) else str(properties[key])
        for key in ("RedrivePolicy", "FilterPolicy", "RawMessageDelivery")
        if key in properties
    }
    arn = deployer.client("sns").subscribe(
        TopicArn=properties["TopicArn"], Protocol=properties["Protocol"], Endpoint=properties["Endpoint"], Attributes=attributes
    )["SubscriptionArn"]
    return {"Ref": arn, "Arn": arn}


def _sns_topic_policy(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    for topic in properties["Topics"]:
        deployer.client("sns").set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(properties["PolicyDocument"])
        )
    return {"Ref": deployer.physical_name(logical_id)}


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
)


def _sqs_queue(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("QueueName") or deployer.physical_name(logical_id, 80)
    attributes = {
        key: str(properties[key]).lower() if isinstance(properties[key], bool) else str(properties[key])
        for key in _QUEUE_ATTRIBUTES
        if key in properties
    }
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    url = deployer.client("sqs").create_queue(QueueName=name, Attributes=attributes, tags=tags_of(properties))["QueueUrl"]
    arn = deployer.arn("sqs", name)
    deployer.deployment.queues[arn] = url
    return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}


def _sqs_queue_policy(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    for url in properties["Queues"]:
        deployer.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])})
    return {"Ref": deployer.physical_name(logical_id)}


def _dynamodb_table(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("TableName") or deployer.physical_name(logical_id, 255)
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in properties:
            arguments[key] = properties[key]
    if "StreamSpecification" in properties:  # CloudFormation's has no StreamEnabled: declaring one enables it
        arguments["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    if arguments["BillingMode"] == "PROVISIONED" and "ProvisionedThroughput" not in arguments:
        arguments["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    if properties.get("Tags"):
        arguments["Tags"] = _tag_list(properties)
    dynamodb = deployer.client("dynamodb")
    table = dynamodb.create_table(**arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return {"Ref": name, "Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn", "")}


def _secret(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("Name") or deployer.physical_name(logical_id, 512)
    value = properties.get("SecretString")
    if value is None:
        value = _generated_secret(properties.get("GenerateSecretString", {}))
    arguments: dict[str, Any] = {"Name": name, "SecretString": value, "Tags": _tag_list(properties)}
    for key in ("Description", "KmsKeyId"):
        if key in properties:
            arguments[key] = properties[key]
    arn = deployer.client("secretsmanager").create_secret(**arguments)["ARN"]
    return {"Ref": arn, "Id": arn}


def _rotation_schedule(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    """The secret's rotation function and period (RotationRules.AutomaticallyAfterDays), as Secrets Manager
    keeps them; the local cloud rotates on virtual time (LocalCloud.rotate_due) or when asked."""
    rules = properties.get("RotationRules", {})
    days = rules.get("AutomaticallyAfterDays")
    every = re.fullmatch(r"rate\((\d+) days?\)", str(rules.get("ScheduleExpression", "")))
    days = int(every.group(1)) if days is None and every else days
    function = properties.get("RotationLambdaARN")
    if not isinstance(days, int) or not isinstance(function, str):
        raise LocalCloudError(
            f"{logical_id}: the local cloud rotates with a RotationLambdaARN every N days (AutomaticallyAfterDays "
            "or rate(N days)) only"
        )
    secret = deployer.client("secretsmanager").describe_secret(SecretId=properties["SecretId"])["Name"]
    moto_patches.configure_rotation(deployer.account, deployer.region, secret, function, days)
    at_deploy = properties.get("RotateImmediatelyOnUpdate", True) is not False
    deployer.deployment.rotations[secret] = RotationSchedule(secret, function, days, at_deploy)
    return {"Ref": f"{properties['SecretId']}/rotation", "Id": f"{properties['SecretId']}/rotation"}


def _generated_secret(spec: dict[str, Any]) -> str:
    """A random value as GenerateSecretString would make (length, exclusions, JSON template)."""
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = string.ascii_letters + string.digits + ("" if spec.get("ExcludePunctuation") else "!#$%&()*+,-.:;<=>?@[]^_{|}~")
    alphabet = "".join(character for character in alphabet if character not in excluded)
    password = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec.get("GenerateStringKey", "password")] = password
        return json.dumps(document)
    return password


def _iam_role(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("RoleName") or deployer.physical_name(logical_id)
    iam = deployer.client("iam")
    # A permissions boundary bounds what the role's functions may do locally too (keel/local/function_roles.py).
    boundary = {"PermissionsBoundary": properties["PermissionsBoundary"]} if "PermissionsBoundary" in properties else {}
    role = iam.create_role(
        RoleName=name,
        Path=properties.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"]),
        Description=properties.get("Description", ""),
        Tags=_tag_list(properties),
        **boundary,
    )["Role"]
    for policy in properties.get("Policies", []):
        iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"]))
    for managed in properties.get("ManagedPolicyArns", []):
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    return {"Ref": name, "Arn": role["Arn"], "RoleId": role["RoleId"]}


def _iam_policy(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("PolicyName") or deployer.physical_name(logical_id, 128)
    for role in properties.get("Roles", []):
        deployer.client("iam").put_role_policy(
            RoleName=role, PolicyName=name, PolicyDocument=json.dumps(properties["PolicyDocument"])
        )
    return {"Ref": name, "Id": name}


def _log_group(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("LogGroupName") or f"/local/{deployer.physical_name(logical_id, 400)}"
    logs = deployer.client("logs")
    logs.create_log_group(logGroupName=name, tags=tags_of(properties))
    if "RetentionInDays" in properties:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(properties["RetentionInDays"]))
    return {"Ref": name, "Arn": deployer.arn("logs", f"log-group:{name}:*")}


def _placeholder_code() -> bytes:
    """moto needs a zip; the code that runs is the repository's, imported by the function's workers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("KEEL_LOCAL.txt", "Keel's local cloud runs this function's module from the repository.\n")
    return buffer.getvalue()


def _lambda_function(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("FunctionName") or deployer.physical_name(logical_id)
    arguments: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": properties.get("Runtime", "python3.12"),
        "Role": properties["Role"],
        "Handler": properties["Handler"],
        "Code": {"ZipFile": _placeholder_code()},
        "Description": properties.get("Description", ""),
        "Timeout": int(properties.get("Timeout", 3)),
        "MemorySize": int(properties.get("MemorySize", 128)),
        "Environment": {
            "Variables": {key: str(value) for key, value in properties.get("Environment", {}).get("Variables", {}).items()}
        },
        "Tags": tags_of(properties),
    }
    if "LoggingConfig" in properties:
        arguments["LoggingConfig"] = properties["LoggingConfig"]
    # moto keeps no LoggingConfig: the local cloud writes the function's logs where the template says.
    log_group = properties.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{name}"
    deployer.deployment.function_log_groups[name] = str(log_group)
    # Layers (Powertools from a public SSM parameter) are not needed: the venv has the same packages.
    function = deployer.client("lambda").create_function(**arguments)
    deployer.deployment.code_roots[name] = ""
    if "ReservedConcurrentExecutions" in properties:
        # The cap on the function's execution environments (keel/local/lambda_pool.py).
        deployer.client("lambda").put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=int(properties["ReservedConcurrentExecutions"])
        )
    return {"Ref": name, "Arn": function["FunctionArn"]}


def _state_machine(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("StateMachineName") or deployer.physical_name(logical_id, 80)
    definition = _definition(logical_id, properties)
    tags = tags_of(properties)
    logging = properties.get("LoggingConfiguration")
    observability: dict[str, Any] = {}
    if logging is not None:
        observability["loggingConfiguration"] = {
            "level": logging.get("Level", "OFF"),
            "includeExecutionData": bool(logging.get("IncludeExecutionData", False)),
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": destination["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                for destination in logging.get("Destinations", [])
            ],
        }
    if "TracingConfiguration" in properties:
        observability["tracingConfiguration"] = {"enabled": bool(properties["TracingConfiguration"].get("Enabled", False))}
    arn = deployer.client("stepfunctions").create_state_machine(
        name=name,
        definition=definition,
        roleArn=properties["RoleArn"],
        type=properties.get("StateMachineType", "STANDARD"),
        tags=[{"key": key, "value": value} for key, value in tags.items()],
        **observability,
    )["stateMachineArn"]
    automation = tags.get("keel:automation", name)
    deployer.deployment.state_machines[arn] = DeployedStateMachine(logical_id, arn, name, automation, _machine_logging(logging))
    return {"Ref": arn, "Arn": arn, "Name": name, "StateMachineRevisionId": _revision(definition)}


def _revision(definition: str) -> str:
    """A revision id that changes exactly when the definition does, as Step Functions' does."""
    return hashlib.sha256(definition.encode()).hexdigest()[:32]


def _definition(logical_id: str, properties: dict[str, Any]) -> str:
    definition = properties.get("DefinitionString")
    if definition is None:
        if "Definition" not in properties:
            raise LocalCloudError(f"{logical_id}: only inline definitions (DefinitionString/Definition) run locally")
        definition = json.dumps(properties["Definition"])
    for key, value in properties.get("DefinitionSubstitutions", {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return str(definition)


def _update_state_machine(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("StateMachineName") or deployer.physical_name(logical_id, 80)
    arn = deployer.arn("states", f"stateMachine:{name}")
    definition = _definition(logical_id, properties)
    deployer.client("stepfunctions").update_state_machine(
        stateMachineArn=arn, definition=definition, roleArn=properties["RoleArn"]
    )
    return {"Ref": arn, "Arn": arn, "Name": name, "StateMachineRevisionId": _revision(definition)}


def _update_lambda_function(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    """New configuration, and new code: the package this assembly staged runs from now on."""
    name = properties.get("FunctionName") or deployer.physical_name(logical_id)
    lambda_ = deployer.client("lambda")
    lambda_.update_function_configuration(
        FunctionName=name,
        Role=properties["Role"],
        Handler=properties["Handler"],
        Timeout=int(properties.get("Timeout", 3)),
        MemorySize=int(properties.get("MemorySize", 128)),
        Environment={
            "Variables": {key: str(value) for key, value in properties.get("Environment", {}).get("Variables", {}).items()}
        },
    )
    deployer.deployment.code_roots[name] = deployer.asset_directory(properties.get("Code", {}))
    arn = lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return {"Ref": name, "Arn": arn}


def _lambda_version(deployer: Deployer, _logical_id: str, properties: dict[str, Any]) -> Attributes:
    """PublishVersion: the function's code and configuration now, fixed; the version runs that code."""
    name = (
        str(properties["FunctionName"]).rsplit(":", 1)[-1]
        if str(properties["FunctionName"]).startswith("arn:")
        else str(properties["FunctionName"])
    )
    published = deployer.client("lambda").publish_version(FunctionName=name, Description=properties.get("Description", ""))
    arn = str(published["FunctionArn"])
    deployer.deployment.version_code_roots[arn] = deployer.deployment.code_roots.get(name, "")
    return {"Ref": arn, "Version": published["Version"], "FunctionArn": arn}


def _state_machine_version(deployer: Deployer, _logical_id: str, properties: dict[str, Any]) -> Attributes:
    """PublishStateMachineVersion of the state machine's current revision."""
    stepfunctions = deployer.client("stepfunctions")
    arn = str(properties["StateMachineArn"])
    role = stepfunctions.describe_state_machine(stateMachineArn=arn)["roleArn"]
    description = {"versionDescription": properties["Description"]} if properties.get("Description") else {}
    published = stepfunctions.update_state_machine(stateMachineArn=arn, roleArn=role, publish=True, **description)
    version = str(published["stateMachineVersionArn"])
    return {"Ref": version, "Arn": version}


def _state_machine_alias(deployer: Deployer, _logical_id: str, properties: dict[str, Any]) -> Attributes:
    """The alias, routed by keel/local/releases.py (a deployment preference shifts it on virtual time)."""
    releases = deployer.deployment.releases
    if releases is None:
        raise LocalCloudError("state machine aliases need the local cloud's releases")
    preference = properties.get("DeploymentPreference")
    routing = properties.get("RoutingConfiguration")
    version = str((preference or {}).get("StateMachineVersionArn") or (routing or [{}])[0].get("StateMachineVersionArn"))
    arn = f"{version.rsplit(':', 1)[0]}:{properties['Name']}"
    releases.deploy(arn, preference, routing, deployer.deployment.now())
    return {"Ref": arn, "Arn": arn}


def _update_events_rule(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    """PutRule and PutTargets again; targets the template no longer names are removed."""
    name = properties.get("Name") or deployer.physical_name(logical_id)
    bus = properties.get("EventBusName", "default")
    events = deployer.client("events")
    kept = {target["Id"] for target in properties.get("Targets", [])}
    stale = [
        target["Id"] for target in events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"] if target["Id"] not in kept
    ]
    if stale:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=stale)
    return _events_rule(deployer, logical_id, properties)


def _machine_logging(logging: dict[str, Any] | None) -> MachineLogging | None:
    """Where the state machine logs: the log group of its (only) destination, arn:...:log-group:NAME:*."""
    destinations = (logging or {}).get("Destinations", [])
    if logging is None or not destinations:
        return None
    arn = str(destinations[0]["CloudWatchLogsLogGroup"]["LogGroupArn"])
    group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
    return MachineLogging(group, str(logging.get("Level", "OFF")), bool(logging.get("IncludeExecutionData", False)))


def _events_rule(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("Name") or deployer.physical_name(logical_id)
    bus = properties.get("EventBusName", "default")
    arguments: dict[str, Any] = {
        "Name": name,
        "EventBusName": bus,
        "State": properties.get("State", "ENABLED"),
        "Description": properties.get("Description", ""),
        "Tags": _tag_list(properties),
    }
    if "EventPattern" in properties:
        pattern = properties["EventPattern"]
        arguments["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if "ScheduleExpression" in properties:
        arguments["ScheduleExpression"] = properties["ScheduleExpression"]
    events = deployer.client("events")
    arn = events.put_rule(**arguments)["RuleArn"]
    targets = properties.get("Targets", [])
    if targets:
        failed = events.put_targets(Rule=name, EventBusName=bus, Targets=targets).get("FailedEntries", [])
        if failed:
            raise LocalCloudError(f"{logical_id}: targets rejected: {failed}")
    return {"Ref": name, "Arn": arn}


def _alarm(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("AlarmName") or deployer.physical_name(logical_id, 255)
    arguments = {key: value for key, value in properties.items() if key not in ("AlarmName", "Tags")}
    deployer.client("cloudwatch").put_metric_alarm(AlarmName=name, Tags=_tag_list(properties), **arguments)
    return {"Ref": name, "Arn": deployer.arn("cloudwatch", f"alarm:{name}")}


def _ssm_parameter(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("Name") or f"/{deployer.physical_name(logical_id, 1000)}"
    arguments = {"Name": name, "Value": str(properties["Value"]), "Type": properties.get("Type", "String"), "Overwrite": True}
    if "Description" in properties:
        arguments["Description"] = properties["Description"]
    deployer.client("ssm").put_parameter(**arguments)
    return {"Ref": name, "Type": arguments["Type"], "Value": arguments["Value"]}


def _dashboard(deployer: Deployer, logical_id: str, properties: dict[str, Any]) -> Attributes:
    name = properties.get("DashboardName") or deployer.physical_name(logical_id, 255)
    deployer.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=properties["DashboardBody"])
    return {"Ref": name}


def _ignored(deployer: Deployer, logical_id: str, _properties: dict[str, Any]) -> Attributes:
    return {"Ref": deployer.physical_name(logical_id)}


CREATORS: dict[str, Creator] = {
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::Events::EventBus": _event_bus,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SNS::Subscription": _sns_subscription,
    "AWS::SNS::TopicPolicy": _sns_topic_policy,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::SQS::QueuePolicy": _sqs_queue_policy,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SecretsManager::RotationSchedule": _rotation_schedule,
    "AWS::IAM::Role": _iam_role,
    "AWS::IAM::Policy": _iam_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Events::Rule": _events_rule,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::Lambda::Version": _lambda_version,
    "AWS::StepFunctions::StateMachineVersion": _state_machine_version,
    "AWS::StepFunctions::StateMachineAlias": _state_machine_alias,
    **streams.CREATORS,
    **dict.fromkeys(IGNORED, _ignored),
}
# How a changed resource is updated in place on a redeploy. Creators that are upserts (Put*) update too.
UPDATERS: dict[str, Creator] = {
    "AWS::Lambda::Function": _update_lambda_function,
    "AWS::StepFunctions::StateMachine": _update_state_machine,
    "AWS::StepFunctions::StateMachineAlias": _state_machine_alias,
    "AWS::Events::Rule": _update_events_rule,
    "AWS::IAM::Policy": _iam_policy,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::SNS::TopicPolicy": _sns_topic_policy,
    "AWS::SQS::QueuePolicy": _sqs_queue_policy,
    # Replaced, as CloudFormation replaces them (a new version; the old one stays, retained).
    "AWS::StepFunctions::StateMachineVersion": _state_machine_version,
    "AWS::Lambda::Version": _lambda_version,
    **dict.fromkeys(IGNORED, _ignored),
}
