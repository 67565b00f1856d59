"""The AWS resources the sample events name (events/*/world.yaml), in memory, behind the adapters'
own interfaces: what the acting and verifying modules call, answering as the adapters do (a resource
that does not exist is a NotFoundError), without moto's cost per call."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from functions.shared.adapters.resources import Alarms, Ec2Instances, EcsServices, IamKeys, Instance, ServiceState, SqsQueues
from functions.shared.runtime.errors import ConfigurationError, NotFoundError


class FakeEcsServices(EcsServices):
    def __init__(self, services: dict[tuple[str, str], ServiceState]) -> None:
        super().__init__()
        self.services = services

    def describe(self, cluster: str, service: str) -> ServiceState:
        if (cluster, service) not in self.services:
            raise NotFoundError(f"no active ECS service {service} in cluster {cluster}")
        return self.services[(cluster, service)]

    def force_new_deployment(self, cluster: str, service: str) -> None:
        state = self.describe(cluster, service)
        self.services[(cluster, service)] = replace(state, deployments=state.deployments + 1)

    def set_desired_count(self, cluster: str, service: str, count: int) -> None:
        self.services[(cluster, service)] = replace(self.describe(cluster, service), desired=count)


class FakeEc2Instances(Ec2Instances):
    def __init__(self, instances: dict[str, Instance], quarantine: dict[str, str]) -> None:
        super().__init__()
        self.instances = instances
        # VPC -> its quarantine group.
        self.quarantine = quarantine
        self.snapshots: dict[str, dict[str, str]] = {}

    def describe(self, instance_id: str) -> Instance:
        if instance_id not in self.instances:
            raise NotFoundError(f"no EC2 instance {instance_id}")
        return self.instances[instance_id]

    def reboot(self, instance_id: str) -> None:
        self.describe(instance_id)

    def status_ok(self, instance_id: str) -> tuple[bool, str]:
        state = self.describe(instance_id).state
        return state == "running", f"state {state}, system status ok, instance status ok"

    def quarantine_group(self, vpc_id: str, tag: str) -> str:
        if vpc_id not in self.quarantine:
            raise ConfigurationError(f"{vpc_id} needs exactly one quarantine security group tagged {tag}=true (found 0)")
        return self.quarantine[vpc_id]

    def snapshots_of(self, execution_tag: str) -> dict[str, str]:
        return dict(self.snapshots.get(execution_tag, {}))

    def snapshot(self, volume_id: str, description: str, tags: dict[str, str]) -> str:
        made = self.snapshots.setdefault(tags.get("keel:execution", ""), {})
        made[volume_id] = f"snap-{len(made):017x}"
        return made[volume_id]

    def tag(self, resource_id: str, tags: dict[str, str]) -> None:
        instance = self.describe(resource_id)
        self.instances[resource_id] = replace(instance, tags={**instance.tags, **tags})

    def set_groups(self, instance_id: str, groups: list[str]) -> None:
        self.instances[instance_id] = replace(self.describe(instance_id), groups=list(groups))


@dataclass
class Queue:
    depth: int
    # The queue that dead-letters into this one.
    source: str | None = None


class FakeSqsQueues(SqsQueues):
    PREFIX = "https://sqs.eu-west-1.amazonaws.com/111111111111/"

    def __init__(self, queues: dict[str, Queue]) -> None:
        super().__init__()
        self.queues = queues

    def url(self, name: str) -> str:
        if name not in self.queues:
            raise NotFoundError(f"GetQueueUrl of {name} failed: AWS.SimpleQueueService.NonExistentQueue")
        return self.PREFIX + name

    def depth(self, url: str) -> int:
        return self.queues[url.removeprefix(self.PREFIX)].depth

    def source_of(self, dlq_url: str) -> str:
        source = self.queues[dlq_url.removeprefix(self.PREFIX)].source
        if source is None:
            raise ConfigurationError(f"{dlq_url} is the dead-letter queue of 0 queues; redrive needs exactly one")
        return self.PREFIX + source

    def move(self, source_url: str, target_url: str, limit: int) -> int:
        source, target = self.queues[source_url.removeprefix(self.PREFIX)], self.queues[target_url.removeprefix(self.PREFIX)]
        moved = min(limit, source.depth)
        source.depth, target.depth = source.depth - moved, target.depth + moved
        return moved


class FakeIamKeys(IamKeys):
    def __init__(self, keys: dict[tuple[str, str], str]) -> None:
        super().__init__()
        self.keys = keys

    def status(self, user: str, key_id: str) -> str:
        if (user, key_id) not in self.keys:
            raise NotFoundError(f"no access key {key_id} of IAM user {user}")
        return self.keys[(user, key_id)]

    def set_status(self, user: str, key_id: str, status: str) -> None:
        self.status(user, key_id)
        self.keys[(user, key_id)] = status


class FakeAlarms(Alarms):
    def __init__(self, alarms: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.alarms = alarms

    def state(self, name: str) -> tuple[str, str]:
        if name not in self.alarms:
            raise NotFoundError(f"no CloudWatch alarm {name}")
        return self.alarms[name]


@dataclass
class SampleWorld:
    """What events/alarm_remediation/world.yaml and events/security_finding_response/world.yaml create."""

    ecs: FakeEcsServices = field(
        default_factory=lambda: FakeEcsServices(
            {
                ("orders", "orders-api"): ServiceState(desired=2, running=2, deployments=1, task_definition="orders-api:1"),
                ("payments", "payments-api"): ServiceState(desired=3, running=3, deployments=1, task_definition="payments-api:1"),
            }
        )
    )
    ec2: FakeEc2Instances = field(
        default_factory=lambda: FakeEc2Instances(
            {
                "i-0b22a22eec53b9321": Instance(
                    "i-0b22a22eec53b9321", "running", "vpc-0a7d3c5e9b1f24680", [], ["vol-0e4c6a8b2d0f13572"], {}
                ),
                "i-0c5f3e8a9d1b2c4e6": Instance(
                    "i-0c5f3e8a9d1b2c4e6",
                    "running",
                    "vpc-0f1e2d3c4b5a69788",
                    ["sg-0a9b8c7d6e5f40312", "sg-0e1d2c3b4a5968778"],
                    ["vol-0a1b2c3d4e5f60718", "vol-0f9e8d7c6b5a43210"],
                    {"keel:remediation": "enabled"},
                ),
            },
            quarantine={"vpc-0f1e2d3c4b5a69788": "sg-0c0ffee0c0ffee001"},
        )
    )
    sqs: FakeSqsQueues = field(
        default_factory=lambda: FakeSqsQueues({"orders-events-dlq": Queue(3, source="orders-events"), "orders-events": Queue(0)})
    )
    iam: FakeIamKeys = field(default_factory=lambda: FakeIamKeys({("ci-deployer", "AKIAQXAMPLE6KEEL7K3Y"): "Active"}))
    alarms: FakeAlarms = field(
        default_factory=lambda: FakeAlarms(
            {
                name: ("OK", "back below the threshold")
                for name in (
                    "orders-api-5xx",
                    "batch-worker-status-check",
                    "orders-events-dlq-not-empty",
                    "payments-api-cpu-high",
                )
            }
        )
    )
