"""Each function runs with its own role, and the local cloud refuses what that role does not allow,
as AWS would: the handler gets the service's AccessDenied, the adapters raise AccessDeniedError, and
the run names the action and the module. The local cloud's own calls are never refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from keel.cli import main
from keel.local import server
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import EventFile
from keel.local.function_roles import CREDENTIAL_VARIABLES
from keel.local.report import ExecutionReport, execution_report
from keel.local.template import EnvironmentTemplate, load_environment
from keel.ops.executions import list_executions
from tests.conftest import TempRepo
from tests.local.conftest import ROOT, edited, started
from tests.support.pasted import free_port

RESTART = ROOT / "events" / "alarm_remediation" / "api-5xx-restart.json"
BILLING_TICKET = ROOT / "events" / "ticket_triage" / "01-confident-billing.json"
UNCERTAIN_TICKET = ROOT / "events" / "ticket_triage" / "02-uncertain-vague.json"
DENY_EVERYTHING = {"Effect": "Deny", "Action": "*", "Resource": "*"}


def function_role(template: EnvironmentTemplate, function_name: str) -> str:
    """The logical id of the role a deployed function runs with."""
    for stack in template.stacks:
        for resource in stack.resources.values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and properties.get("FunctionName") == function_name:
                return str(properties["Role"]["Fn::GetAtt"][0])
    raise AssertionError(f"no function {function_name}")


def with_role_statements(template: EnvironmentTemplate, function_name: str, change: Any) -> EnvironmentTemplate:
    """The environment with `change(statements)` applied to the policies of one function's role."""
    role = function_role(template, function_name)

    def edit(resource: dict[str, Any]) -> None:
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]:
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = change(document["Statement"])

    return edited(template, edit)


def role_name(cloud: LocalCloud, function_name: str) -> str:
    arn = cloud.client("lambda").get_function(FunctionName=function_name)["Configuration"]["Role"]
    return str(arn.rsplit("/", 1)[-1])


