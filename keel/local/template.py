"""The synthesized CloudFormation template of one environment, and a resolver for its intrinsics.

The local cloud reads exactly what `cdk deploy` would deploy: the template in the cloud assembly
(cdk.out/assembly-<env>/), with its account and region from the assembly manifest.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.local.errors import LocalCloudError

# Inputs whose change means the synthesized templates are out of date.
SOURCES = ("app.py", "cdk.json", "config", "infra", "automations", "statemachines", "functions")


@dataclass(frozen=True)
class StackTemplate:
    """One environment's stack: its template body and where it deploys."""

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


def assembly_dir(outdir: Path, environment: str) -> Path:
    return outdir / f"assembly-{environment}"


def load_stack_template(outdir: Path, environment: str) -> StackTemplate:
    """The stack of `environment` from a synthesized cloud assembly."""
    directory = assembly_dir(outdir, environment)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise LocalCloudError(
            f"no synthesized environment '{environment}' in {outdir} (missing {manifest_path}); run `keel synth`"
        )
    manifest = json.loads(manifest_path.read_text())
    stacks = [
        artifact for artifact in manifest.get("artifacts", {}).values() if artifact.get("type") == "aws:cloudformation:stack"
    ]
    if len(stacks) != 1:
        raise LocalCloudError(f"{manifest_path}: expected one stack, found {len(stacks)}")
    stack = stacks[0]
    properties = stack["properties"]
    _, _, account_region = stack["environment"].partition("aws://")
    account, _, region = account_region.partition("/")
    template_path = directory / properties["templateFile"]
    return StackTemplate(
        environment=environment,
        stack_name=properties.get("stackName", stack.get("displayName", environment)),
        account=account,
        region=region,
        body=json.loads(template_path.read_text()),
        path=template_path,
    )


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
            parameter = self.template.parameters[name]
            return parameter.get("Default", "")
        return self._attribute(name, "Ref")

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
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise LocalCloudError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        resource = resources[logical_id]
        depends = resource.get("DependsOn", [])
        needed = references(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)
        for other in sorted(needed & resources.keys()):
            visit(other)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return order
