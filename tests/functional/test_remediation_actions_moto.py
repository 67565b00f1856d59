"""Each remediation action and its verification against real moto resources: an ECS service, an EC2
instance with volumes, SQS queues, an IAM user's key, a CloudWatch alarm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.contain_threat import logic as contain
from functions.remediate_service import logic as remediate
from functions.shared.adapters import aws
from functions.shared.adapters.resources import Alarms, Ec2Instances, EcsServices, IamKeys, SqsQueues
from functions.shared.domain.decisions import GENESIS, Decision, DecisionRecord
from functions.shared.remediation.plan import ActInput, Plan
from functions.shared.runtime.errors import ConfigurationError, NotFoundError
from functions.verify_remediation import logic as verify
from tests.support.keel_context import keel_fields

REGION, ACCOUNT = "eu-west-1", "123456789012"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:keel-dev-security_finding_response:run-1"
OPT_IN = [{"Key": "keel:remediation", "Value": "enabled"}]


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        aws.client.cache_clear()
        yield {name: boto3.client(name, region_name=REGION) for name in ("ecs", "ec2", "sqs", "iam", "cloudwatch")}
    aws.client.cache_clear()


def plan(action: str, target: dict[str, str], verify_kind: str, **parameters: Any) -> Plan:
    return Plan(
        runbook=f"test-{action.replace('_', '-')}",
        catalog_version="test-1",
        description=action,
        action=action,  # type: ignore[arg-type]
        resource=f"arn:aws:test:{REGION}:{ACCOUNT}:{json.dumps(target, sort_keys=True)}",
        target=target,
        parameters=parameters,
        risk="medium",
        approval="policy",
        cooldown_minutes=10,
        # An alarm_ok verification names the alarm it reads.
        verify={"kind": verify_kind, "wait_seconds": 0} | ({"alarm": "orders-api-5xx"} if verify_kind == "alarm_ok" else {}),  # type: ignore[arg-type]
        trigger="test",
        region=REGION,
        account=ACCOUNT,
    )


def services(cloud: dict[str, Any]) -> remediate.Services:
    return remediate.Services(ecs=EcsServices(cloud["ecs"]), ec2=Ec2Instances(cloud["ec2"]), sqs=SqsQueues(cloud["sqs"]))


def readers(cloud: dict[str, Any]) -> verify.Readers:
    return verify.Readers(
        alarms=Alarms(cloud["cloudwatch"]),
        ecs=EcsServices(cloud["ecs"]),
        ec2=Ec2Instances(cloud["ec2"]),
        sqs=SqsQueues(cloud["sqs"]),
        iam=IamKeys(cloud["iam"]),
    )


def ecs_service(cloud: dict[str, Any], desired: int = 2) -> None:
    cloud["ecs"].create_cluster(clusterName="orders")
    cloud["ecs"].register_task_definition(family="api", containerDefinitions=[{"name": "api", "image": "api:1", "memory": 256}])
    cloud["ecs"].create_service(cluster="orders", serviceName="orders-api", taskDefinition="api", desiredCount=desired)


def test_force_new_deployment_starts_a_deployment_of_the_service(cloud) -> None:
    # Given an ECS service with 2 tasks
    ecs_service(cloud)
    before = cloud["ecs"].describe_services(cluster="orders", services=["orders-api"])["services"][0]["deployments"][0]["id"]

    # When the restart runbook acts
    result = remediate.act(
        plan("ecs_force_new_deployment", {"cluster": "orders", "service": "orders-api"}, "service_stable"), services(cloud)
    )

    # Then the service runs a new deployment (moto replaces it in place), and the result says what ran before
    described = cloud["ecs"].describe_services(cluster="orders", services=["orders-api"])["services"][0]
    assert [deployment["id"] for deployment in described["deployments"]] != [before]
    assert result.changed
    assert result.details["desired"] == 2
    assert "started a new deployment of ECS service orders/orders-api" in result.summary


def test_scale_out_adds_tasks_up_to_the_ceiling_and_says_how_to_undo(cloud) -> None:
    # Given a service with 3 tasks, a runbook adding 2 up to 4
    ecs_service(cloud, desired=3)
    scale = plan("ecs_scale_out", {"cluster": "orders", "service": "orders-api"}, "service_stable", increment=2, max_count=4)

    # When it acts twice
    first = remediate.act(scale, services(cloud))
    second = remediate.act(scale, services(cloud))

    # Then the first scales to the ceiling (not beyond) with its undo, the second changes nothing
    assert cloud["ecs"].describe_services(cluster="orders", services=["orders-api"])["services"][0]["desiredCount"] == 4
    assert (first.changed, first.details["desired_before"], first.details["desired_after"]) == (True, 3, 4)
    assert first.undo is not None
    assert first.undo["command"] == "aws ecs update-service --cluster orders --service orders-api --desired-count 3"
    assert not second.changed


def test_a_missing_service_is_not_found(cloud) -> None:
    # Given no such service / When restarted / Then NotFoundError (the workflow's Catch escalates it)
    cloud["ecs"].create_cluster(clusterName="orders")
    with pytest.raises(NotFoundError, match="no active ECS service ghost in cluster orders"):
        remediate.act(
            plan("ecs_force_new_deployment", {"cluster": "orders", "service": "ghost"}, "service_stable"), services(cloud)
        )


def instance_with_volumes(cloud: dict[str, Any]) -> tuple[str, list[str], list[str], str]:
    ec2 = cloud["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    groups = [ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"] for name in ("app", "ssh")]
    quarantine = ec2.create_security_group(
        GroupName="quarantine",
        Description="quarantine",
        VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "keel:quarantine", "Value": "true"}]}],
    )["GroupId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        SecurityGroupIds=groups,
        BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}},
            {"DeviceName": "/dev/xvdf", "Ebs": {"VolumeSize": 20}},
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": OPT_IN}],
    )["Instances"][0]["InstanceId"]
    volumes = [
        m["Ebs"]["VolumeId"]
        for m in ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    ]
    return instance, volumes, groups, quarantine


def evidence(cloud: dict[str, Any]) -> list[dict[str, Any]]:
    """Snapshots Keel made (moto's account also holds the snapshots of its sample AMIs)."""
    filters = [{"Name": "tag:keel:remediation", "Values": ["enabled"]}]
    snapshots: list[dict[str, Any]] = cloud["ec2"].describe_snapshots(OwnerIds=["self"], Filters=filters)["Snapshots"]
    return snapshots


def containment(cloud: dict[str, Any]) -> contain.Services:
    return contain.Services(ec2=Ec2Instances(cloud["ec2"]), iam=IamKeys(cloud["iam"]))


def test_isolation_snapshots_every_volume_first_and_keeps_the_original_groups(cloud) -> None:
    # Given an instance with two volumes in two security groups, and its VPC's quarantine group
    instance, volumes, groups, quarantine = instance_with_volumes(cloud)
    isolate = plan("ec2_isolate", {"instance_id": instance}, "instance_isolated", quarantine_tag="keel:quarantine")

    # When it is isolated
    result = contain.act(isolate, EXECUTION, containment(cloud))

    # Then each volume has a tagged snapshot, the instance sits in the quarantine group alone, and the
    # original groups are in the result (for the decision record), in the undo command and on the instance
    snapshots = evidence(cloud)
    assert sorted(s["VolumeId"] for s in snapshots) == sorted(volumes)
    assert result.details["snapshots"] == {s["VolumeId"]: s["SnapshotId"] for s in snapshots}
    described = cloud["ec2"].describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in described["SecurityGroups"]] == [quarantine]
    assert result.details["original_groups"] == groups
    assert result.undo is not None
    assert result.undo["command"] == f"aws ec2 modify-instance-attribute --instance-id {instance} --groups {' '.join(groups)}"
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["keel:original-groups"] == " ".join(groups)
    # And verification sees it contained
    assert verify.verify(isolate, result.model_dump(mode="json"), readers(cloud)).resolved


