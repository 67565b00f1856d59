"""Every event contract Keel knows: the events automations consume and emit on the keel bus.

A contract is a pair of models (the event and its `detail`) named by `name` and a major version.
schemas/<name>.v<major>.schema.json is generated from it (scripts/export_event_schemas.py), synth checks a
published version changes only additively (infra/event_contracts.py) and the platform stack publishes each
to the environment's EventBridge schema registry. check_event validates against it at run time.
A breaking change is a new major version: a new model, listed here next to the old one.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.shared.contracts.advisor_drift_detected import AdvisorDriftDetected, AdvisorDriftDetectedEvent
from functions.shared.contracts.ticket_created import TicketCreated, TicketCreatedEvent
from functions.shared.contracts.user_onboarded import UserOnboarded, UserOnboardedEvent
from functions.shared.contracts.user_signed_up import UserSignedUp, UserSignedUpEvent
from functions.shared.runtime.contract import Model


@dataclass(frozen=True)
class EventContract:
    name: str
    major: int
    source: str
    detail_type: str
    event: type[Model]
    detail: type[Model]
    description: str

    @property
    def key(self) -> str:
        """How manifests and messages name it: user_signed_up@1."""
        return f"{self.name}@{self.major}"

    @property
    def file_name(self) -> str:
        return f"{self.name}.v{self.major}.schema.json"


CONTRACTS: tuple[EventContract, ...] = (
    EventContract(
        "ticket_created",
        1,
        "keel.support",
        "Ticket Created",
        TicketCreatedEvent,
        TicketCreated,
        "Put on the keel-<env> event bus when a customer opens a support ticket; starts ticket_triage.",
    ),
    EventContract(
        "user_signed_up",
        1,
        "app.accounts",
        "User Signed Up",
        UserSignedUpEvent,
        UserSignedUp,
        "Put on the keel-<env> event bus by the accounts app when a user signs up; starts user_onboarding.",
    ),
    EventContract(
        "user_onboarded",
        1,
        "keel.user_onboarding",
        "User Onboarded",
        UserOnboardedEvent,
        UserOnboarded,
        "Put on the keel-<env> event bus by user_onboarding once a user is onboarded; starts onboarding_audit.",
    ),
    EventContract(
        "advisor_drift_detected",
        1,
        "keel.advisors",
        "Advisor Drift Detected",
        AdvisorDriftDetectedEvent,
        AdvisorDriftDetected,
        "Put on the keel-<env> event bus by advisor_drift_watch when a drift in an advisor's confidence or in "
        "its agreement with reviewers is confirmed; starts the advisor's retraining.",
    ),
)


def find(name: str, major: int) -> EventContract | None:
    return next((c for c in CONTRACTS if c.name == name and c.major == major), None)
