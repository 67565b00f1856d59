"""Training and evaluation of the ticket model: calibration figures on hand-made sets, the seeded split,
and the labelled-set reader's one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from functions.shared.ticket_model.naive_bayes import NaiveBayesModel
from functions.shared.ticket_model.training import (
    Outcome,
    Ticket,
    brier_score,
    evaluate,
    expected_calibration_error,
    seeded_split,
)
from keel.triage.training import SHIPPED_DATASET, DatasetError, data_note, load_tickets


def two_class_model() -> NaiveBayesModel:
    """A model whose probabilities are known: "refund" says billing 4:1, "crash" says technical 4:1."""
    return NaiveBayesModel.from_json(
        {
            "name": "hand",
            "version": "0.0.1",
            "features": "unigram",
            "classes": ["billing", "technical"],
            "log_prior": [math.log(0.5), math.log(0.5)],
            "log_unseen": [math.log(0.01), math.log(0.01)],
            "log_likelihood": {"refund": [math.log(0.8), math.log(0.2)], "crash": [math.log(0.2), math.log(0.8)]},
            "temperature": 1.0,
        }
    )


def test_the_brier_score_and_the_calibration_error_of_a_hand_made_set() -> None:
    # Given two predictions: 0.8 on the right class, and 0.6 on the wrong one
    outcomes = [
        Outcome(confidence=0.8, correct=True, probabilities={"a": 0.8, "b": 0.2}, label="a"),
        Outcome(confidence=0.6, correct=False, probabilities={"a": 0.6, "b": 0.4}, label="b"),
    ]

    # When the figures are computed
    brier = brier_score(outcomes, ["a", "b"])
    ece = expected_calibration_error([(o.confidence, o.correct) for o in outcomes])

    # Then Brier = mean of (0.2² + 0.2²) and (0.6² + 0.6²) = (0.08 + 0.72) / 2; ECE = ½·|1 - 0.8| + ½·|0 - 0.6|
    assert brier == pytest.approx(0.40)
    assert ece == pytest.approx(0.40)


def test_evaluate_reports_accuracy_brier_and_calibration_of_a_model_on_a_labelled_set() -> None:
    # Given a model with known probabilities (0.8 for the class its word points to) and three tickets
    tickets = [
        Ticket("t1", "refund", "", "billing"),  # right, 0.8
        Ticket("t2", "crash", "", "technical"),  # right, 0.8
        Ticket("t3", "refund", "", "technical"),  # wrong, 0.8
    ]

    # When it is evaluated
    evaluation = evaluate(two_class_model(), tickets)

    # Then accuracy is 2/3, the Brier score is (0.08 + 0.08 + 1.28) / 3, and ECE is |2/3 - 0.8|
    assert evaluation.accuracy == pytest.approx(2 / 3)
    assert evaluation.brier_score == pytest.approx((0.08 + 0.08 + 1.28) / 3)
    assert evaluation.expected_calibration_error == pytest.approx(abs(2 / 3 - 0.8))
    assert evaluation.confusion["technical"]["billing"] == 1
    assert evaluation.as_json()["brier_score"] == round(evaluation.brier_score, 4)


def test_a_label_the_model_never_learned_counts_as_wrong_with_probability_zero() -> None:
    # Given a ticket labelled with a category the model does not have
    tickets = [Ticket("t1", "refund", "", "sales")]

    # When evaluated
    evaluation = evaluate(two_class_model(), tickets)

    # Then it is wrong, and the Brier score counts the whole missing class: 0.8² + 0.2² + 1²
    assert evaluation.accuracy == 0
    assert evaluation.brier_score == pytest.approx(0.64 + 0.04 + 1.0)
    assert evaluation.recall == {"sales": 0.0}


def test_the_seeded_split_is_disjoint_repeatable_and_independent_of_the_order_read() -> None:
    # Given twenty tickets, read in two different orders
    tickets = [Ticket(f"t{n:02d}", "s", "b", "billing") for n in range(20)]

    # When split twice with the same seed, and once with another
    first = seeded_split(tickets, seed=19, test_share=0.25, validation_share=0.15)
    again = seeded_split(list(reversed(tickets)), seed=19, test_share=0.25, validation_share=0.15)
    other = seeded_split(tickets, seed=20, test_share=0.25, validation_share=0.15)

    # Then the same tickets land in the same splits, none twice, and the sizes follow the shares
    assert first == again
    assert first.sizes() == {"train": 12, "validation": 3, "test": 5}
    ids = [ticket.id for part in (first.train, first.validation, first.test) for ticket in part]
    assert sorted(ids) == sorted(ticket.id for ticket in tickets)
    assert [ticket.id for ticket in other.test] != [ticket.id for ticket in first.test]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "subject": "s", "body": "b"}', ":2: field 'label' is missing"),
        ('{"id": "a", "subject": "s", "body": "b", "label": 3}', ":2: field 'label' must be a non-empty string (found 3)"),
        ('{"id": "a", "subject": "", "body": "b", "label": "x"}', ":2: field 'subject' must be a non-empty string"),
        ('{"id": "a", "subject": "s", "body": "b", "label": "x"', ":2: not a JSON object (Expecting ',' delimiter"),
        ('["a"]', ":2: not a JSON object (found list)"),
        ('{"id": "t1", "subject": "s", "body": "b", "label": "x"}', ":2: field 'id': 't1' is already used on line 1"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    # Given a labelled set whose second line is wrong
    data = tmp_path / "mine.jsonl"
    data.write_text(json.dumps({"id": "t1", "subject": "s", "body": "b", "label": "x"}) + "\n" + line + "\n")

    # When it is read / Then the error is one line naming the file, the line and the field
    with pytest.raises(DatasetError) as raised:
        load_tickets(data)
    assert f"{data}{message}" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_shipped_set_is_declared_synthetic_and_a_team_s_own_set_is_not() -> None:
    # Given the shipped set and another path / When their notes are read / Then only the shipped one is synthetic
    assert data_note(SHIPPED_DATASET)["kind"] == "synthetic"
    assert "synthetic" in data_note(SHIPPED_DATASET)["note"]
    assert data_note(Path("mine.jsonl"))["kind"] == "provided"
