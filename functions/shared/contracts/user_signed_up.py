"""The "User Signed Up" event: the accounts app's contract with user_onboarding.

The app puts it on the keel-<env> bus with source "app.accounts" and detail-type "User Signed Up"
when someone creates an account; schemas/user_signed_up.v1.schema.json is its published form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from functions.shared.runtime.contract import ConfigDict, Field, Model

Plan = Literal["free", "team", "business", "enterprise"]


class UserSignedUp(Model):
    """The event's `detail`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(pattern=r"^usr_[A-Za-z0-9_]{1,60}$", description="The account's user id in the app.")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254, description="Where the welcome email goes.")
    name: str = Field(min_length=1, max_length=200)
    plan: Plan = Field(description="The plan the user chose at signup; the billing customer is created on it.")
    signed_up_at: datetime = Field(description="When the account was created (ISO 8601 with a time zone).")


class UserSignedUpEvent(Model):
    """The whole EventBridge event as it arrives on the bus."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    version: str = "0"
    id: str = Field(min_length=1)
    detail_type: Literal["User Signed Up"] = Field(alias="detail-type")
    source: Literal["app.accounts"]
    account: str
    time: datetime
    region: str
    resources: list[str] = Field(default_factory=list)
    detail: UserSignedUp