def test_a_retried_isolation_reuses_its_snapshots_and_still_knows_the_original_groups(cloud) -> None:
    # Given an isolation that already ran in this execution
    instance, volumes, groups, _ = instance_with_volumes(cloud)
    isolate = plan("ec2_isolate", {"instance_id": instance}, "instance_isolated")
    first = contain.act(isolate, EXECUTION, containment(cloud))

    # When the same execution runs it again (a Lambda retry)
    again = contain.act(isolate, EXECUTION, containment(cloud))

    # Then no new snapshot is made and the undo data still names the original groups
    assert len(evidence(cloud)) == len(volumes)
    assert again.details["snapshots"] == first.details["snapshots"]
    assert again.details["original_groups"] == groups


def test_an_instance_another_execution_isolated_is_left_alone(cloud) -> None:
    # Given an instance isolated by an earlier execution
    instance, _, _, _ = instance_with_volumes(cloud)
    isolate = plan("ec2_isolate", {"instance_id": instance}, "instance_isolated")
    contain.act(isolate, EXECUTION, containment(cloud))

    # When another execution isolates it / Then nothing changes (its original groups stay recorded once)
    later = contain.act(isolate, EXECUTION + "-later", containment(cloud))
    assert not later.changed
    assert later.details["isolated_by"] == "run-1"


