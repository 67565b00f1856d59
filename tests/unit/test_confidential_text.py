"""Sealing customer text (seal_confidential), reading it back by reference (the confidential store's
adapter, over an in-memory DynamoDB), and what people are shown of it (keel/confidential_view.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from functions.route_ticket.logic import RouteInput, route
from functions.seal_confidential.logic import SealInput, seal
from functions.shared.adapters.confidential_store import ConfidentialStore
from functions.shared.adapters.dynamodb import Table
from functions.shared.domain import confidential
from functions.shared.runtime.errors import InvalidInputError, NotFoundError
from functions.triage_ticket.logic import TriageInput, triage
from keel.confidential_view import redacted, sealed_fields
from tests.support import fake_dependencies as fakes
from tests.support import task_payloads as payloads
from tests.support.fake_dynamodb import FakeDynamoDB

MARKER = "QUOKKA-7731-CONFIDENTIAL"
AUTOMATION = "ticket_triage"


def sealing(payload: dict[str, Any], store: ConfidentialStore, retention_days: int = 7) -> dict[str, Any]:
    from functions.seal_confidential.logic import Dependencies

    return seal(SealInput.model_validate(payload), Dependencies(store=store, clock=fakes.clock, retention_days=retention_days))


def seal_payload(body: Any = f"My invoice is wrong {MARKER}") -> dict[str, Any]:
    payload = payloads.seal_confidential()[0]
    payload["state"]["detail"]["body"] = body
    if isinstance(body, str) and len(body) > 100_000:
        payload["state"]["detail"]["subject"] = "s" * 200_000
    return payload


@pytest.fixture
def store() -> ConfidentialStore:
    return ConfidentialStore(Table("keel-dev-confidential", FakeDynamoDB()))


def test_the_seal_keeps_the_text_and_hands_on_references(store: ConfidentialStore) -> None:
    # Given a ticket's state with the marker in its body
    payload = seal_payload()
    text = payload["state"]["detail"]["body"]

    # When it is sealed
    state = sealing(payload, store, retention_days=7)

    # Then the state is the same but for references in place of the text, which the store keeps for the retention
    assert MARKER not in json.dumps(state)
    assert {key: value for key, value in state.items() if key != "detail"} == {
        key: value for key, value in payload["state"].items() if key != "detail"
    }
    reference = confidential.Reference.model_validate(state["detail"]["body"])
    assert (reference.field, reference.length, reference.sha256) == ("body", len(text), confidential.digest(text))
    assert state["detail"]["ticket_id"] == payload["state"]["detail"]["ticket_id"]
    item = store.table.get({"id": reference.sealed})
    assert item is not None
    assert item["texts"]["body"] == text
    assert item["expiration"] == int((fakes.clock() + timedelta(days=7)).timestamp())
    # And the readers get it back, checked against its digest
    assert store.revealed(state["detail"], AUTOMATION, fakes.clock()) == payload["state"]["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": MARKER}, "state.detail.body: Input should be a valid string, not dict"),
        (12, "state.detail.body: Input should be a valid string, not int"),
        # With the subject of 200,000 bytes below, each string within what a task input holds, both too much
        ("b" * 200_000 + MARKER, "state.detail: the confidential text is 400,02"),
        ({"sealed": "text#ticket_triage#x", "field": "body"}, "state.detail.body: already a reference"),
    ],
)
def test_text_the_store_cannot_keep_is_refused_without_quoting_it(store: ConfidentialStore, body: Any, message: str) -> None:
    # Given a body that is not text, is too large for one item, or is already a reference
    # When it is sealed / Then the error names the field, never the text, and nothing was stored
    with pytest.raises(InvalidInputError) as refused:
        sealing(seal_payload(body), store)
    assert message in str(refused.value)
    assert MARKER not in str(refused.value)
    assert store.table.get({"id": confidential.store_key(AUTOMATION, seal_payload()["event_id"])}) is None


def test_a_missing_field_is_left_for_the_contract_of_the_module_that_reads_it(store: ConfidentialStore) -> None:
    # Given a ticket without a body
    payload = seal_payload()
    del payload["state"]["detail"]["body"]

    # When it is sealed / Then the subject is sealed and the body stays missing (triage names it)
    state = sealing(payload, store)
    assert "body" not in state["detail"]
    assert confidential.is_reference(state["detail"]["subject"])


def sealed_state(store: ConfidentialStore) -> dict[str, Any]:
    return sealing(seal_payload(), store)


def test_a_reference_whose_text_was_altered_is_refused(store: ConfidentialStore) -> None:
    # Given a sealed ticket whose stored body was changed afterwards
    detail = sealed_state(store)["detail"]
    key = detail["body"]["sealed"]
    item = store.table.get({"id": key})
    assert item is not None
    store.table.put({**item, "texts": {**item["texts"], "body": "something else"}})

    # When a reader reads it back / Then the digest check refuses it
    with pytest.raises(InvalidInputError, match=r"ticket\.body: the stored text does not match the reference's sha256"):
        store.revealed(detail, AUTOMATION, fakes.clock(), at="ticket")


def test_another_automations_text_and_expired_text_are_refused(store: ConfidentialStore) -> None:
    detail = sealed_state(store)["detail"]
    # Given references read by another automation / When read / Then refused, naming the field
    with pytest.raises(InvalidInputError, match=r"detail\.subject: a reference to another automation's"):
        store.revealed(detail, "ticket_digest", fakes.clock())
    # Given the retention has passed (DynamoDB's TTL deletes lazily) / Then the text is no longer kept
    with pytest.raises(NotFoundError, match="no longer kept"):
        store.revealed(detail, AUTOMATION, fakes.clock() + timedelta(days=8))
    # Given a malformed reference / Then it is named
    with pytest.raises(InvalidInputError, match=r"detail\.body: a malformed confidential reference"):
        store.revealed({**detail, "body": {"sealed": "x"}}, AUTOMATION, fakes.clock())


def test_triage_and_route_read_the_sealed_ticket_and_return_no_text() -> None:
    # Given triage's and route's dependencies sharing one store, and a sealed uncertain ticket
    triage_deps, route_deps = fakes.triage_ticket_dependencies(), fakes.route_ticket_dependencies()
    route_deps = type(route_deps)(**{**route_deps.__dict__, "texts": triage_deps.texts})
    ticket = payloads.triage_ticket()[1]["ticket"]
    ticket["subject"] += f" {MARKER}"
    payload = {**seal_payload(), "state": {**seal_payload()["state"], "detail": ticket}}
    state = sealing(payload, triage_deps.texts)  # type: ignore[arg-type]
    task = {**payloads.header(AUTOMATION, "Triage", payload["event_id"]), "ticket": state["detail"]}

    # When triage decides on it
    outcome = triage(TriageInput.model_validate(task), triage_deps)

    # Then it decides as on the plain ticket, and what it returns holds no text: the reviewer sees the label
    plain = triage(TriageInput.model_validate({**task, "ticket": ticket}), fakes.triage_ticket_dependencies())
    assert (outcome["action"], outcome["category"], outcome["rule"]) == (plain["action"], plain["category"], plain["rule"])
    assert outcome["action"] == "review"
    assert MARKER not in json.dumps(outcome)
    assert outcome["review"]["subject"] == confidential.label(ticket["subject"])

    # When the review times out and route sends it to the fallback queue
    routed = route(
        RouteInput.model_validate({**task, "step": "RouteUnreviewed", "triage": outcome, "review": {"timed_out": True}}),
        route_deps,
    )
    # Then the queue message has the subject, the result does not
    assert MARKER not in json.dumps(routed)
    [sent] = route_deps.queues.sqs.sent  # type: ignore[attr-defined]
    assert json.loads(sent["MessageBody"])["subject"] == ticket["subject"]


def test_operators_see_lengths_and_digests_wherever_the_detail_sits() -> None:
    # Given a definition that seals subject and body, and states before and after the seal
    definition = {"States": {"KeelSealConfidential": {"Parameters": {"Payload": {"fields": ["subject", "body"]}}}}}
    text = f"Invoice {MARKER}"
    before = {"id": "e", "detail": {"subject": text, "body": 5, "ticket_id": "TCK-1"}}
    reference = {"sealed": "text#a#e", "field": "subject", "sha256": confidential.digest(text), "length": len(text)}
    after = {"detail": {"subject": reference}, "state": before}

    # When they are shown
    fields = sealed_fields(definition)
    shown = [redacted(before, fields), redacted(after, fields)]

    # Then text and references alike read as the same label; other fields stay; no sealing, nothing changes
    assert MARKER not in json.dumps(shown)
    assert shown[0]["detail"] == {"subject": confidential.label(text), "body": "[confidential: int]", "ticket_id": "TCK-1"}
    assert shown[1]["detail"]["subject"] == confidential.label(text) == shown[1]["state"]["detail"]["subject"]
    assert redacted(before, sealed_fields({"States": {}})) == before