def event_of(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def run(cloud: LocalCloud, path: Path, decision: Any = None) -> ExecutionReport:
    """The execution of the automation whose sample the event is (events/<automation>/...)."""
    arn = started(cloud, event_of(path), path.parent.name)
    cloud.drive(decision)
    return execution_report(cloud, arn)


def remediation(document: dict[str, Any]) -> dict[str, Any]:
    """alarm_remediation's execution in `keel local run --json` output (others may take the same alarm)."""
    [execution] = [execution for execution in document["executions"] if execution["automation"] == "alarm_remediation"]
    return execution


def refusals(execution: ExecutionReport) -> list[str]:
    return [error["cause"] for state in execution.states for error in state.errors if error["error"] == "AccessDeniedError"]


# A permission removed from a module's function.yaml, in a copy of the repository.


@pytest.fixture(scope="module")
def without_update_service(tmp_path_factory: pytest.TempPathFactory, make_temp_repo: type[TempRepo]) -> TempRepo:
    """The repository with ecs:UpdateService taken out of remediate_service's function.yaml, synthesized (dev)."""
    repo = make_temp_repo(tmp_path_factory.mktemp("repo") / "repo")
    spec_path = repo.root / "functions" / "remediate_service" / "function.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    [ecs] = [statement for statement in spec["permissions"] if "ecs:UpdateService" in statement["actions"]]
    ecs["actions"].remove("ecs:UpdateService")
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    repo.synthesize_stacks(["dev"])
    return repo


def keel_local_run(repo: TempRepo, *arguments: str) -> int:
    return main(["--root", str(repo.root), "local", "run", "--outdir", str(repo.outdir), *arguments])


def test_a_permission_removed_from_function_yaml_fails_the_run_naming_the_action_and_the_module(
    without_update_service: TempRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the restart runbook runs with a role that lacks ecs:UpdateService
    code = keel_local_run(without_update_service, str(RESTART))

    # Then the run fails, and its output says which module was refused which action, as AWS says it
    out = capsys.readouterr().out
    assert code == 1
    assert "alarm_remediation" in out
    assert "FAILED" in out
    # Once where Act was caught, once as the execution's error (Keel's failure path keeps it)
    refused, failed = [line for line in out.splitlines() if "AccessDeniedError" in line]
    assert failed.strip().startswith("error: AccessDeniedError")
    assert "AccessDeniedException" in refused
    assert "assumed-role/" in refused
    assert "/keel-dev-alarm_remediation-remediate_service is not authorized to perform: ecs:UpdateService" in refused
    assert "because no identity-based policy allows the ecs:UpdateService action" in refused


def test_the_refusal_is_in_the_execution_history_and_fails_the_execution(
    without_update_service: TempRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = keel_local_run(without_update_service, str(RESTART), "--json")

    execution = remediation(json.loads(capsys.readouterr().out))
    assert code == 1
    # Keel's failure path ends the execution with the refusal itself
    assert (execution["status"], execution["error"]) == ("FAILED", "AccessDeniedError")
    [act] = [state for state in execution["states"] if state["name"] == "Act"]
    [error] = act["errors"]
    assert error["error"] == "AccessDeniedError"
    cause = json.loads(error["cause"])
    assert cause["errorType"] == "AccessDeniedError"
    assert "keel-dev-alarm_remediation-remediate_service is not authorized to perform: ecs:UpdateService" in cause["errorMessage"]


def test_the_unchanged_function_yaml_allows_the_same_run(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--root", str(ROOT), "local", "run", "--outdir", str(assembly), str(RESTART), "--json"])

    execution = remediation(json.loads(capsys.readouterr().out))
    assert code == 0
    assert execution["status"] == "SUCCEEDED"


# The role as deployed: resources, explicit denies, changes while the cloud runs.


def test_a_table_left_out_of_a_role_is_refused_on_that_table(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    # Given emit_heartbeat's role with the idempotency table replaced by another one
    def elsewhere(statements: list[Any]) -> list[Any]:
        return json.loads(json.dumps(statements).replace("keel-dev-idempotency", "keel-dev-elsewhere"))

    template = with_role_statements(dev_template, "keel-dev-platform_heartbeat-emit_heartbeat", elsewhere)

    # When the heartbeat writes its probe item there
    with LocalCloud(template) as cloud:
        [delivery] = cloud.deliver(heartbeat_event.event)
        cloud.drive()
        assert delivery.execution_arn is not None
        execution = execution_report(cloud, delivery.execution_arn)

    # Then DynamoDB refuses that action on that table, and the execution fails with the refusal
    assert execution.status == "FAILED"
    assert execution.error == "AccessDeniedError"
    message = json.loads(execution.cause or "{}")["errorMessage"]
    assert (
        "/keel-dev-platform_heartbeat-emit_heartbeat is not authorized to perform: dynamodb:PutItem "
        "on resource: arn:aws:dynamodb:eu-west-1:111111111111:table/keel-dev-idempotency" in message
    )


def test_a_deny_put_on_a_role_while_the_cloud_runs_refuses_that_functions_next_call(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        # Given route_ticket's role, which may send to the team queues, and an explicit deny added to it now
        deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}]}
        role = role_name(cloud, "keel-dev-ticket_triage-route_ticket")
        cloud.client("iam").put_role_policy(RoleName=role, PolicyName="NoSending", PolicyDocument=json.dumps(deny))

        # When a confident ticket is routed
        execution = run(cloud, BILLING_TICKET)

        # Then the send is refused by the deny, while the triage (another function, its own role) went on
        [refusal] = refusals(execution)
        assert execution.status == "FAILED"
        assert [state.name for state in execution.states][:4] == [
            "KeelClaimEvent",
            "KeelSealConfidential",
            "Triage",
            "ConfidentEnough",
        ]
        assert "/keel-dev-ticket_triage-route_ticket is not authorized to perform: sqs:SendMessage" in refusal
        assert "with an explicit deny in an identity-based policy" in refusal

        # And the local cloud itself may still send to that queue
        sqs = cloud.client("sqs")
        url = sqs.get_queue_url(QueueName="keel-dev-ticket_triage-billing")["QueueUrl"]
        assert sqs.send_message(QueueUrl=url, MessageBody="{}")["MessageId"]


def test_a_refused_publish_is_snss_authorization_error_raised_as_access_denied(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        # Given request_approval's role denied sns:Publish
        deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sns:Publish", "Resource": "*"}]}
        role = role_name(cloud, "keel-dev-ticket_triage-request_approval")
        cloud.client("iam").put_role_policy(RoleName=role, PolicyName="NoPaging", PolicyDocument=json.dumps(deny))

        # When an uncertain ticket asks a reviewer
        execution = run(cloud, UNCERTAIN_TICKET)

    # Then SNS answered with its own code, which the adapters raise as AccessDeniedError
    [refusal] = refusals(execution)
    assert "AuthorizationError" in refusal
    assert (
        "/keel-dev-ticket_triage-request_approval is not authorized to perform: sns:Publish on resource: arn:aws:sns:" in refusal
    )


def test_a_permissions_boundary_from_the_template_bounds_the_function(dev_template: EnvironmentTemplate) -> None:
    # Given emit_heartbeat's role deployed with a permissions boundary that allows reads only
    boundary_arn = "arn:aws:iam::111111111111:policy/keel-read-only-boundary"

    def bounded(resource: dict[str, Any]) -> None:
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role" and "function emit_heartbeat" in properties.get("Description", ""):
            properties["PermissionsBoundary"] = boundary_arn

    with LocalCloud(edited(dev_template, bounded)) as cloud:
        iam = cloud.client("iam")
        reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}
        assert (
            iam.create_policy(PolicyName="keel-read-only-boundary", PolicyDocument=json.dumps(reads))["Policy"]["Arn"]
            == boundary_arn
        )
        deployed = iam.get_role(RoleName=role_name(cloud, "keel-dev-platform_heartbeat-emit_heartbeat"))["Role"]
        assert deployed["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary_arn

        # When the heartbeat writes its probe item
        execution = run(cloud, ROOT / "events" / "platform_heartbeat" / "scheduled.json")

    # Then its role allows the write, but the boundary does not
    assert execution.error == "AccessDeniedError"
    assert "dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:111111111111:table/keel-dev-idempotency" in (
        execution.cause or ""
    )
    assert "because no permissions boundary allows the dynamodb:PutItem action" in (execution.cause or "")


# The local cloud's own calls.


def test_deploy_answers_and_ops_are_never_refused_while_a_function_is(dev_template: EnvironmentTemplate) -> None:
    # Given route_ticket's role denying everything: the cloud still deploys
    template = with_role_statements(dev_template, "keel-dev-ticket_triage-route_ticket", lambda found: [*found, DENY_EVERYTHING])
    with LocalCloud(template) as cloud:
        # When an uncertain ticket waits for a reviewer, and the cloud answers as an operator does
        execution = run(cloud, UNCERTAIN_TICKET, "approve")

        # Then only the function was refused, after the approval was recorded and delivered
        [refusal] = refusals(execution)
        assert "/keel-dev-ticket_triage-route_ticket is not authorized to perform: dynamodb:" in refusal
        assert "with an explicit deny in an identity-based policy" in refusal
        path = [state.name for state in execution.states]
        assert path.index("AskReviewer") < path.index("RouteReviewed")
        # And keel ops reads it all through the cloud
        operator = cloud.operator()
        assert [row["status"] for row in list_executions(operator, "ticket_triage", None, None)] == ["FAILED"]
        approvals = [r for r in operator.decisions.for_execution(execution.execution_arn) if r.decision.approved_by]
        assert approvals


@pytest.fixture
def served_without_permissions(dev_template: EnvironmentTemplate) -> Iterator[tuple[LocalCloud, int]]:
    """`keel local up` of the environment with emit_heartbeat's role denying everything."""
    template = with_role_statements(
        dev_template, "keel-dev-platform_heartbeat-emit_heartbeat", lambda found: [*found, DENY_EVERYTHING]
    )
    port = free_port()
    with server.serving(template, port) as cloud:
        yield cloud, port


def test_the_served_cloud_refuses_functions_and_answers_any_client(
    served_without_permissions: tuple[LocalCloud, int], heartbeat_event: EventFile
) -> None:
    cloud, port = served_without_permissions
    # Given a client with keys no identity in the cloud owns
    client = boto3.client(
        "events",
        region_name="eu-west-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    # When it puts the scheduled event on the default bus, and the execution runs
    client.put_events(Entries=[{**_entry(heartbeat_event.event), "EventBusName": "default"}])
    cloud.drive()

    # Then the client was answered, and the heartbeat function was refused its first call
    [arn] = cloud.execution_arns()
    execution = execution_report(cloud, arn)
    assert execution.error == "AccessDeniedError"
    assert "/keel-dev-platform_heartbeat-emit_heartbeat is not authorized to perform: dynamodb:PutItem" in (execution.cause or "")


def _entry(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
    }


def test_each_function_signs_with_a_session_of_its_own_role(assembly: Path) -> None:
    with LocalCloud(load_environment(assembly, "dev")) as cloud:
        run(cloud, BILLING_TICKET)
        # ticket_triage's functions (other automations may take the same ticket)
        sessions = {
            name: {variable: environment[variable] for variable in CREDENTIAL_VARIABLES}
            for name, environment in cloud.runtime.environments().items()
            if name.startswith("keel-dev-ticket_triage-")
        }
        identities = {
            name: boto3.client("sts", region_name="eu-west-1", **_arguments(credentials)).get_caller_identity()["Arn"]
            for name, credentials in sessions.items()
        }
        roles = {name: role_name(cloud, name) for name in sessions}

    # (the seal, the two modules, and the writer they hand their decisions to)
    assert set(identities) == {
        "keel-dev-ticket_triage-seal_confidential",
        "keel-dev-ticket_triage-triage_ticket",
        "keel-dev-ticket_triage-route_ticket",
        "keel-dev-ticket_triage-record_decision",
    }
    for name, identity in identities.items():
        assert identity == f"arn:aws:sts::111111111111:assumed-role/{roles[name]}/{name}"
    assert len(set(roles.values())) == len(identities)


def _arguments(credentials: dict[str, str] | None) -> dict[str, str]:
    assert credentials is not None
    return {
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": credentials["AWS_SESSION_TOKEN"],
    }
