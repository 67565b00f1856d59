"""Advisors: (ticket) -> category, confidence, model version, short rationale. They advise; the
policy decides.

- LocalAdvisor: the naive Bayes model shipped in models/ (the default, no network).
- BedrockAdvisor: a foundation model on Amazon Bedrock through the Converse API, with the prompt
  versioned in prompts/<name>.txt and the model id from the policy. An answer that is not the
  expected JSON becomes an abstention (confidence 0), which the policy sends to a person.
- StoredLive / StoredShadow: the model the platform's model store points to for this automation
  (a retrained candidate in shadow, a promoted one live), else the policy's. The pointer is read again
  once its cache ages past POINTER_TTL, so a new candidate advises within a minute, without a deploy.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from functions.shared.adapters.aws import aws_errors
from functions.shared.adapters.model_store import Role
from functions.shared.contracts.ticket_created import TicketCreated
from functions.shared.domain.decisions import Advice
from functions.shared.runtime.errors import NotFoundError
from functions.shared.ticket_model.naive_bayes import NaiveBayesModel
from functions.triage_ticket.policy import AdvisorConfig, BedrockAdvisorConfig, LocalAdvisorConfig, Policy

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
PROMPTS = HERE / "prompts"
ABSTAINED = "unknown"
MAX_RATIONALE = 200
# How long a pointer read from the model store is trusted before it is read again.
POINTER_TTL = timedelta(seconds=60)


class Advisor(Protocol):
    @property
    def version(self) -> str: ...

    def advise(self, ticket: TicketCreated) -> Advice: ...


class LocalAdvisor:
    def __init__(self, model: NaiveBayesModel) -> None:
        self.model = model

    @property
    def version(self) -> str:
        return self.model.model_version

    def advise(self, ticket: TicketCreated) -> Advice:
        prediction = self.model.predict(ticket.text)
        words = ", ".join(prediction.evidence) or "no known words"
        rationale = f"words {words}; runner-up {prediction.runner_up} at {prediction.runner_up_confidence:.2f}"
        return Advice(
            label=prediction.label,
            confidence=round(prediction.confidence, 4),
            model_version=self.version,
            rationale=rationale,
        )


class BedrockAdvisor:
    def __init__(self, config: BedrockAdvisorConfig, categories: list[str], bedrock: Any, prompt: str) -> None:
        self.config = config
        self.categories = categories
        self.bedrock = bedrock
        self.prompt = prompt

    @property
    def version(self) -> str:
        return f"bedrock:{self.config.model_id}#prompt:{self.config.prompt}"

    def advise(self, ticket: TicketCreated) -> Advice:
        text = self.prompt.format(categories=", ".join(self.categories), subject=ticket.subject, body=ticket.body)
        with aws_errors(f"Bedrock Converse with {self.config.model_id}"):
            response = self.bedrock.converse(
                modelId=self.config.model_id,
                messages=[{"role": "user", "content": [{"text": text}]}],
                inferenceConfig={"maxTokens": self.config.max_tokens, "temperature": 0.0},
            )
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        answer = "".join(block.get("text", "") for block in blocks)
        return self._parse(answer)

    def _parse(self, answer: str) -> Advice:
        start, end = answer.find("{"), answer.rfind("}")
        try:
            parsed = json.loads(answer[start : end + 1]) if 0 <= start < end else None
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            return self._abstain("the model's answer was not a JSON object")
        category, confidence = parsed.get("category"), parsed.get("confidence")
        if category not in self.categories:
            return self._abstain(f"the model answered an unknown category {category!r}")
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            return self._abstain(f"the model answered an invalid confidence {confidence!r}")
        rationale = str(parsed.get("rationale", ""))[:MAX_RATIONALE]
        return Advice(label=str(category), confidence=float(confidence), model_version=self.version, rationale=rationale)

    def _abstain(self, why: str) -> Advice:
        return Advice(label=ABSTAINED, confidence=0.0, model_version=self.version, rationale=why)


@cache
def load_model(name: str) -> NaiveBayesModel:
    return NaiveBayesModel.load(MODELS / f"{name}.json")


@cache
def load_prompt(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text()


def build_advisor(config: AdvisorConfig, policy: Policy, bedrock: Any = None) -> Advisor:
    """The advisor a policy entry names; `bedrock` is a bedrock-runtime client (only for kind bedrock)."""
    if isinstance(config, LocalAdvisorConfig):
        return LocalAdvisor(load_model(config.model))
    if bedrock is None:
        from functions.shared.adapters.aws import client

        bedrock = client("bedrock-runtime")
    return BedrockAdvisor(config, policy.categories, bedrock, load_prompt(config.prompt))


class StoredModels(Protocol):
    """What the advisors read of the model store (functions/shared/adapters/model_store.py)."""

    def pointer(self, automation: str, role: Role) -> dict[str, Any] | None: ...

    def model(self, automation: str, model_version: str) -> dict[str, Any] | None: ...


class _Pointed:
    """The advisor for the model the store points to for (automation, role), or None without a pointer.

    A model version is immutable, so each is loaded once; the pointer is cached for POINTER_TTL.
    """

    def __init__(self, store: StoredModels, automation: str, role: Role, clock: Any) -> None:
        self.store = store
        self.automation = automation
        self.role = role
        self.clock = clock
        self._pointer: tuple[datetime, str | None] | None = None
        self._advisors: dict[str, LocalAdvisor] = {}

    def _stored(self) -> LocalAdvisor | None:
        now: datetime = self.clock()
        if self._pointer is None or now - self._pointer[0] >= POINTER_TTL:
            pointer = self.store.pointer(self.automation, self.role)
            self._pointer = (now, None if pointer is None else str(pointer["model_version"]))
        version = self._pointer[1]
        if version is None:
            return None
        if version not in self._advisors:
            model = self.store.model(self.automation, version)
            if model is None:
                raise NotFoundError(
                    f"the model store points {self.automation}'s {self.role} advisor to {version}, which it does not hold"
                )
            self._advisors[version] = LocalAdvisor(NaiveBayesModel.from_json(model))
        return self._advisors[version]


class StoredLive(_Pointed):
    """The live advisor: a promoted model when the store points to one, else the policy's."""

    def __init__(self, store: StoredModels, automation: str, clock: Any, fallback: Advisor) -> None:
        super().__init__(store, automation, "live", clock)
        self.fallback = fallback

    @property
    def version(self) -> str:
        return (self._stored() or self.fallback).version

    def advise(self, ticket: TicketCreated) -> Advice:
        return (self._stored() or self.fallback).advise(ticket)


class StoredShadow(_Pointed):
    """The shadow advisor: a retrained candidate when the store points to one, else the policy's (if any)."""

    def __init__(self, store: StoredModels, automation: str, clock: Any, fallback: Advisor | None) -> None:
        super().__init__(store, automation, "shadow", clock)
        self.fallback = fallback

    def advise(self, ticket: TicketCreated) -> Advice | None:
        advisor: Advisor | None = self._stored() or self.fallback
        return None if advisor is None else advisor.advise(ticket)
