"""Check an event against its contract, where it is consumed and before it is produced.

Keel puts this module in front of a workflow whose trigger names a contract (`KeelCheckEvent`, the
first state after the claim: the whole event is checked) and in front of each events:putEvents state
that puts a contract's event (`KeelCheck<state>`: the detail about to be put is checked and the put
sends what this returns). See infra/contract_states.py. An event that breaks its contract is an
InvalidInputError naming the field, so the failure path records it and pages the owner; a produced
one never reaches the bus.
"""

from __future__ import annotations

from typing import Any

from functions.shared.contracts import EventContract, find
from functions.shared.domain.context import TaskInput
from functions.shared.runtime.contract import Field
from functions.shared.runtime.errors import InvalidInputError
from functions.shared.runtime.parsing import parse

TITLE = "CheckInput"


class CheckInput(TaskInput):
    step: str = Field(min_length=1)
    # Written by synth from the manifest (trigger.contract or emits).
    contract: str = Field(min_length=1)
    major: int = Field(ge=1)
    # The consumed event (EventBridge's whole event) or the detail about to be put: one of the two.
    event: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


def check(task: CheckInput) -> dict[str, Any]:
    contract = _contract(task)
    if (task.event is None) == (task.detail is None):
        raise InvalidInputError("CheckInput: (input): give the consumed event or the detail to put, one of the two")
    try:
        if task.event is not None:
            parse(contract.event, task.event, at=("event",), title=TITLE)
            return {"contract": contract.key}
        detail = parse(contract.detail, task.detail, at=("detail",), title=TITLE)
    except InvalidInputError as error:
        # The reason the failure path records says which contract the event breaks.
        raise InvalidInputError(f"{error} (contract {contract.key}, {contract.detail_type})") from None
    return {"contract": contract.key, "detail": detail.model_dump(mode="json", by_alias=True)}


def _contract(task: CheckInput) -> EventContract:
    contract = find(task.contract, task.major)
    if contract is None:
        raise InvalidInputError(f"CheckInput: contract: no contract {task.contract}@{task.major}")
    return contract
