"""The synthesized CloudFormation stacks of one environment, and a resolver for their intrinsics.

The local cloud reads exactly what `cdk deploy` would deploy: every stack of the environment's cloud
assembly (cdk.out/assembly-<env>/: the platform, one per automation, one per team), with its account
and region, in the order their dependencies give, as the CDK CLI deploys them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.local.errors import LocalCloudError

# Inputs whose change means the synthesized templates are out of date.
SOURCES = ("app.py", "cdk.json", "config", "infra", "automations", "statemachines", "functions", "schemas")
STACK_ARTIFACT = "aws:cloudformation:stack"
SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<"
AWS_PUBLIC_PARAMETERS = "/aws/service/"


@dataclass(frozen=True)
class StackTemplate:
    """One stack: its template body and where it deploys."""

    environment: str
    stack_name: str
    account: str
    region: str
    body: dict[str, Any]
    path: Path | None = None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.body.get("Resources", {})
        return resources

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        parameters: dict[str, dict[str, Any]] = self.body.get("Parameters", {})
        return parameters


@dataclass(frozen=True)
class EnvironmentTemplate:
    """Every stack of one environment, in deploy order (each after the stacks it depends on)."""

    environment: str
    account: str
    region: str
    stacks: tuple[StackTemplate, ...]
    path: Path | None = None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every stack's resources by logical id, for lookups (Keel's logical ids are unique per environment)."""
        return {logical_id: resource for stack in self.stacks for logical_id, resource in stack.resources.items()}

    def with_stack(self, stack: StackTemplate) -> EnvironmentTemplate:
        """This environment with one more stack, deployed last."""
        return EnvironmentTemplate(self.environment, self.account, self.region, (*self.stacks, stack), self.path)


def assembly_dir(outdir: Path, environment: str) -> Path:
    return outdir / f"assembly-{environment}"


def load_environment(outdir: Path, environment: str) -> EnvironmentTemplate:
    """The stacks of `environment` from a synthesized cloud assembly, in deploy order."""
    directory = assembly_dir(outdir, environment)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        synthesized = sorted(path.name.removeprefix("assembly-") for path in outdir.glob("assembly-*"))
        raise LocalCloudError(
            f"no synthesized environment '{environment}' in {outdir} (synthesized: {', '.join(synthesized) or 'none'}); "
            "environments come from config/environments.yaml, and `keel synth` builds them all"
        )
    artifacts = json.loads(manifest_path.read_text()).get("artifacts", {})
    stacks = {artifact_id: artifact for artifact_id, artifact in artifacts.items() if artifact.get("type") == STACK_ARTIFACT}
    if not stacks:
        raise LocalCloudError(f"{manifest_path}: no stacks")
    ordered = [_stack(environment, directory, stacks[artifact_id]) for artifact_id in _deploy_order(stacks)]
    first = ordered[0]
    return EnvironmentTemplate(environment, first.account, first.region, tuple(ordered), directory)


def _stack(environment: str, directory: Path, artifact: dict[str, Any]) -> StackTemplate:
    properties = artifact["properties"]
    _, _, account_region = artifact["environment"].partition("aws://")
    account, _, region = account_region.partition("/")
    template_path = directory / properties["templateFile"]
    return StackTemplate(
        environment=environment,
        stack_name=properties.get("stackName", artifact.get("displayName", environment)),
        account=account,
        region=region,
        body=json.loads(template_path.read_text()),
        path=template_path,
    )


def _deploy_order(stacks: dict[str, dict[str, Any]]) -> list[str]:
    """Artifact ids, each after the stacks it depends on; otherwise in the assembly's order."""
    return dependency_order(list(stacks), lambda artifact_id: stacks[artifact_id].get("dependencies", []), "stack dependency")


def dependency_order(keys: list[str], needs: Callable[[str], Iterable[str]], what: str) -> list[str]:
    """`keys` in their order, except that each comes after the keys it needs (others are ignored)."""
    known = set(keys)
    order: list[str] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in placed:
            return
        if key in visiting:
            raise LocalCloudError(f"circular {what} through {key}")
        visiting.add(key)
        for other in sorted(set(needs(key)) & known):
            visit(other)
        visiting.discard(key)
        placed.add(key)
        order.append(key)

    for key in keys:
        visit(key)
    return order


