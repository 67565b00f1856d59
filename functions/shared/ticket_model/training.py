"""Train and evaluate the ticket classifier (multinomial naive Bayes, temperature-calibrated), in plain Python.

Used by scripts/train_ticket_classifier.py (the shipped models, from a labelled JSONL file) and by the
retrain_advisor module (a candidate, from the categories reviewers gave). Nothing here reads files or
calls AWS: callers hand it tickets.

Two ways to split: `split` fixes each ticket's split by a hash of its id (adding tickets never moves
an old one: the shipped data set), `seeded_split` shuffles with a seed (a small set of reviewed tickets,
where a hash could leave the held-out split empty). The model is fitted on the training split, its
temperature on the validation split, and it is judged once on the held-out test split.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from functions.shared.ticket_model.naive_bayes import NaiveBayesModel, tokens

TEST_SHARE = 0.2
VALIDATION_SHARE = 0.15
TEMPERATURES = [round(0.5 + 0.25 * step, 2) for step in range(79)]  # 0.5 .. 20.0
CALIBRATION_BINS = 10
MIN_WORD_COUNT = 2


@dataclass(frozen=True)
class Ticket:
    id: str
    subject: str
    body: str
    label: str

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


@dataclass(frozen=True)
class Splits:
    train: list[Ticket]
    validation: list[Ticket]
    test: list[Ticket]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def _bucket(ticket_id: str) -> float:
    return int(hashlib.sha256(ticket_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split(tickets: list[Ticket]) -> Splits:
    test = [ticket for ticket in tickets if _bucket(ticket.id) < TEST_SHARE]
    validation = [ticket for ticket in tickets if TEST_SHARE <= _bucket(ticket.id) < TEST_SHARE + VALIDATION_SHARE]
    train = [ticket for ticket in tickets if _bucket(ticket.id) >= TEST_SHARE + VALIDATION_SHARE]
    return Splits(train=train, validation=validation, test=test)


def seeded_split(tickets: list[Ticket], *, seed: int, test_share: float, validation_share: float) -> Splits:
    """Shuffle (tickets sorted by id first, so the order they were read in does not matter) and cut:
    at least one ticket in the test and validation splits each when there are three or more."""
    ordered = sorted(tickets, key=lambda ticket: ticket.id)
    random.Random(seed).shuffle(ordered)  # noqa: S311 - a reproducible split, not a secret
    test_size = max(1, round(len(ordered) * test_share)) if len(ordered) >= 3 else 0
    validation_size = max(1, round(len(ordered) * validation_share)) if len(ordered) >= 3 else 0
    test = ordered[:test_size]
    validation = ordered[test_size : test_size + validation_size]
    return Splits(train=ordered[test_size + validation_size :], validation=validation, test=test)


def fit(tickets: list[Ticket], *, name: str, version: str, bigrams: bool, alpha: float = 1.0) -> dict[str, Any]:
    """Counts -> Laplace-smoothed log likelihoods; words seen fewer than MIN_WORD_COUNT times are dropped."""
    if not tickets:
        raise ValueError("cannot train on an empty training split")
    classes = sorted({ticket.label for ticket in tickets})
    per_class = {label: Counter[str]() for label in classes}
    for ticket in tickets:
        per_class[ticket.label].update(tokens(ticket.text, bigrams=bigrams))
    totals = Counter[str]()
    for counts in per_class.values():
        totals.update(counts)
    vocabulary = sorted(word for word, count in totals.items() if count >= MIN_WORD_COUNT)
    documents = Counter(ticket.label for ticket in tickets)
    log_prior = [round(math.log(documents[label] / len(tickets)), 6) for label in classes]
    denominators = [sum(per_class[label][word] for word in vocabulary) + alpha * (len(vocabulary) + 1) for label in classes]
    likelihood = {
        word: [round(math.log((per_class[label][word] + alpha) / denominators[i]), 5) for i, label in enumerate(classes)]
        for word in vocabulary
    }
    return {
        "name": name,
        "version": version,
        "features": "unigram+bigram" if bigrams else "unigram",
        "alpha": alpha,
        "classes": classes,
        "log_prior": log_prior,
        "log_unseen": [round(math.log(alpha / denominator), 5) for denominator in denominators],
        "log_likelihood": likelihood,
        "temperature": 1.0,
    }


def fit_temperature(model: dict[str, Any], validation: list[Ticket]) -> float:
    """The temperature that minimizes the negative log likelihood on the validation split (1.0 without one)."""
    best, best_loss = 1.0, math.inf
    if not validation:
        return best
    for temperature in TEMPERATURES:
        candidate = NaiveBayesModel.from_json({**model, "temperature": temperature})
        loss = 0.0
        for ticket in validation:
            loss -= math.log(max(_probability_of(candidate, ticket.text, ticket.label), 1e-12))
        if loss < best_loss:
            best, best_loss = temperature, loss
    return best


def _probability_of(model: NaiveBayesModel, text: str, label: str) -> float:
    """What the model gives the label: 0 for a label it was never trained on."""
    if label not in model.classes:
        return 0.0
    return model.probabilities(text)[model.classes.index(label)]


@dataclass(frozen=True)
class Outcome:
    """One prediction against the truth: what calibration is computed from."""

    confidence: float
    correct: bool
    # The probability the model gave each class, and the true class (for the Brier score).
    probabilities: dict[str, float]
    label: str


@dataclass(frozen=True)
class Evaluation:
    size: int
    accuracy: float
    expected_calibration_error: float
    brier_score: float
    mean_confidence: float
    recall: dict[str, float]
    confusion: dict[str, dict[str, int]]

    def as_json(self) -> dict[str, Any]:
        return {
            "test_size": self.size,
            "accuracy": round(self.accuracy, 4),
            "expected_calibration_error": round(self.expected_calibration_error, 4),
            "brier_score": round(self.brier_score, 4),
            "mean_confidence": round(self.mean_confidence, 4),
            "recall": {label: round(value, 4) for label, value in self.recall.items()},
            "confusion": self.confusion,
        }

    def described(self) -> list[str]:
        """The figures for people, as the training and evaluation scripts print them."""
        return [
            f"accuracy {self.accuracy:.3f}, expected calibration error {self.expected_calibration_error:.3f}, "
            f"Brier score {self.brier_score:.3f}, mean confidence {self.mean_confidence:.3f}",
            "recall: " + ", ".join(f"{label} {value:.2f}" for label, value in self.recall.items()),
        ]


def evaluate(model: NaiveBayesModel, tickets: list[Ticket]) -> Evaluation:
    """Accuracy, per-class recall, a confusion matrix, the expected calibration error (10 bins) and the
    Brier score. A ticket whose label the model does not know counts as wrong, with probability 0."""
    if not tickets:
        raise ValueError("cannot evaluate on an empty split")
    labels = sorted({*model.classes, *(ticket.label for ticket in tickets)})
    confusion = {label: dict.fromkeys(labels, 0) for label in labels}
    outcomes: list[Outcome] = []
    for ticket in tickets:
        prediction = model.predict(ticket.text)
        confusion[ticket.label][prediction.label] += 1
        probabilities = dict(zip(model.classes, model.probabilities(ticket.text), strict=True))
        outcomes.append(Outcome(prediction.confidence, prediction.label == ticket.label, probabilities, ticket.label))
    recall = {label: row[label] / sum(row.values()) for label, row in confusion.items() if sum(row.values())}
    return Evaluation(
        size=len(tickets),
        accuracy=sum(outcome.correct for outcome in outcomes) / len(outcomes),
        expected_calibration_error=expected_calibration_error([(o.confidence, o.correct) for o in outcomes]),
        brier_score=brier_score(outcomes, labels),
        mean_confidence=sum(outcome.confidence for outcome in outcomes) / len(outcomes),
        recall=recall,
        confusion=confusion,
    )


def expected_calibration_error(outcomes: list[tuple[float, bool]], bins: int = CALIBRATION_BINS) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence|, weighted by the bin's share."""
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, correct in outcomes:
        grouped[min(int(confidence * bins), bins - 1)].append((confidence, correct))
    error = 0.0
    for members in grouped:
        if members:
            accuracy = sum(correct for _, correct in members) / len(members)
            confidence = sum(value for value, _ in members) / len(members)
            error += len(members) / len(outcomes) * abs(accuracy - confidence)
    return error


def brier_score(outcomes: list[Outcome], labels: list[str]) -> float:
    """Multi-class Brier score: the mean over tickets of sum_k (p_k - y_k)^2, 0 (perfect) to 2 (sure and wrong)."""
    total = 0.0
    for outcome in outcomes:
        total += sum((outcome.probabilities.get(label, 0.0) - (label == outcome.label)) ** 2 for label in labels)
    return total / len(outcomes)


def train_model(splits: Splits, *, name: str, version: str, bigrams: bool) -> tuple[dict[str, Any], Evaluation]:
    """Fit on the training split, calibrate on the validation split, evaluate on the test split."""
    model = fit(splits.train, name=name, version=version, bigrams=bigrams)
    model["temperature"] = fit_temperature(model, splits.validation)
    evaluation = evaluate(NaiveBayesModel.from_json(model), splits.test)
    model["evaluation"] = evaluation.as_json()
    return model, evaluation
