"""The "Advisor Drift Detected" event: an advisor's inputs or its agreement with people have changed.

Put on the keel-<env> bus by advisor_drift_watch (source "keel.advisors") when a streaming detector
confirms a drift in the live advisor's confidence, or in how often reviewers agree with it; the
retraining automation consumes it. schemas/advisor_drift_detected.v1.schema.json is its published form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from functions.shared.runtime.contract import ConfigDict, Field, Model


class AdvisorDriftDetected(Model):
    """The event's `detail`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    automation: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$", description="The automation whose advisor drifted.")
    model_version: str = Field(min_length=1, description="The live model that advised on the observations.")
    signal: Literal["confidence", "agreement"] = Field(
        description="confidence: the advisor's confidence per decision; agreement: 1 when a reviewer kept its category, else 0."
    )
    detector: Literal["ADWIN", "PageHinkley"] = Field(description="The streaming detector that confirmed the drift.")
    detected_at: datetime = Field(description="When the watch confirmed it (ISO 8601, UTC).")
    observations: int = Field(ge=1, description="Observations the detector had seen since it last started, this one included.")
    mean_before: float = Field(description="The signal's mean over those observations, before the most recent ones.")
    mean_after: float = Field(description="The signal's mean over the most recent observations.")
    drift_id: str = Field(min_length=1, max_length=200, description="Stable id: the same drift always has the same id.")


class AdvisorDriftDetectedEvent(Model):
    """The whole EventBridge event as it arrives on the bus."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    version: str = "0"
    id: str = Field(min_length=1)
    detail_type: Literal["Advisor Drift Detected"] = Field(alias="detail-type")
    source: Literal["keel.advisors"]
    account: str
    time: datetime
    region: str
    resources: list[str] = Field(default_factory=list)
    detail: AdvisorDriftDetected
