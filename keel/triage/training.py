"""Train and evaluate the ticket classifier (multinomial naive Bayes, temperature-calibrated).

Splits are fixed by a hash of each ticket's id (not by position or a random seed), so adding tickets
never moves an old ticket between train, validation and test. The model is fitted on the training
split, its temperature on the validation split, and it is judged once on the held-out test split.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.triage_ticket.classifier import NaiveBayesModel, tokens

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


def load_tickets(path: Path) -> list[Ticket]:
    tickets = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        missing = {"id", "subject", "body", "label"} - set(item)
        if missing:
            raise ValueError(f"{path}:{number}: missing {', '.join(sorted(missing))}")
        tickets.append(Ticket(id=item["id"], subject=item["subject"], body=item["body"], label=item["label"]))
    return tickets


def dataset_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _bucket(ticket_id: str) -> float:
    return int(hashlib.sha256(ticket_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split(tickets: list[Ticket]) -> Splits:
    test = [ticket for ticket in tickets if _bucket(ticket.id) < TEST_SHARE]
    validation = [ticket for ticket in tickets if TEST_SHARE <= _bucket(ticket.id) < TEST_SHARE + VALIDATION_SHARE]
    train = [ticket for ticket in tickets if _bucket(ticket.id) >= TEST_SHARE + VALIDATION_SHARE]
    return Splits(train=train, validation=validation, test=test)


def fit(tickets: list[Ticket], *, name: str, version: str, bigrams: bool, alpha: float = 1.0) -> dict[str, Any]:
    """Counts -> Laplace-smoothed log likelihoods; words seen fewer than MIN_WORD_COUNT times are dropped."""
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
    """The temperature that minimizes the negative log likelihood on the validation split."""
    best, best_loss = 1.0, math.inf
    for temperature in TEMPERATURES:
        candidate = NaiveBayesModel.from_json({**model, "temperature": temperature})
        loss = 0.0
        for ticket in validation:
            probability = candidate.probabilities(ticket.text)[candidate.classes.index(ticket.label)]
            loss -= math.log(max(probability, 1e-12))
        if loss < best_loss:
            best, best_loss = temperature, loss
    return best


@dataclass(frozen=True)
class Evaluation:
    size: int
    accuracy: float
    expected_calibration_error: float
    mean_confidence: float
    recall: dict[str, float]
    confusion: dict[str, dict[str, int]]

    def as_json(self) -> dict[str, Any]:
        return {
            "test_size": self.size,
            "accuracy": round(self.accuracy, 4),
            "expected_calibration_error": round(self.expected_calibration_error, 4),
            "mean_confidence": round(self.mean_confidence, 4),
            "recall": {label: round(value, 4) for label, value in self.recall.items()},
            "confusion": self.confusion,
        }


def evaluate(model: NaiveBayesModel, tickets: list[Ticket]) -> Evaluation:
    """Accuracy, per-class recall, a confusion matrix and the expected calibration error (10 bins)."""
    if not tickets:
        raise ValueError("cannot evaluate on an empty split")
    confusion = {label: dict.fromkeys(model.classes, 0) for label in model.classes}
    outcomes: list[tuple[float, bool]] = []
    for ticket in tickets:
        prediction = model.predict(ticket.text)
        confusion[ticket.label][prediction.label] += 1
        outcomes.append((prediction.confidence, prediction.label == ticket.label))
    recall = {label: row[label] / max(1, sum(row.values())) for label, row in confusion.items()}
    return Evaluation(
        size=len(tickets),
        accuracy=sum(correct for _, correct in outcomes) / len(outcomes),
        expected_calibration_error=expected_calibration_error(outcomes),
        mean_confidence=sum(confidence for confidence, _ in outcomes) / len(outcomes),
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


@dataclass(frozen=True)
class TrainingResult:
    model: dict[str, Any]
    evaluation: Evaluation
    splits: Splits


def train(dataset: Path, *, name: str, version: str, bigrams: bool) -> TrainingResult:
    tickets = load_tickets(dataset)
    splits = split(tickets)
    model = fit(splits.train, name=name, version=version, bigrams=bigrams)
    model["temperature"] = fit_temperature(model, splits.validation)
    evaluation = evaluate(NaiveBayesModel.from_json(model), splits.test)
    model["trained"] = {
        "dataset": dataset.name,
        "dataset_digest": dataset_digest(dataset),
        "train_size": len(splits.train),
        "validation_size": len(splits.validation),
        "vocabulary": len(model["log_likelihood"]),
    }
    model["evaluation"] = evaluation.as_json()
    return TrainingResult(model=model, evaluation=evaluation, splits=splits)
