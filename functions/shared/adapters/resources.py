"""The AWS resources remediation acts on and verifies: ECS services, EC2 instances, SQS queues, IAM
access keys and CloudWatch alarms. Each call raises the project's exceptions (ThrottledError is
retried by the workflow); clients are passed in, or made once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import ConfigurationError, NotFoundError


def _client(given: Any | None, service: str) -> Any:
    return given if given is not None else client(service)


@dataclass(frozen=True)
class ServiceState:
    desired: int
    running: int
    deployments: int
    task_definition: str

    @property
    def stable(self) -> bool:
        return self.deployments == 1 and self.running == self.desired


class EcsServices:
    def __init__(self, ecs: Any | None = None) -> None:
        self._ecs = ecs

    @property
    def ecs(self) -> Any:
        return _client(self._ecs, "ecs")

    def describe(self, cluster: str, service: str) -> ServiceState:
        with aws_errors(f"DescribeServices of {cluster}/{service}"):
            response = self.ecs.describe_services(cluster=cluster, services=[service])
        found = [item for item in response.get("services", []) if item.get("status") != "INACTIVE"]
        if not found:
            raise NotFoundError(f"no active ECS service {service} in cluster {cluster}")
        item = found[0]
        return ServiceState(
            desired=int(item["desiredCount"]),
            running=int(item.get("runningCount", 0)),
            deployments=len(item.get("deployments", [])),
            task_definition=str(item.get("taskDefinition", "")),
        )

    def force_new_deployment(self, cluster: str, service: str) -> None:
        with aws_errors(f"UpdateService (force new deployment) of {cluster}/{service}"):
            self.ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)

    def set_desired_count(self, cluster: str, service: str, count: int) -> None:
        with aws_errors(f"UpdateService (desired count {count}) of {cluster}/{service}"):
            self.ecs.update_service(cluster=cluster, service=service, desiredCount=count)


@dataclass(frozen=True)
class Instance:
    instance_id: str
    state: str
    vpc_id: str
    groups: list[str]
    volumes: list[str]
    tags: dict[str, str]


class Ec2Instances:
    def __init__(self, ec2: Any | None = None) -> None:
        self._ec2 = ec2

    @property
    def ec2(self) -> Any:
        return _client(self._ec2, "ec2")

    def describe(self, instance_id: str) -> Instance:
        with aws_errors(f"DescribeInstances of {instance_id}"):
            response = self.ec2.describe_instances(InstanceIds=[instance_id])
        found = [instance for reservation in response.get("Reservations", []) for instance in reservation["Instances"]]
        if not found:
            raise NotFoundError(f"no EC2 instance {instance_id}")
        item = found[0]
        return Instance(
            instance_id=instance_id,
            state=str(item["State"]["Name"]),
            vpc_id=str(item.get("VpcId", "")),
            groups=[group["GroupId"] for group in item.get("SecurityGroups", [])],
            volumes=[mapping["Ebs"]["VolumeId"] for mapping in item.get("BlockDeviceMappings", []) if "Ebs" in mapping],
            tags={tag["Key"]: tag["Value"] for tag in item.get("Tags", [])},
        )

    def reboot(self, instance_id: str) -> None:
        with aws_errors(f"RebootInstances of {instance_id}"):
            self.ec2.reboot_instances(InstanceIds=[instance_id])

    def status_ok(self, instance_id: str) -> tuple[bool, str]:
        """Running, and its status checks are not failing; with what was seen."""
        with aws_errors(f"DescribeInstanceStatus of {instance_id}"):
            response = self.ec2.describe_instance_status(InstanceIds=[instance_id], IncludeAllInstances=True)
        statuses = response.get("InstanceStatuses", [])
        if not statuses:
            raise NotFoundError(f"no status for EC2 instance {instance_id}")
        status = statuses[0]
        state = status["InstanceState"]["Name"]
        system = status.get("SystemStatus", {}).get("Status", "unknown")
        instance = status.get("InstanceStatus", {}).get("Status", "unknown")
        healthy = state == "running" and "impaired" not in (system, instance)
        return healthy, f"state {state}, system status {system}, instance status {instance}"

    def quarantine_group(self, vpc_id: str, tag: str) -> str:
        with aws_errors(f"DescribeSecurityGroups tagged {tag} in {vpc_id}"):
            response = self.ec2.describe_security_groups(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": f"tag:{tag}", "Values": ["true"]}]
            )
        groups = [group["GroupId"] for group in response.get("SecurityGroups", [])]
        if len(groups) != 1:
            raise ConfigurationError(
                f"{vpc_id} needs exactly one quarantine security group tagged {tag}=true with no rules "
                f"(found {len(groups)}): create it before isolation can run"
            )
        return str(groups[0])

    def snapshots_of(self, execution_tag: str) -> dict[str, str]:
        """Snapshots this execution already made, by volume (a retried isolation reuses them)."""
        with aws_errors("DescribeSnapshots of this execution"):
            response = self.ec2.describe_snapshots(
                OwnerIds=["self"], Filters=[{"Name": "tag:keel:execution", "Values": [execution_tag]}]
            )
        return {snapshot["VolumeId"]: snapshot["SnapshotId"] for snapshot in response.get("Snapshots", [])}

    def snapshot(self, volume_id: str, description: str, tags: dict[str, str]) -> str:
        with aws_errors(f"CreateSnapshot of {volume_id}"):
            response = self.ec2.create_snapshot(
                VolumeId=volume_id,
                Description=description[:255],
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
            )
        return str(response["SnapshotId"])

    def tag(self, resource_id: str, tags: dict[str, str]) -> None:
        with aws_errors(f"CreateTags on {resource_id}"):
            self.ec2.create_tags(Resources=[resource_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def set_groups(self, instance_id: str, groups: list[str]) -> None:
        with aws_errors(f"ModifyInstanceAttribute (security groups) of {instance_id}"):
            self.ec2.modify_instance_attribute(InstanceId=instance_id, Groups=groups)


class SqsQueues:
    def __init__(self, sqs: Any | None = None) -> None:
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        return _client(self._sqs, "sqs")

    def url(self, name: str) -> str:
        with aws_errors(f"GetQueueUrl of {name}"):
            return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def depth(self, url: str) -> int:
        with aws_errors(f"GetQueueAttributes of {url}"):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def source_of(self, dlq_url: str) -> str:
        """The one queue that dead-letters into this one."""
        with aws_errors(f"ListDeadLetterSourceQueues of {dlq_url}"):
            sources = self.sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
        if len(sources) != 1:
            raise ConfigurationError(f"{dlq_url} is the dead-letter queue of {len(sources)} queues; redrive needs exactly one")
        return str(sources[0])

    def move(self, source_url: str, target_url: str, limit: int) -> int:
        """Move up to `limit` messages (body and attributes), deleting each only once it is sent."""
        moved = 0
        while moved < limit:
            with aws_errors(f"ReceiveMessage from {source_url}"):
                messages = self.sqs.receive_message(
                    QueueUrl=source_url,
                    MaxNumberOfMessages=min(10, limit - moved),
                    MessageAttributeNames=["All"],
                    VisibilityTimeout=60,
                ).get("Messages", [])
            if not messages:
                return moved
            for message in messages:
                sent: dict[str, Any] = {"QueueUrl": target_url, "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    sent["MessageAttributes"] = message["MessageAttributes"]
                with aws_errors(f"SendMessage to {target_url}"):
                    self.sqs.send_message(**sent)
                with aws_errors(f"DeleteMessage from {source_url}"):
                    self.sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        return moved


class IamKeys:
    def __init__(self, iam: Any | None = None) -> None:
        self._iam = iam

    @property
    def iam(self) -> Any:
        return _client(self._iam, "iam")

    def status(self, user: str, key_id: str) -> str:
        with aws_errors(f"ListAccessKeys of {user}"):
            keys = self.iam.list_access_keys(UserName=user).get("AccessKeyMetadata", [])
        for key in keys:
            if key["AccessKeyId"] == key_id:
                return str(key["Status"])
        raise NotFoundError(f"IAM user {user} has no access key {key_id}")

    def set_status(self, user: str, key_id: str, status: str) -> None:
        with aws_errors(f"UpdateAccessKey {key_id} of {user}"):
            self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=status)


class Alarms:
    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cloudwatch = cloudwatch

    @property
    def cloudwatch(self) -> Any:
        return _client(self._cloudwatch, "cloudwatch")

    def state(self, name: str) -> tuple[str, str]:
        with aws_errors(f"DescribeAlarms of {name}"):
            response = self.cloudwatch.describe_alarms(AlarmNames=[name])
        alarms = response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])
        if not alarms:
            raise NotFoundError(f"no CloudWatch alarm {name}")
        return str(alarms[0]["StateValue"]), str(alarms[0].get("StateReason", ""))
