"""The world sample events live in: AWS resources they name, created in the local cloud before replay.

An automation that acts on the account (restarts a service, isolates an instance) needs those
resources to exist. `events/<automation>/world.yaml` lists them as AWS API calls, applied in order
with boto3 against the local cloud, so it reads like a script an operator could run:

    calls:
      - call: ecs.create_cluster
        args: {clusterName: orders}
      - call: ec2.run_instances
        ids: {instance: i-0c5f3e8a9d1b2c4e6, volume: [vol-0a1b2c3d4e5f60718]}
        args: {ImageId: ami-0b5d7e2f9a1c3e4d6, MinCount: 1, MaxCount: 1}

`ids` pins the ids moto would generate at random (instances, volumes, security groups, VPCs,
subnets, IAM access keys), so the sample events' ids exist as written. Nothing here is specific to
one automation: any events/<automation>/world.yaml is applied when its events are replayed.
`${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` in arguments are the environment's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from keel.local.errors import LocalCloudError

WORLD_FILE = "world.yaml"
# Pinnable id kinds: the moto module and the generator function it calls for a new id.
ID_GENERATORS: dict[str, tuple[str, str]] = {
    "instance": ("moto.ec2.models.instances", "random_instance_id"),
    "volume": ("moto.ec2.models.elastic_block_store", "random_volume_id"),
    "security_group": ("moto.ec2.models.security_groups", "random_security_group_id"),
    "vpc": ("moto.ec2.models.vpcs", "random_vpc_id"),
    "subnet": ("moto.ec2.models.subnets", "random_subnet_id"),
    "access_key": ("moto.iam.models", "generate_access_key_id_from_account_id"),
}
# A read that makes moto build the service's backend (EC2 creates a default VPC with subnets and
# groups on first use), so those defaults never take a pinned id.
WARM_UP = {"ec2": "describe_vpcs", "iam": "list_users"}


class Call(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    call: str = Field(pattern=r"^[a-z0-9-]+\.[a-z0-9_]+$")
    args: dict[str, Any] = Field(default_factory=dict)
    ids: dict[str, str | list[str]] = Field(default_factory=dict)

    @field_validator("ids")
    @classmethod
    def _known_kinds(cls, ids: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(ids) - set(ID_GENERATORS))
        if unknown:
            raise ValueError(f"cannot pin {', '.join(unknown)} ids (pinnable: {', '.join(sorted(ID_GENERATORS))})")
        return ids

    @property
    def service(self) -> str:
        return self.call.split(".", 1)[0]

    @property
    def operation(self) -> str:
        return self.call.split(".", 1)[1]


class World(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: list[Call] = Field(min_length=1)


@dataclass(frozen=True)
class WorldFile:
    path: Path
    world: World


@dataclass
class Applied:
    files: list[Path] = field(default_factory=list)
    calls: int = 0

    def describe(self) -> str:
        names = ", ".join(str(path) for path in self.files)
        return f"{self.calls} AWS calls from {names}" if self.files else "nothing"


def load_world(path: Path) -> WorldFile:
    try:
        raw = yaml.safe_load(path.read_text())
        return WorldFile(path, World.model_validate(raw))
    except OSError as error:
        raise LocalCloudError(f"{path}: cannot read the world file: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise LocalCloudError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())
        raise LocalCloudError(f"{path}: {problems}") from error


def worlds_for(event_paths: list[Path]) -> list[WorldFile]:
    """The world files beside the given event files, once each, in the order their events come."""
    seen: list[Path] = []
    for path in event_paths:
        candidate = path.parent / WORLD_FILE
        if candidate.is_file() and candidate.resolve() not in seen:
            seen.append(candidate.resolve())
    return [load_world(path) for path in seen]


def apply_worlds(worlds: list[WorldFile], client: Callable[[str], Any], variables: dict[str, str] | None = None) -> Applied:
    """Make every call of every world against the local cloud; a failing call names its file and index.

    `${AWS::AccountId}` and `${AWS::Region}` in arguments become the deployed environment's (`variables`).
    """
    from botocore.exceptions import ClientError, ParamValidationError

    applied = Applied()
    for found in worlds:
        for index, call in enumerate(found.world.calls):
            try:
                if call.ids and call.service in WARM_UP:
                    getattr(client(call.service), WARM_UP[call.service])()
                with pinned_ids(call.ids):
                    getattr(client(call.service), call.operation)(**_substituted(call.args, variables or {}))
            except (ClientError, ParamValidationError, AttributeError, TypeError) as error:
                raise LocalCloudError(f"{found.path}: calls.{index} ({call.call}) failed: {error}") from error
            applied.calls += 1
        applied.files.append(found.path)
    return applied


def _substituted(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace("${" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {key: _substituted(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item, variables) for item in value]
    return value


def template_variables(account: str, region: str) -> dict[str, str]:
    return {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}


@contextmanager
def pinned_ids(ids: dict[str, str | list[str]]) -> Iterator[None]:
    """While a call runs, moto's generators hand out these ids first (then random ones again)."""
    with ExitStack() as stack:
        for kind, wanted in ids.items():
            module_name, function = ID_GENERATORS[kind]
            module = importlib.import_module(module_name)
            original = getattr(module, function)
            if not callable(original):
                raise LocalCloudError(f"moto patch point {module_name}.{function} is no longer a function")
            queue = [wanted] if isinstance(wanted, str) else list(wanted)
            setattr(module, function, _first(queue, original))
            stack.callback(setattr, module, function, original)
        yield


def _first(queue: list[str], original: Callable[..., str]) -> Callable[..., str]:
    def generate(*args: Any, **kwargs: Any) -> str:
        return queue.pop(0) if queue else original(*args, **kwargs)

    return generate