def is_stale(outdir: Path, environment: str, root: Path) -> bool:
    """True when the assembly is missing or any source it is built from changed after it."""
    manifest = assembly_dir(outdir, environment) / "manifest.json"
    if not manifest.is_file():
        return True
    built = manifest.stat().st_mtime
    for name in SOURCES:
        source = root / name
        files = [source] if source.is_file() else source.rglob("*") if source.is_dir() else []
        if any(path.is_file() and path.suffix != ".pyc" and path.stat().st_mtime > built for path in files):
            return True
    return False


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::Base64 and pseudo parameters.

    `attributes[logical_id]` holds what a created resource answers: "Ref" and its GetAtt names.
    """

    template: StackTemplate
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Reads an SSM parameter of this cloud (None when there is none): what a parameter of type
    # AWS::SSM::Parameter::Value<String> resolves to at deploy time, as CloudFormation resolves it.
    parameter_store: Callable[[str], str | None] = lambda _name: None

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.template.region,
            "AWS::AccountId": self.template.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.template.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.template.region}:{self.template.account}:stack/{self.template.stack_name}/local"
            ),
            "AWS::NoValue": "",
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value if not _is_no_value(item)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = self._functions().get(key)
            if function is not None:
                return function(argument)
            if key.startswith("Fn::"):
                raise LocalCloudError(f"the local cloud does not support the intrinsic {key}")
        return {key: self.resolve(item) for key, item in value.items() if not _is_no_value(item)}

    def _functions(self) -> Mapping[str, Callable[[Any], Any]]:
        return {
            "Ref": self.ref,
            "Fn::GetAtt": self.get_att,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::Base64": lambda argument: base64.b64encode(str(self.resolve(argument)).encode()).decode(),
        }

    def ref(self, name: str) -> Any:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.template.parameters:
            return self._parameter(name, self.template.parameters[name])
        return self._attribute(name, "Ref")

    def _parameter(self, name: str, parameter: dict[str, Any]) -> Any:
        default = parameter.get("Default", "")
        if not str(parameter.get("Type", "")).startswith(SSM_PARAMETER_TYPE):
            return default
        value = self.parameter_store(str(default))
        if value is not None:
            return value
        if str(default).startswith(AWS_PUBLIC_PARAMETERS):
            # AWS's public parameters (the Powertools layer's ARN) name things the local cloud does not run.
            return f"local:{default}"
        raise LocalCloudError(
            f"{self.template.stack_name}: parameter {name} reads SSM parameter {default}, which no stack deployed before "
            "it created (deploy order: the platform stack first)"
        )

    def get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else self.resolve(argument)
        return self._attribute(logical_id, attribute)

    def _attribute(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.template.resources:
            raise LocalCloudError(f"{attribute} of unknown resource {logical_id}")
        created = self.attributes.get(logical_id)
        if created is None:
            raise LocalCloudError(f"{logical_id} is referenced before it is created")
        if attribute not in created:
            kind = self.template.resources[logical_id]["Type"]
            raise LocalCloudError(f"the local cloud does not know attribute {attribute} of {kind} ({logical_id})")
        return created[attribute]

    def _join(self, argument: list[Any]) -> str:
        delimiter, items = argument
        return str(delimiter).join(str(item) for item in self.resolve(items))

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], self.resolve(argument[1]))
        out: list[str] = []
        rest = text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                out.append(str(self.get_att(name)))
            else:
                out.append(str(self.ref(name)))
        out.append(rest)
        return "".join(out)

    def _select(self, argument: list[Any]) -> Any:
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        return items[int(index)]

    def _split(self, argument: list[Any]) -> list[str]:
        delimiter, text = argument
        return str(self.resolve(text)).split(delimiter)


def _is_no_value(value: Any) -> bool:
    return isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}


def references(value: Any) -> set[str]:
    """Logical ids a property value refers to (Ref, Fn::GetAtt, and ${...} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= _references_of(key, item)
    return found


def _references_of(key: str, item: Any) -> set[str]:
    if key == "Ref" and isinstance(item, str):
        return {item}
    if key == "Fn::GetAtt":
        return {item.split(".", 1)[0] if isinstance(item, str) else item[0]}
    if key == "Fn::Sub":
        text = item if isinstance(item, str) else item[0]
        names = {part.split("}", 1)[0].split(".", 1)[0] for part in text.split("${")[1:]}
        return {name for name in names if not name.startswith("!")} | references(item if isinstance(item, list) else [])
    return references(item)


def creation_order(template: StackTemplate) -> list[str]:
    """Logical ids ordered so every resource comes after what it refers to or DependsOn."""
    resources = template.resources

    def needs(logical_id: str) -> set[str]:
        resource = resources[logical_id]
        depends = resource.get("DependsOn", [])
        return references(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)

    return dependency_order(list(resources), needs, "reference")
