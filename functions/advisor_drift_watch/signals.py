"""What the watch observes in a triage automation's decision record, one number per decision.

- confidence: every triage decision (the step that asked the live advisor: its record carries the
  advice and the category it led to) gives the advisor's confidence, 0..1.
- agreement: every routing decision a reviewer made (route_ticket's record with decided_by "reviewer")
  gives 1 when the reviewer kept the advisor's category, 0 when they changed it.

Shadow and dry-run decisions are not observations: they are not what the live advisor did to tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Signal = Literal["confidence", "agreement"]
SIGNALS: tuple[Signal, ...] = ("confidence", "agreement")
TRIAGE_ACTIONS = ("route_ticket", "ask_reviewer")


@dataclass(frozen=True)
class Observation:
    signal: Signal
    value: float
    model_version: str


def observations(body: dict[str, Any]) -> list[Observation]:
    """The observations one decision record's body gives (none for most records)."""
    advice, details = body.get("advice"), body.get("details") or {}
    if body.get("shadow") or body.get("dry_run") or not isinstance(advice, dict):
        return []
    model = str(advice["model_version"])
    # The triage step's record is the one that keeps the ticket's evidence (a rejected review's record
    # carries the same advice again, and is not a second observation of it).
    if body.get("action") in TRIAGE_ACTIONS and "evidence_kept_days" in details:
        return [Observation("confidence", float(advice["confidence"]), model)]
    if details.get("decided_by") == "reviewer" and "advisor_category" in details:
        kept = details["category"] == details["advisor_category"]
        return [Observation("agreement", 1.0 if kept else 0.0, model)]
    return []
