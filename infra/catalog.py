"""The automation catalog: every manifest in automations/, checked against the whole repository.

A bad manifest stops synth with one KeelConfigError naming the file and the field. Everything an
automation needs is resolved here, once, so constructs never re-read files or re-validate.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from infra import asl, confidential_states, contract_states, limit_states, names, workflow_defaults
from infra.asl_validation import validate_definition
from infra.config import Environment, EnvironmentTable
from infra.errors import KeelConfigError, from_validation_error
from infra.event_contracts import PublishedContract, check_contracts
from infra.function_spec import FunctionSpec, load_function_specs
from infra.manifest import Manifest

# keel-<env>-platform is the platform's dashboard; an automation's dashboard is keel-<env>-<name>.
RESERVED_NAMES = frozenset({"platform"})


@dataclass(frozen=True)
class Automation:
    manifest: Manifest
    path: Path
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return self.manifest.name


@dataclass(frozen=True)
class Catalog:
    automations: list[Automation]
    functions: dict[str, FunctionSpec]
    # Every event contract's schema, checked against its models and the lock (infra/event_contracts.py).
    contracts: list[PublishedContract]
    root: Path = field(default=Path("."))

    def functions_in_use(self) -> list[FunctionSpec]:
        used = {module for automation in self.automations for module in automation.manifest.functions}
        return [self.functions[module] for module in sorted(used)]

    def automations_using(self, module: str) -> list[Automation]:
        return [automation for automation in self.automations if module in automation.manifest.functions]


def load_catalog(root: Path, environments: EnvironmentTable) -> Catalog:
    """Load automations/*.yaml under root, with their ASL files and function modules."""
    functions = load_function_specs(root / "functions")
    contracts = check_contracts(root)
    automations = [
        _load_automation(path, root, functions, environments) for path in sorted((root / "automations").glob("*.yaml"))
    ]
    _check_producers(automations)
    return Catalog(automations=automations, functions=functions, contracts=contracts, root=root)


def _check_producers(automations: list[Automation]) -> None:
    """An automation that consumes an event Keel's own workflows emit (source keel.*) has its producer
    in the catalog, emitting the same major version: otherwise nothing would ever start it."""
    emitted = {ref.key for automation in automations for ref in automation.manifest.emits}
    for automation in automations:
        ref = automation.manifest.trigger.contract
        if ref is None or ref.key in emitted:
            continue
        contract = contract_states.contract_of(automation.path, "trigger.contract", ref)
        if contract.source.startswith("keel."):
            raise KeelConfigError(
                automation.path, "trigger.contract", f"no automation emits {ref.key} (a manifest's emits lists it)"
            )


def _load_automation(path: Path, root: Path, functions: dict[str, FunctionSpec], environments: EnvironmentTable) -> Automation:
    manifest = _parse_manifest(path)
    if manifest.name != path.stem:
        raise KeelConfigError(path, "name", f"'{manifest.name}' must match the file name '{path.stem}'")
    if manifest.name in RESERVED_NAMES:
        raise KeelConfigError(
            path, "name", f"'{manifest.name}' is reserved: keel-<env>-{manifest.name} is the platform's dashboard"
        )
    _check_references(path, manifest, functions, environments)
    asl_path = root / "statemachines" / manifest.workflow.definition
    if not asl_path.is_file():
        raise KeelConfigError(path, "workflow.definition", f"statemachines/{manifest.workflow.definition} does not exist")
    written = asl.load_asl(asl_path)
    validate_definition(asl_path, written)
    _check_substitutions(path, manifest, written)
    manifest = _with_decision_writer(manifest, functions)
    definition = workflow_defaults.bind(written, manifest.workflow.substitutions)
    _check_definition(path, manifest, definition)
    # Keel's limit states (concurrency slots, debounce), and the modules they invoke: infra/limit_states.py.
    manifest = manifest.model_copy(update={"functions": _unique([*manifest.functions, *limit_states.modules_for(manifest)])})
    definition = limit_states.with_limit_states(path, manifest, definition)
    # Confidential text sealed first after the claim, before the limit states: infra/confidential_states.py.
    manifest = manifest.model_copy(
        update={"functions": _unique([*manifest.functions, *confidential_states.modules_for(manifest)])}
    )
    definition = confidential_states.with_sealing(manifest, definition)
    # Events checked against their contracts: the consumed one first of all, before the seal replaces
    # its text with references; each produced one before its put (infra/contract_states.py).
    contract_states.check_trigger(path, manifest)
    manifest = manifest.model_copy(update={"functions": _unique([*manifest.functions, *contract_states.modules_for(manifest)])})
    definition = contract_states.with_contract_checks(path, manifest, definition)
    plan = workflow_defaults.WorkflowPlan(
        modules={module: functions[module].effects for module in manifest.functions},
        failure_state=manifest.workflow.failure.state,
        notify=manifest.workflow.failure.notify,
    )
    return Automation(manifest=manifest, path=path, definition=workflow_defaults.with_defaults(definition, plan))


def _unique(modules: list[str]) -> list[str]:
    return list(dict.fromkeys(modules))


def _with_decision_writer(manifest: Manifest, functions: dict[str, FunctionSpec]) -> Manifest:
    """Keel's failure path records through record_decision, and so does every module that hands its
    decisions over (platform_access decision_writer): the automation gets its own instance."""
    writer = workflow_defaults.DECISION_WRITER
    hands_over = any("decision_writer" in functions[module].platform_access for module in manifest.functions)
    if writer in manifest.functions or (manifest.workflow.failure.state is not None and not hands_over):
        return manifest
    return manifest.model_copy(update={"functions": [*manifest.functions, writer]})


def _check_substitutions(path: Path, manifest: Manifest, definition: dict[str, Any]) -> None:
    """Each placeholder a shared workflow names is bound to one of this automation's modules, and used."""
    used = asl.substitutions_used(definition)
    functions = ", ".join(manifest.functions) or "none"
    for name, module in manifest.workflow.substitutions.items():
        field_name = f"workflow.substitutions.{name}"
        if name in asl.PLATFORM_SUBSTITUTIONS or name in manifest.functions:
            raise KeelConfigError(path, field_name, f"'{name}' is already a substitution of its own; pick another placeholder")
        if module not in manifest.functions:
            raise KeelConfigError(path, field_name, f"'{module}' is not one of this automation's functions ({functions})")
        if name not in used:
            raise KeelConfigError(
                path, field_name, f"statemachines/{manifest.workflow.definition} has no ${{{name}}} to substitute"
            )


def _parse_manifest(path: Path) -> Manifest:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise KeelConfigError(path, "(document)", f"cannot read YAML: {error}") from error
    if not isinstance(raw, dict):
        raise KeelConfigError(path, "(document)", "a manifest must be a YAML mapping")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as error:
        raise from_validation_error(path, error) from error


def _check_references(path: Path, manifest: Manifest, functions: dict[str, FunctionSpec], environments: EnvironmentTable) -> None:
    for index, module in enumerate(manifest.functions):
        if module not in functions:
            known = ", ".join(sorted(functions)) or "none"
            raise KeelConfigError(path, f"functions.{index}", f"unknown function module '{module}' (known: {known})")
    heartbeat = manifest.slo.heartbeat
    if heartbeat is not None and heartbeat.function not in manifest.functions:
        raise KeelConfigError(path, "slo.heartbeat.function", f"'{heartbeat.function}' is not one of this automation's functions")
    _check_queues_and_alarms(path, manifest)
    for env in environments.environments.values():
        _check_environment(path, manifest, env)
    for env_name in manifest.environments:
        if env_name not in environments.environments:
            raise KeelConfigError(path, f"environments.{env_name}", f"no environment '{env_name}' in config/environments.yaml")


def _check_queues_and_alarms(path: Path, manifest: Manifest) -> None:
    """Queue senders and alarm metrics must be functions of this automation."""
    functions = ", ".join(manifest.functions) or "none"
    if manifest.queues is not None:
        for index, sender in enumerate(manifest.queues.senders):
            if sender not in manifest.functions:
                raise KeelConfigError(
                    path, f"queues.senders.{index}", f"'{sender}' is not one of this automation's functions ({functions})"
                )
    for index, alarm in enumerate(manifest.alarms):
        if alarm.function not in manifest.functions:
            raise KeelConfigError(
                path, f"alarms.{index}.function", f"'{alarm.function}' is not one of this automation's functions ({functions})"
            )


def _check_environment(path: Path, manifest: Manifest, env: Environment) -> None:
    """On-call routes and secrets must exist in every environment the app synthesizes."""
    routes = [("oncall", manifest.oncall), ("escalation", manifest.escalation)]
    routes += [(f"approvers.{index}", route) for index, route in enumerate(manifest.approvers)]
    for field_name, route in routes:
        if route not in env.oncall_routes:
            known = ", ".join(sorted(env.oncall_routes))
            raise KeelConfigError(
                path, field_name, f"unknown on-call route '{route}' in environment '{env.name}' (known: {known})"
            )
    for problem in names.too_long(env.name, manifest.name):
        raise KeelConfigError(path, "name", f"{problem} in environment '{env.name}'")
    for index, queue in enumerate(manifest.queues.names if manifest.queues else []):
        name = names.queue_dead_letters(env.name, manifest.name, queue)
        if len(name) > names.QUEUE_NAME:
            raise KeelConfigError(
                path, f"queues.names.{index}", f"'{name}' is longer than SQS allows ({names.QUEUE_NAME} characters)"
            )
    if manifest.confidential_text and env.confidential_retention_days * 86_400 < manifest.workflow.timeout_seconds:
        raise KeelConfigError(
            path,
            "workflow.timeout_seconds",
            f"runs longer than environment '{env.name}' keeps confidential text ({env.confidential_retention_days} days, "
            "confidential_retention_days): its modules read the text by reference until it ends",
        )
    _check_apis(path, manifest, env)
    for index, secret in enumerate(manifest.secrets):
        if secret not in env.secrets:
            known = ", ".join(sorted(env.secrets)) or "none"
            raise KeelConfigError(
                path, f"secrets.{index}", f"unknown secret '{secret}' in environment '{env.name}' (known: {known})"
            )


def _check_apis(path: Path, manifest: Manifest, env: Environment) -> None:
    """Each API a manifest names exists in the environment and lets this automation call it."""
    for index, api in enumerate(manifest.apis):
        spec = env.apis.get(api)
        if spec is None:
            known = ", ".join(sorted(env.apis)) or "none"
            raise KeelConfigError(path, f"apis.{index}", f"unknown API '{api}' in environment '{env.name}' (known: {known})")
        if manifest.name not in spec.automations:
            raise KeelConfigError(
                path,
                f"apis.{index}",
                f"API '{api}' in environment '{env.name}' does not let '{manifest.name}' call it "
                f"(its automations: {', '.join(spec.automations)})",
            )


def _check_definition(path: Path, manifest: Manifest, definition: dict[str, Any]) -> None:
    asl_name = f"statemachines/{manifest.workflow.definition}"
    if manifest.workflow.type == "express":
        waiting = asl.waits_for_task_token(definition)
        if waiting:
            raise KeelConfigError(
                path, "workflow.type", f"express workflows cannot wait for a task token ({asl_name} state '{waiting[0]}')"
            )
    provided = set(manifest.functions) | asl.PLATFORM_SUBSTITUTIONS
    if asl.DECISIONS_TABLE in asl.substitutions_used(definition):
        raise KeelConfigError(
            path,
            "functions",
            f"{asl_name} references ${{{asl.DECISIONS_TABLE}}}: a workflow records decisions through ${{record_decision}} "
            "(the one writer of the decision record), never in the table itself",
        )
    for name in sorted(asl.substitutions_used(definition) - provided):
        close = difflib.get_close_matches(name, sorted(provided), n=1)
        hint = f"did you mean ${{{close[0]}}}? " if close else ""
        raise KeelConfigError(
            path,
            "functions",
            f"{asl_name} references ${{{name}}}, which neither the platform nor a function of this automation provides; "
            f"{hint}(platform: {', '.join(sorted(asl.PLATFORM_SUBSTITUTIONS))}; "
            f"functions: {', '.join(manifest.functions) or 'none'})",
        )
    for reserved in (asl.CLAIM_STATE, asl.DUPLICATE_STATE, *workflow_defaults.FAILURE_STATES):
        if reserved in definition["States"]:
            raise KeelConfigError(
                path, "workflow.definition", f"{asl_name}: state name '{reserved}' is reserved for Keel's own states"
            )
    for name in definition["States"]:
        if name.startswith(workflow_defaults.RELEASE_CLAIM):
            raise KeelConfigError(
                path,
                "workflow.definition",
                f"{asl_name}: state names starting '{workflow_defaults.RELEASE_CLAIM}' are Keel's "
                "(a claim release before a Fail state)",
            )
    failure = manifest.workflow.failure.state
    if failure is not None and failure not in definition["States"]:
        raise KeelConfigError(path, "workflow.failure.state", f"'{failure}' is not a top-level state of {asl_name}")
