"""check_event: an event that breaks its contract is refused naming the field, where it is consumed
and before it is put on the bus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.check_event.handler import lambda_handler
from functions.check_event.logic import CheckInput, check
from functions.shared.runtime.errors import InvalidInputError
from tests.support.hostile_input import Context
from tests.support.task_payloads import header

EVENTS = Path(__file__).resolve().parents[2] / "events"


def signup() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "user_onboarding" / "01-signed-up.json").read_text())
    return event


def onboarded_detail() -> dict[str, Any]:
    detail: dict[str, Any] = json.loads((EVENTS / "onboarding_audit" / "01-user-onboarded.json").read_text())["detail"]
    return detail


def task(**fields: Any) -> CheckInput:
    return CheckInput.model_validate({**header("user_onboarding", "KeelCheckEvent"), **fields})


def test_a_consumed_event_that_honours_its_contract_passes() -> None:
    # Given the sample signup / When checked against user_signed_up v1 / Then it passes
    assert check(task(contract="user_signed_up", major=1, event=signup())) == {"contract": "user_signed_up@1"}


def test_a_consumed_event_that_breaks_its_contract_is_refused_naming_each_field() -> None:
    # Given a signup with a plan the contract does not know and no email
    event = signup()
    event["detail"]["plan"] = "gold"
    del event["detail"]["email"]

    # When checked / Then the reason names both fields, on one line
    with pytest.raises(InvalidInputError) as raised:
        check(task(contract="user_signed_up", major=1, event=event))
    message = str(raised.value)
    assert message.startswith("CheckInput: ")
    assert message.endswith("(contract user_signed_up@1, User Signed Up)")
    assert "event.detail.plan: " in message
    assert "event.detail.email: " in message
    assert "\n" not in message


def test_a_produced_detail_is_returned_as_the_contract_reads_it() -> None:
    # Given the detail user_onboarding puts / When checked / Then the put gets it back unchanged
    result = check(task(contract="user_onboarded", major=1, detail=onboarded_detail()))

    assert result == {"contract": "user_onboarded@1", "detail": onboarded_detail()}


def test_a_produced_detail_that_breaks_its_contract_never_gets_a_detail_to_put() -> None:
    # Given a detail without the CRM contact's id (the CRM answered without one)
    detail = onboarded_detail()
    del detail["crm_contact_id"]

    # When checked through the handler, as Lambda runs it / Then it fails naming the field
    payload = {**header("user_onboarding", "KeelCheckEmitOnboarded"), "contract": "user_onboarded", "major": 1, "detail": detail}
    with pytest.raises(InvalidInputError, match=r"detail\.crm_contact_id: Field required"):
        lambda_handler(payload, Context())


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"contract": "user_signed_up", "major": 9, "event": {}}, "no contract user_signed_up@9"),
        ({"contract": "user_signed_up", "major": 1}, "one of the two"),
        ({"contract": "user_signed_up", "major": 1, "event": {}, "detail": {}}, "one of the two"),
    ],
    ids=["unknown-contract", "neither", "both"],
)
def test_a_check_that_names_no_contract_or_no_event_is_refused(fields: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidInputError, match=complaint):
        check(task(**fields))
