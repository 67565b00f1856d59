"""The "Ticket Created" event: the support team's contract with ticket_triage.

Published as schemas/ticket_created.v1.schema.json (functions/shared/contracts/__init__.py lists every
contract). Producers put the event on the keel-<env> bus with source "keel.support" and detail-type
"Ticket Created".
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from functions.shared.runtime.contract import ConfigDict, Field, Model

SOURCE = "keel.support"
DETAIL_TYPE = "Ticket Created"
SCHEMA_VERSION = "1"

Tier = Literal["standard", "premium", "vip"]
Channel = Literal["email", "web", "chat", "phone"]


class Contract(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(Contract):
    id: str = Field(min_length=1, max_length=64, description="The customer's id in the helpdesk (never an e-mail address).")
    tier: Tier = Field(description="Service tier; vip raises the ticket's priority.")


class TicketCreated(Contract):
    """The event's `detail`."""

    schema_version: Literal["1"] = Field(default="1", description="Version of this contract.")
    ticket_id: str = Field(pattern=r"^TCK-[0-9]{4,12}$", description="The helpdesk's ticket id.")
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    customer: Customer
    channel: Channel
    created_at: datetime = Field(description="When the customer opened the ticket (ISO 8601 with a time zone).")
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


class TicketCreatedEvent(Model):
    """The whole EventBridge event as it arrives on the bus."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    version: str = "0"
    id: str = Field(min_length=1)
    detail_type: Literal["Ticket Created"] = Field(alias="detail-type")
    source: Literal["keel.support"]
    account: str
    time: datetime
    region: str
    resources: list[str] = Field(default_factory=list)
    detail: TicketCreated
