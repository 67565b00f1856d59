"""The "Ticket Created" contract: the published schema is generated from the model and current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.shared.contracts import find
from functions.shared.contracts.ticket_created import TicketCreated, TicketCreatedEvent
from functions.shared.runtime.contract import ValidationError
from infra.event_contracts import json_schema, render

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "ticket_triage"


def test_the_published_schema_is_what_the_model_generates() -> None:
    # Given the contract's models / When its schema is rendered (scripts/export_event_schemas.py writes it)
    contract = find("ticket_created", 1)
    assert contract is not None
    rendered = render(json_schema(contract))

    # Then the committed file is identical (run scripts/export_event_schemas.py after changing the contract)
    assert (ROOT / "schemas" / "ticket_created.v1.schema.json").read_text() == rendered
    schema = json.loads(rendered)
    assert schema["properties"]["source"]["const"] == "keel.support"
    assert "detail" in schema["required"]


@pytest.mark.parametrize("path", sorted(p for p in EVENTS.glob("*.json") if "malformed" not in p.name), ids=lambda p: p.name)
def test_every_sample_event_honours_the_contract(path: Path) -> None:
    event = TicketCreatedEvent.model_validate(json.loads(path.read_text()))

    assert event.detail.ticket_id.startswith("TCK-")


def test_the_malformed_sample_breaks_the_contract_on_the_fields_it_names() -> None:
    # Given the malformed sample / When validated / Then each broken field is named
    detail = json.loads((EVENTS / "05-malformed.json").read_text())["detail"]
    with pytest.raises(ValidationError) as raised:
        TicketCreated.model_validate(detail)
    broken = {".".join(str(part) for part in error["loc"]) for error in raised.value.errors()}
    assert broken == {"ticket_id", "subject", "customer", "channel"}


def test_unknown_fields_are_refused() -> None:
    detail = json.loads((EVENTS / "01-confident-billing.json").read_text())["detail"]

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        TicketCreated.model_validate({**detail, "customer_email": "someone@example.com"})