def test_isolation_without_a_quarantine_group_is_a_configuration_error(cloud) -> None:
    # Given a VPC without a group tagged keel:quarantine=true
    ec2 = cloud["ec2"]
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    # When isolated / Then it refuses before touching anything, saying what to create
    with pytest.raises(ConfigurationError, match="needs exactly one quarantine security group tagged keel:quarantine=true"):
        contain.act(plan("ec2_isolate", {"instance_id": instance}, "instance_isolated"), EXECUTION, containment(cloud))
    assert evidence(cloud) == []


def test_reboot_runs_on_the_instance_and_verification_sees_it_running(cloud) -> None:
    # Given a running instance
    instance = cloud["ec2"].run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    reboot = plan("ec2_reboot", {"instance_id": instance}, "instance_running")

    # When rebooted and verified
    result = remediate.act(reboot, services(cloud))
    check = verify.verify(reboot, result.model_dump(mode="json"), readers(cloud))

    # Then the reboot is reported and the instance is healthy again
    assert (result.changed, result.details["state_before"]) == (True, "running")
    assert check.resolved
    assert check.observed.startswith(f"EC2 instance {instance}: state running")


def test_redrive_moves_dead_letters_back_to_their_source_with_attributes(cloud) -> None:
    # Given orders-events dead-lettering into orders-events-dlq, which holds 3 messages
    sqs = cloud["sqs"]
    dlq = sqs.create_queue(QueueName="orders-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(
        QueueName="orders-events",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]
    for number in range(3):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=f"order-{number}",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "OrderPlaced"}},
        )
    redrive = plan("sqs_redrive", {"queue": "orders-events-dlq"}, "queue_drained", max_messages=100)

    # When the redrive runs and is verified
    result = remediate.act(redrive, services(cloud))
    check = verify.verify(redrive, result.model_dump(mode="json"), readers(cloud))

    # Then the source queue has every message with its attributes, and the DLQ is drained
    moved = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in moved) == ["order-0", "order-1", "order-2"]
    assert {m["MessageAttributes"]["kind"]["StringValue"] for m in moved} == {"OrderPlaced"}
    assert (result.details["moved"], result.details["source_queue"]) == (3, "orders-events")
    assert (check.resolved, check.observed) == (True, "orders-events-dlq holds 0 message(s)")


def test_redrive_of_an_empty_queue_changes_nothing_and_a_limit_leaves_the_rest(cloud) -> None:
    # Given a DLQ with 3 messages and a runbook moving at most 2
    sqs = cloud["sqs"]
    dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName="q", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})}
    )
    for number in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=str(number))

    # When redriven with the limit, then verified
    limited = plan("sqs_redrive", {"queue": "q-dlq"}, "queue_drained", max_messages=2)
    result = remediate.act(limited, services(cloud))
    check = verify.verify(limited, result.model_dump(mode="json"), readers(cloud))

    # Then 2 moved and the check is not resolved (1 left, not visible until its timeout ends)
    assert result.details["moved"] == 2
    assert not check.resolved


def test_deactivating_a_key_records_how_to_reactivate_it(cloud) -> None:
    # Given an IAM user with an active key
    iam = cloud["iam"]
    iam.create_user(UserName="ci-deployer", Tags=OPT_IN)
    key = iam.create_access_key(UserName="ci-deployer")["AccessKey"]["AccessKeyId"]
    deactivate = plan("iam_deactivate_access_key", {"user_name": "ci-deployer", "access_key_id": key}, "access_key_inactive")

    # When deactivated twice and verified
    first = contain.act(deactivate, EXECUTION, containment(cloud))
    second = contain.act(deactivate, EXECUTION, containment(cloud))
    check = verify.verify(deactivate, first.model_dump(mode="json"), readers(cloud))

    # Then the key is inactive once, the undo says how to reactivate, and verification confirms it
    assert iam.list_access_keys(UserName="ci-deployer")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert (first.changed, second.changed) == (True, False)
    assert first.undo is not None
    assert first.undo["command"] == f"aws iam update-access-key --user-name ci-deployer --access-key-id {key} --status Active"
    assert check.resolved


def test_an_unknown_key_is_not_found(cloud) -> None:
    # Given a user without that key / When deactivated / Then NotFoundError names it
    cloud["iam"].create_user(UserName="ci-deployer")
    with pytest.raises(NotFoundError, match="has no access key AKIAEXAMPLE"):
        contain.act(
            plan(
                "iam_deactivate_access_key",
                {"user_name": "ci-deployer", "access_key_id": "AKIAEXAMPLE7UNKNOWN"},
                "access_key_inactive",
            ),
            EXECUTION,
            containment(cloud),
        )


