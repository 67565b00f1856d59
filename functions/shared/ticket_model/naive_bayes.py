"""The default advisor's model: multinomial naive Bayes over words, in plain Python.

The model is a versioned JSON file (functions/triage_ticket/models/ticket-nb-<version>.json, written by
scripts/train_ticket_classifier.py; or a retrained candidate in the platform's model store, written by
retrain_advisor): class priors, per-word log likelihoods, and a temperature
fitted on a validation split so the confidence it reports is calibrated. Loading it is a json.load;
predicting is a few dictionary lookups: no numpy, no download, a small cold start.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOPWORDS = """
a an and are as at be been but by can could do does for from has have hi hello i if in is it its
me my no not of on or our please so that the their them there this to us was we were what when
which will with would you your also just thanks thank regards best kind dear team
"""
STOPWORDS = frozenset(_STOPWORDS.split())
RATIONALE_WORDS = 3


def tokens(text: str, *, bigrams: bool = False) -> list[str]:
    """Lower-case words without stopwords; with bigrams, adjacent pairs as well ("charged_twice")."""
    words = [word for word in TOKEN.findall(text.lower()) if word not in STOPWORDS and len(word) > 1]
    if not bigrams:
        return words
    return words + [f"{first}_{second}" for first, second in itertools.pairwise(words)]


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    runner_up: str
    runner_up_confidence: float
    # The words that pushed the label ahead of the runner-up, strongest first.
    evidence: list[str]

    @property
    def margin(self) -> float:
        return self.confidence - self.runner_up_confidence


@dataclass(frozen=True)
class NaiveBayesModel:
    name: str
    version: str
    classes: list[str]
    log_prior: list[float]
    log_likelihood: dict[str, list[float]]
    log_unseen: list[float]
    temperature: float
    bigrams: bool
    metadata: dict[str, Any]

    @property
    def model_version(self) -> str:
        return f"{self.name}-{self.version}"

    @classmethod
    def load(cls, path: Path) -> NaiveBayesModel:
        return cls.from_json(json.loads(path.read_text()))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NaiveBayesModel:
        classes = list(data["classes"])
        vectors = [data["log_prior"], data["log_unseen"], *data["log_likelihood"].values()]
        if any(len(vector) != len(classes) for vector in vectors):
            raise ValueError(f"model {data.get('name')}-{data.get('version')}: every vector needs one value per class")
        if float(data["temperature"]) <= 0:
            raise ValueError("model temperature must be positive")
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            classes=classes,
            log_prior=[float(value) for value in data["log_prior"]],
            log_likelihood={word: [float(value) for value in values] for word, values in data["log_likelihood"].items()},
            log_unseen=[float(value) for value in data["log_unseen"]],
            temperature=float(data["temperature"]),
            bigrams=data["features"] == "unigram+bigram",
            metadata={key: data[key] for key in ("trained", "evaluation", "data") if key in data},
        )

    def scores(self, text: str) -> list[float]:
        """Log joint probability of the text under each class (unnormalized posteriors)."""
        scores = list(self.log_prior)
        for word in tokens(text, bigrams=self.bigrams):
            likelihood = self.log_likelihood.get(word)
            if likelihood is None:
                continue  # a word never seen in training says nothing about the class
            scores = [score + value for score, value in zip(scores, likelihood, strict=True)]
        return scores

    def probabilities(self, text: str) -> list[float]:
        scaled = [score / self.temperature for score in self.scores(text)]
        top = max(scaled)
        weights = [math.exp(score - top) for score in scaled]
        total = sum(weights)
        return [weight / total for weight in weights]

    def predict(self, text: str) -> Prediction:
        probabilities = self.probabilities(text)
        ranked = sorted(range(len(self.classes)), key=lambda index: probabilities[index], reverse=True)
        best, second = ranked[0], ranked[1]
        return Prediction(
            label=self.classes[best],
            confidence=probabilities[best],
            runner_up=self.classes[second],
            runner_up_confidence=probabilities[second],
            evidence=self._evidence(text, best, second),
        )

    def _evidence(self, text: str, best: int, second: int) -> list[str]:
        weights: dict[str, float] = {}
        for word in tokens(text, bigrams=self.bigrams):
            likelihood = self.log_likelihood.get(word)
            if likelihood is not None and likelihood[best] > likelihood[second]:
                weights[word] = weights.get(word, 0.0) + likelihood[best] - likelihood[second]
        return sorted(weights, key=lambda word: (-weights[word], word))[:RATIONALE_WORDS]
