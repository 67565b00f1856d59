"""The states that hold a workflow's events to their contracts (functions/shared/contracts/).

Consumed: a manifest whose `trigger.contract` names a contract gets `KeelCheckEvent` first after the
claim prologue (before any other Keel state): the module check_event validates the whole event, and
an event that breaks the contract goes to the failure path with the field named (recorded, paged,
its claim released for a redrive), never silently dropped. The trigger's event_pattern must select
exactly the contract's source and detail-type, so no other event reaches the check.

Produced: every events:putEvents entry must be an event the manifest `emits`, and each emitted
contract must be put by some state. Keel puts `KeelCheck<state>` in front of each such state: it
validates the entry's Detail and the put sends the detail it returns, so an event that breaks its
contract fails the workflow before it reaches the bus. A putEvents state names one entry.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from functions.shared.contracts import CONTRACTS, EventContract, find
from infra import workflow_defaults
from infra.errors import KeelConfigError
from infra.manifest import ContractRef, Manifest

CHECK_MODULE = "check_event"
CONSUMED_STATE = "KeelCheckEvent"
PRODUCED_PREFIX = "KeelCheck"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
# Where a produced event's checked detail waits for its put (the module's answer; each put reads it
# in the state right after its check).
CHECKED_PATH = "$.keel_checked"


def modules_for(manifest: Manifest) -> list[str]:
    return [CHECK_MODULE] if manifest.trigger.contract is not None or manifest.emits else []


def contract_of(path: Path, field: str, ref: ContractRef) -> EventContract:
    contract = find(ref.name, ref.major)
    if contract is None:
        known = ", ".join(c.key for c in CONTRACTS)
        raise KeelConfigError(path, field, f"no contract {ref.key} in functions/shared/contracts/ (known: {known})")
    return contract


def check_trigger(path: Path, manifest: Manifest) -> None:
    """The trigger's pattern selects exactly its contract's events."""
    ref = manifest.trigger.contract
    if ref is None:
        return
    contract = contract_of(path, "trigger.contract", ref)
    pattern = manifest.trigger.event_pattern or {}
    for key, value in (("source", contract.source), ("detail-type", contract.detail_type)):
        if pattern.get(key) != [value]:
            raise KeelConfigError(
                path, f"trigger.event_pattern.{key}", f"must be [{value}], the {key} of its contract {contract.key}"
            )


def puts(machine: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(the machine or branch holding it, name, state) of every events:putEvents state."""
    for name, state in machine.get("States", {}).items():
        if state.get("Resource") == PUT_EVENTS:
            yield machine, name, state
        for branch in state.get("Branches", []):
            yield from puts(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from puts(state[key])


def _emitted(path: Path, manifest: Manifest, asl_name: str, name: str, state: dict[str, Any]) -> EventContract:
    entries = state.get("Parameters", {}).get("Entries")
    where = f"statemachines/{asl_name}: States.{name}"
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise KeelConfigError(path, "emits", f"{where} must put one entry, written out (Entries: [{{...}}])")
    entry = entries[0]
    emitted = [contract_of(path, f"emits[{index}]", ref) for index, ref in enumerate(manifest.emits)]
    for contract in emitted:
        if entry.get("Source") == contract.source and entry.get("DetailType") == contract.detail_type:
            if not isinstance(entry.get("Detail"), dict):
                raise KeelConfigError(path, "emits", f"{where} must write its Detail out as an object, to be checked")
            return contract
    raise KeelConfigError(
        path,
        "emits",
        f"{where} puts '{entry.get('DetailType')}' from {entry.get('Source')}, which is no contract this manifest emits",
    )


def with_contract_checks(path: Path, manifest: Manifest, definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with its produced events checked before each put, and its consumed event first."""
    checked = copy.deepcopy(definition)
    put_contracts: set[str] = set()
    for machine, name, state in list(puts(checked)):
        contract = _emitted(path, manifest, manifest.workflow.definition, name, state)
        put_contracts.add(contract.key)
        _check_before_put(machine, name, state, contract)
    for index, ref in enumerate(manifest.emits):
        if ref.key not in put_contracts:
            raise KeelConfigError(
                path,
                f"emits[{index}]",
                f"no events:putEvents state of statemachines/{manifest.workflow.definition} puts it",
            )
    if manifest.trigger.contract is None:
        return checked
    contract = contract_of(path, "trigger.contract", manifest.trigger.contract)
    check = _check_state(contract, {"event.$": "$"}, checked["StartAt"])
    check["Comment"] = f"Keel: the event honours its contract {contract.key}, or the failure path says which field does not."
    check["ResultPath"] = None
    checked["States"] = {CONSUMED_STATE: check, **checked["States"]}
    checked["StartAt"] = CONSUMED_STATE
    return checked


def _check_state(contract: EventContract, given: dict[str, Any], next_state: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": workflow_defaults.LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": f"${{{CHECK_MODULE}}}",
            "Payload": {"contract": contract.name, "major": contract.major, **given},
        },
        "Next": next_state,
    }


def _check_before_put(machine: dict[str, Any], name: str, state: dict[str, Any], contract: EventContract) -> None:
    states = machine["States"]
    entry = state["Parameters"]["Entries"][0]
    check_name = f"{PRODUCED_PREFIX}{name}"
    if check_name in states:
        raise ValueError(f"state name '{check_name}' is reserved for Keel's contract check")
    check = _check_state(contract, {"detail": entry.pop("Detail")}, name)
    check["Comment"] = (
        f"Keel: what {name} puts honours its contract {contract.key}; an event that does not never reaches the bus."
    )
    check["ResultSelector"] = {"detail.$": "$.Payload.detail"}
    check["ResultPath"] = CHECKED_PATH
    entry["Detail.$"] = f"{CHECKED_PATH}.detail"
    _retarget(machine, name, check_name)
    states[check_name] = check


def _retarget(machine: dict[str, Any], old: str, new: str) -> None:
    """Every transition to `old` in this machine (or branch) goes to `new` instead."""
    if machine.get("StartAt") == old:
        machine["StartAt"] = new
    for state in machine["States"].values():
        for key in ("Next", "Default"):
            if state.get(key) == old:
                state[key] = new
        for rule in [*state.get("Choices", []), *state.get("Catch", [])]:
            if rule.get("Next") == old:
                rule["Next"] = new