@pytest.mark.parametrize(("state", "resolved"), [("OK", True), ("ALARM", False)])
def test_alarm_verification_reads_the_alarm_state(cloud, state, resolved) -> None:
    # Given the alarm that fired, now in a given state
    cloud["cloudwatch"].put_metric_alarm(
        AlarmName="orders-api-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=20,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloud["cloudwatch"].set_alarm_state(AlarmName="orders-api-5xx", StateValue=state, StateReason="test")
    fields = plan("ecs_force_new_deployment", {"cluster": "c", "service": "s"}, "alarm_ok").model_dump()
    check_plan = Plan.model_validate(fields | {"verify": {"kind": "alarm_ok", "wait_seconds": 0, "alarm": "orders-api-5xx"}})

    # When verified / Then resolved only when it is OK again
    check = verify.verify(check_plan, {}, readers(cloud))
    assert (check.resolved, check.observed) == (resolved, f"alarm orders-api-5xx is {state}: test")


def test_actions_the_module_does_not_carry_out_are_invalid_input(cloud) -> None:
    # Given a containment plan sent to the service module, and the reverse / Then each refuses it
    from functions.shared.runtime.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="remediate_service does not carry out ec2_isolate"):
        remediate.act(plan("ec2_isolate", {"instance_id": "i-0123456789abcdef0"}, "instance_isolated"), services(cloud))
    with pytest.raises(InvalidInputError, match="contain_threat does not carry out ec2_reboot"):
        contain.act(plan("ec2_reboot", {"instance_id": "i-0123456789abcdef0"}, "instance_running"), EXECUTION, containment(cloud))


class FakeLog:
    """Records decisions in memory, as DecisionLog would, and hands back a record of each."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []

    def record(self, decision: Decision) -> DecisionRecord:
        self.decisions.append(decision)
        return DecisionRecord(
            seq=len(self.decisions), recorded_at="2026-11-22T09:00:00.000+00:00", prev_hash=GENESIS, hash="h", decision=decision
        )


def act_input(plan_: Plan, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": "finding-1",
        "execution": EXECUTION,
        "keel": keel_fields(automation="security_finding_response"),
        "step": "Act",
        "plan": plan_.model_dump(mode="json"),
        **fields,
    }


def test_a_key_of_a_deleted_user_is_recorded_not_found_not_raised(cloud) -> None:
    # Given a finding about a key whose IAM user was deleted since
    log = FakeLog()
    deps = contain.Dependencies(
        services=contain.Services(ec2=Ec2Instances(cloud["ec2"]), iam=IamKeys(cloud["iam"])), log=log, code_version="t"
    )
    key = plan(
        "iam_deactivate_access_key", {"user_name": "departed", "access_key_id": "AKIAQXAMPLE9GONE2D4Q"}, "access_key_inactive"
    )

    # When contain_threat acts on it
    result = contain.act_and_record(ActInput.model_validate(act_input(key)), deps)

    # Then nothing changed, and not_found is recorded with IAM's own answer as the reason
    assert (result["outcome"], result["changed"]) == ("not_found", False)
    [decision] = log.decisions
    assert (decision.outcome, decision.action) == ("not_found", "iam_deactivate_access_key")
    assert "NoSuchEntity: The user with name departed cannot be found" in decision.reason


def test_a_deleted_ecs_service_and_a_terminated_instance_are_not_found_for_remediate_service(cloud) -> None:
    # Given a cluster whose service was deleted, and an instance id that no longer exists
    ecs_service(cloud)
    cloud["ecs"].delete_service(cluster="orders", service="orders-api", force=True)
    log = FakeLog()
    deps = remediate.Dependencies(services=services(cloud), log=log, code_version="t")
    restart = plan("ecs_force_new_deployment", {"cluster": "orders", "service": "orders-api"}, "service_stable")
    reboot = plan("ec2_reboot", {"instance_id": "i-0123456789abcdef0"}, "instance_running")

    # When remediate_service acts on each / Then each is recorded not_found (EC2's InvalidInstanceID.NotFound too)
    outcomes = [remediate.act_and_record(ActInput.model_validate(act_input(p)), deps)["outcome"] for p in (restart, reboot)]
    assert outcomes == ["not_found", "not_found"]
    assert "InvalidInstanceID.NotFound" in log.decisions[1].reason


def test_a_verification_whose_resource_vanished_is_not_found(cloud) -> None:
    # Given an action taken, then its instance gone before the check
    log = FakeLog()
    deps = verify.Dependencies(readers=readers(cloud), log=log, code_version="t")
    check = plan("ec2_reboot", {"instance_id": "i-0123456789abcdef0"}, "instance_running")

    # When verify_remediation checks it
    task = verify.VerifyInput.model_validate(act_input(check, step="Verify", action={"summary": "rebooted"}))
    result = verify.verify_and_record(task, deps)

    # Then the verdict is not_found (not a failure), recorded with what was seen
    assert (result["resolved"], result["verdict"]) == (False, "not_found")
    assert log.decisions[0].outcome == "not_found"
    assert "no longer exists" in result["observed"]
