"""The triage policy: versioned data (policy.json) that decides what the advisor's suggestion becomes.

AI advises, rules decide. In order:
1. business rules: a ticket mentioning a legal or security keyword goes to a person, whatever the
   advisor says or how sure it is;
2. the abstain band: below `abstain_below` the advisor is not sure of anything: a person decides;
3. per-category thresholds: acting on a category automatically needs that category's confidence
   (an account change needs more certainty than a feature request);
4. otherwise the ticket is routed to the category's team queue (the routing table).
Priority is separate: urgent keywords raise it to high, and VIP customers raise it one more level.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from functions.shared.contracts.ticket_created import TicketCreated
from functions.shared.domain.decisions import Advice
from functions.shared.runtime.contract import ConfigDict, Field, Model, model_validator

SEMVER = r"^\d+\.\d+\.\d+$"
PRIORITIES = ("low", "normal", "high", "urgent")
Priority = Literal["low", "normal", "high", "urgent"]
Action = Literal["route", "review"]
POLICY_FILE = Path(__file__).resolve().parent / "policy.json"


class Strict(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalAdvisorConfig(Strict):
    kind: Literal["local"]
    model: str = Field(pattern=r"^ticket-nb-\d+\.\d+\.\d+$")


class BedrockAdvisorConfig(Strict):
    kind: Literal["bedrock"] = "bedrock"
    model_id: str = Field(min_length=1)
    prompt: str = Field(pattern=r"^[a-z0-9-]+$")
    max_tokens: int = Field(default=300, ge=50, le=2000)


AdvisorConfig = LocalAdvisorConfig | BedrockAdvisorConfig


class Advisors(Strict):
    live: AdvisorConfig
    shadow: AdvisorConfig | None = None
    # Where the Bedrock advisor is configured; used when `live` or `shadow` is {"kind": "bedrock", ...}.
    bedrock: BedrockAdvisorConfig | None = None


class KeywordRule(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    risk: Literal["medium", "high", "critical"]
    keywords: list[str] = Field(min_length=1)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        words = sorted((re.escape(keyword.lower()) for keyword in self.keywords), key=len, reverse=True)
        return re.compile(r"\b(" + "|".join(words) + r")\b")

    def match(self, text: str) -> str | None:
        found = self.pattern.search(text.lower())
        return found.group(1) if found else None


class PriorityRules(Strict):
    default: Priority = "normal"
    urgent_keywords: list[str] = Field(default_factory=list)
    raise_for_tiers: list[str] = Field(default_factory=list)


class Policy(Strict):
    name: str
    version: str = Field(pattern=SEMVER)
    advisors: Advisors
    abstain_below: float = Field(ge=0, le=1)
    thresholds: dict[str, float]
    rules: list[KeywordRule] = Field(default_factory=list)
    priority: PriorityRules = Field(default_factory=PriorityRules)
    routing: dict[str, str]
    fallback_queue: str
    # Share of human reviews that agree with the advisor below which the drift alarm fires.
    agreement_alarm_below: float = Field(gt=0, le=1)
    # How long the ticket text a decision was made on is kept for `keel ops replay`.
    evidence_retention_days: int = Field(ge=1, le=90)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if set(self.thresholds) != set(self.routing):
            raise ValueError("thresholds and routing must name the same categories")
        for category, threshold in self.thresholds.items():
            if not 0 <= threshold <= 1:
                raise ValueError(f"thresholds.{category} must be between 0 and 1")
            if threshold < self.abstain_below:
                raise ValueError(f"thresholds.{category} is below abstain_below: the abstain band would never apply")
        return self

    @property
    def categories(self) -> list[str]:
        return sorted(self.routing)

    @property
    def queues(self) -> list[str]:
        return sorted({*self.routing.values(), self.fallback_queue})

    def decide(self, ticket: TicketCreated, advice: Advice) -> Verdict:
        priority = self.priority_of(ticket)
        for rule in self.rules:
            keyword = rule.match(ticket.text)
            if keyword is not None:
                return Verdict(
                    "review", advice.label, rule.name, rule.risk, priority, f"the ticket mentions '{keyword}': a person decides"
                )
        if advice.label not in self.routing:
            reason = f"the advisor suggested '{advice.label}', which is not a category of the routing table"
            return Verdict("review", advice.label, "unknown-category", "medium", priority, reason)
        if advice.confidence < self.abstain_below:
            reason = f"confidence {advice.confidence:.2f} is in the abstain band (below {self.abstain_below:.2f})"
            return Verdict("review", advice.label, "abstain-band", "medium", priority, reason)
        threshold = self.thresholds[advice.label]
        if advice.confidence < threshold:
            reason = f"confidence {advice.confidence:.2f} is below the {advice.label} threshold {threshold:.2f}"
            return Verdict("review", advice.label, f"below-threshold:{advice.label}", "medium", priority, reason)
        reason = f"{advice.label} at confidence {advice.confidence:.2f} (threshold {threshold:.2f})"
        return Verdict("route", advice.label, f"confident:{advice.label}", "low", priority, reason)

    def priority_of(self, ticket: TicketCreated) -> Priority:
        level = PRIORITIES.index(self.priority.default)
        text = ticket.text.lower()
        if any(re.search(r"\b" + re.escape(word.lower()) + r"\b", text) for word in self.priority.urgent_keywords):
            level = max(level, PRIORITIES.index("high"))
        if ticket.customer.tier in self.priority.raise_for_tiers:
            level = min(level + 1, len(PRIORITIES) - 1)
        priority: Priority = PRIORITIES[level]  # type: ignore[assignment]
        return priority


@dataclass(frozen=True)
class Verdict:
    action: Action
    category: str
    rule: str
    risk: str
    priority: Priority
    reason: str


def load_policy(path: Path = POLICY_FILE) -> Policy:
    return Policy.model_validate(json.loads(path.read_text()))
