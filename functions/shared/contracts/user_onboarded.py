"""The "User Onboarded" event: what user_onboarding puts on the bus once a user is onboarded.

Source "keel.user_onboarding", detail-type "User Onboarded"; onboarding_audit consumes it.
schemas/user_onboarded.v1.schema.json is its published form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from functions.shared.runtime.contract import ConfigDict, Field, Model


class UserOnboarded(Model):
    """The event's `detail`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal["1"] = Field(description="Major version of this contract.")
    user_id: str = Field(pattern=r"^usr_[A-Za-z0-9_]{1,60}$")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    crm_contact_id: str = Field(min_length=1, description="The contact user_onboarding created in the CRM.")
    billing_customer_id: str = Field(min_length=1, description="The customer user_onboarding created in billing.")
    followed_up: bool = Field(description="Whether the follow-up email went (the user had not signed in after 3 days).")


class UserOnboardedEvent(Model):
    """The whole EventBridge event as it arrives on the bus."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    version: str = "0"
    id: str = Field(min_length=1)
    detail_type: Literal["User Onboarded"] = Field(alias="detail-type")
    source: Literal["keel.user_onboarding"]
    account: str
    time: datetime
    region: str
    resources: list[str] = Field(default_factory=list)
    detail: UserOnboarded
