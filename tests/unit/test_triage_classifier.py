"""The shipped ticket classifier: its held-out evaluation has a floor, and a broken model fails it."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from functions.triage_ticket.advisors import MODELS, LocalAdvisor, load_model
from functions.triage_ticket.classifier import NaiveBayesModel, tokens
from functions.triage_ticket.policy import load_policy
from keel.triage.training import evaluate, expected_calibration_error, fit, fit_temperature, load_tickets, split, train

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "datasets" / "ticket_triage" / "tickets.jsonl"
# Floors for the held-out split: a model that learned nothing scores about 0.2 accuracy (5 classes).
ACCURACY_FLOOR = 0.85
ECE_CEILING = 0.10
POLICY = load_policy()
SHIPPED = sorted({POLICY.advisors.live.model, POLICY.advisors.shadow.model})  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def splits():
    return split(load_tickets(DATASET))


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_meets_the_floor_on_the_held_out_split(splits, name: str) -> None:
    # Given a model the policy uses and the test split it never saw
    model = load_model(name)
    assert not {ticket.id for ticket in splits.test} & {ticket.id for ticket in splits.train}

    # When it is evaluated
    evaluation = evaluate(model, splits.test)

    # Then accuracy and calibration are above the floor, and match what its file reports
    assert evaluation.accuracy >= ACCURACY_FLOOR
    assert evaluation.expected_calibration_error <= ECE_CEILING
    assert round(evaluation.accuracy, 4) == model.metadata["evaluation"]["accuracy"]
    assert min(evaluation.recall.values()) >= 0.7


def test_a_model_trained_on_shuffled_labels_fails_the_floor(splits) -> None:
    # Given the training split with its labels shuffled (a broken pipeline)
    rng = random.Random(7)
    labels = [ticket.label for ticket in splits.train]
    rng.shuffle(labels)
    broken = [replace(ticket, label=label) for ticket, label in zip(splits.train, labels, strict=True)]

    # When trained and evaluated the same way
    model = fit(broken, name="broken", version="0.0.0", bigrams=False)
    model["temperature"] = fit_temperature(model, splits.validation)
    evaluation = evaluate(NaiveBayesModel.from_json(model), splits.test)

    # Then it does not pass the floor the shipped model passes
    assert evaluation.accuracy < ACCURACY_FLOOR


def test_training_is_reproducible_from_the_dataset(splits) -> None:
    # Given the committed dataset / When the live model's version is trained again
    live = load_model(POLICY.advisors.live.model)
    result = train(DATASET, name=live.name, version=live.version, bigrams=live.bigrams)

    # Then it is the model that ships (same words, same temperature, same dataset digest)
    shipped = json.loads((MODELS / f"{live.model_version}.json").read_text())
    assert result.model["log_likelihood"] == shipped["log_likelihood"]
    assert result.model["temperature"] == shipped["temperature"]
    assert result.model["trained"]["dataset_digest"] == shipped["trained"]["dataset_digest"]


def test_the_local_advisor_explains_its_suggestion() -> None:
    # Given the live model / When a clear billing ticket is advised
    from functions.shared.contracts.ticket_created import TicketCreated

    ticket = TicketCreated.model_validate(
        {
            "ticket_id": "TCK-2001",
            "subject": "Refund request",
            "body": "I was charged twice for the subscription, please refund the payment.",
            "customer": {"id": "c", "tier": "standard"},
            "channel": "web",
            "created_at": "2026-11-22T09:00:00Z",
        }
    )
    advice = LocalAdvisor(load_model(POLICY.advisors.live.model)).advise(ticket)

    # Then the advice names the category, the model version and the words that decided it
    assert advice.label == "billing"
    assert advice.model_version == POLICY.advisors.live.model
    assert advice.rationale.startswith("words ")
    assert "refund" in advice.rationale


def test_tokens_drop_stopwords_and_add_bigrams_on_request() -> None:
    assert tokens("Hi, I was charged TWICE!") == ["charged", "twice"]
    assert tokens("charged twice today", bigrams=True) == ["charged", "twice", "today", "charged_twice", "twice_today"]


def test_expected_calibration_error_is_the_weighted_gap_per_bin() -> None:
    # Given two bins: 0.95 confidence all right (gap 0.05), 0.55 confidence half right (gap 0.05)
    outcomes = [(0.95, True), (0.95, True), (0.55, True), (0.55, False)]

    # Then the error is the share-weighted mean gap
    assert expected_calibration_error(outcomes) == pytest.approx(0.05)
    assert expected_calibration_error([(1.0, True)]) == pytest.approx(0.0)


def test_a_model_file_with_mismatched_vectors_is_rejected() -> None:
    data = json.loads((MODELS / f"{POLICY.advisors.live.model}.json").read_text())
    data["log_prior"] = data["log_prior"][:-1]

    with pytest.raises(ValueError, match="one value per class"):
        NaiveBayesModel.from_json(data)
    with pytest.raises(ValueError, match="temperature"):
        NaiveBayesModel.from_json({**json.loads((MODELS / f"{POLICY.advisors.live.model}.json").read_text()), "temperature": 0})


def test_a_dataset_line_without_a_label_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "subject": "s", "body": "b"}\n')

    with pytest.raises(ValueError, match=r"bad\.jsonl:1: field 'label' is missing"):
        load_tickets(path)
    with pytest.raises(ValueError, match="empty split"):
        evaluate(load_model(POLICY.advisors.live.model), [])
