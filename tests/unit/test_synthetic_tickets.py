"""keel/triage/synthetic_tickets.py: the committed set is the seeded generator's, and a shift really shifts.

The figures are the shipped (live) model's on synthetic tickets: they show the shift moves what the
model sees, not how the model would fare on a real helpdesk's tickets.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

from functions.triage_ticket.advisors import load_model
from functions.triage_ticket.classifier import tokens
from functions.triage_ticket.policy import load_policy
from keel.triage.synthetic_tickets import LAUNCH_ISSUES, LAUNCH_SUBJECTS, NEW_PRODUCT_LAUNCH, generate

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "datasets" / "ticket_triage" / "tickets.jsonl"


def live_model():  # type: ignore[no-untyped-def]
    return load_model(load_policy().advisors.live.model)  # type: ignore[union-attr]


def test_the_committed_dataset_is_what_the_seeded_generator_writes() -> None:
    # Given the committed training set / When the generator runs with its defaults
    committed = [json.loads(line) for line in DATASET.read_text().splitlines()]

    # Then it writes exactly the same tickets
    assert generate() == committed


def test_a_shift_is_seeded_and_moves_the_category_proportions() -> None:
    # Given the same arguments twice, and the unshifted set
    shifted = generate(seed=7, per_category=40, shift=NEW_PRODUCT_LAUNCH)
    again = generate(seed=7, per_category=40, shift=NEW_PRODUCT_LAUNCH)
    plain = generate(seed=7, per_category=40)

    # Then the shift is reproducible, its proportions are the shift's, and the plain set's are even
    assert shifted == again
    counts = Counter(ticket["label"] for ticket in shifted)
    assert {label: round(count / len(shifted), 2) for label, count in counts.items()} == NEW_PRODUCT_LAUNCH.shares
    assert set(Counter(ticket["label"] for ticket in plain).values()) == {40}
    assert not {ticket["id"] for ticket in shifted} & {ticket["id"] for ticket in generate()}


def test_the_launch_vocabulary_is_new_to_the_live_model() -> None:
    # Given the words of the launch phrases (slots aside) and the live model's vocabulary
    phrases = [text for texts in [*LAUNCH_ISSUES.values(), *LAUNCH_SUBJECTS.values()] for text in texts]
    launch_words = {word for text in phrases for word in tokens(text) if not word.startswith("{")}
    known = set(live_model().log_likelihood)

    # Then most of them are words the model never saw
    assert len(launch_words - known) / len(launch_words) > 0.8


def test_the_live_model_is_less_sure_and_less_right_on_shifted_tickets() -> None:
    # Given 200 unshifted and 200 shifted tickets (another seed than the training set's)
    model = live_model()

    def measure(tickets: list[dict[str, str]]) -> tuple[float, float]:
        predictions = [model.predict(f"{t['subject']}\n{t['body']}") for t in tickets]
        accuracy = sum(p.label == t["label"] for p, t in zip(predictions, tickets, strict=True)) / len(tickets)
        return accuracy, statistics.mean(p.confidence for p in predictions)

    # When the live model advises on both
    plain_accuracy, plain_confidence = measure(generate(seed=7, per_category=40))
    shifted_accuracy, shifted_confidence = measure(generate(seed=7, per_category=40, shift=NEW_PRODUCT_LAUNCH))

    # Then (measured: accuracy 0.895 -> 0.63, mean confidence 0.92 -> 0.47) both fall well
    assert plain_accuracy - shifted_accuracy > 0.15
    assert plain_confidence - shifted_confidence > 0.3
