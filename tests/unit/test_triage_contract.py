"""The "Ticket Created" contract: the published schema is generated from the model and current."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from functions.shared.runtime.contract import ValidationError
from functions.triage_ticket.contract import TicketCreated, TicketCreatedEvent

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "ticket_triage"


def export_module():
    spec = importlib.util.spec_from_file_location("export_ticket_schema", ROOT / "scripts" / "export_ticket_schema.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_published_schema_is_what_the_model_generates() -> None:
    # Given the export script / When it renders the schema from the contract models
    module = export_module()

    # Then the committed file is identical (run scripts/export_ticket_schema.py after changing the contract)
    assert module.SCHEMA.read_text() == module.render()
    schema = json.loads(module.render())
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
