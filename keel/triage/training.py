"""Train and evaluate the ticket classifier from a labelled JSON Lines file (the scripts' side).

The model and its training are in functions/shared/ticket_model (the retraining Lambda uses them
too); this module reads and validates a data set, one ticket per line:

    {"id": "bil-0078", "subject": "...", "body": "...", "label": "billing"}

The shipped set (datasets/ticket_triage/tickets.jsonl) is synthetic: scripts/generate_ticket_dataset.py
writes it from templates with a fixed seed. Figures measured on it say how well the model learned the
generator, not how it does on a team's real tickets: train and evaluate on your own with `--data`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.shared.ticket_model.training import (
    Evaluation,
    Splits,
    Ticket,
    evaluate,
    expected_calibration_error,
    fit,
    fit_temperature,
    split,
    train_model,
)

__all__ = [
    "SHIPPED_DATASET",
    "DatasetError",
    "Evaluation",
    "Splits",
    "Ticket",
    "TrainingResult",
    "data_note",
    "dataset_digest",
    "evaluate",
    "expected_calibration_error",
    "fit",
    "fit_temperature",
    "load_tickets",
    "split",
    "train",
]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DATASET = ROOT / "datasets" / "ticket_triage" / "tickets.jsonl"
FIELDS = ("id", "subject", "body", "label")
SYNTHETIC_NOTE = (
    "synthetic data (scripts/generate_ticket_dataset.py, seeded templates): the figures say how well the "
    "model learned the generator, not how it does on real tickets"
)


class DatasetError(ValueError):
    """A labelled data set that cannot be read: the message names the file, the line and the field."""


def load_tickets(path: Path) -> list[Ticket]:
    """Every ticket of a JSON Lines file; the first bad line raises DatasetError naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot be read ({error})") from error
    tickets: list[Ticket] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        ticket = _ticket(f"{path}:{number}", line)
        if ticket.id in first_line_of:
            raise DatasetError(f"{path}:{number}: field 'id': {ticket.id!r} is already used on line {first_line_of[ticket.id]}")
        first_line_of[ticket.id] = number
        tickets.append(ticket)
    if not tickets:
        raise DatasetError(f"{path}: no tickets (one JSON object per line: {', '.join(FIELDS)})")
    return tickets


def _ticket(where: str, line: str) -> Ticket:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise DatasetError(f"{where}: not a JSON object ({error.msg} at column {error.colno})") from None
    if not isinstance(item, dict):
        raise DatasetError(f"{where}: not a JSON object (found {type(item).__name__})")
    for field in FIELDS:
        if field not in item:
            raise DatasetError(f"{where}: field '{field}' is missing")
        if not isinstance(item[field], str) or not item[field].strip():
            raise DatasetError(f"{where}: field '{field}' must be a non-empty string (found {json.dumps(item[field])[:40]})")
    return Ticket(id=item["id"], subject=item["subject"], body=item["body"], label=item["label"])


def dataset_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def is_shipped(path: Path) -> bool:
    return path.resolve() == SHIPPED_DATASET.resolve()


def data_note(path: Path) -> dict[str, str]:
    """What the figures were measured on: the model file and every report carry it."""
    if is_shipped(path):
        return {"kind": "synthetic", "note": SYNTHETIC_NOTE}
    return {"kind": "provided", "note": f"the labelled set {path.name}, as provided (not checked beyond its format)"}


@dataclass(frozen=True)
class TrainingResult:
    model: dict[str, Any]
    evaluation: Evaluation
    splits: Splits


def train(dataset: Path, *, name: str, version: str, bigrams: bool) -> TrainingResult:
    tickets = load_tickets(dataset)
    splits = split(tickets)
    for part, members in (("train", splits.train), ("validation", splits.validation), ("test", splits.test)):
        if not members:
            raise DatasetError(f"{dataset}: too few tickets ({len(tickets)}): the {part} split is empty")
    model, evaluation = train_model(splits, name=name, version=version, bigrams=bigrams)
    model["trained"] = {
        "dataset": dataset.name,
        "dataset_digest": dataset_digest(dataset),
        "train_size": len(splits.train),
        "validation_size": len(splits.validation),
        "vocabulary": len(model["log_likelihood"]),
    }
    model["data"] = data_note(dataset)
    return TrainingResult(model=model, evaluation=evaluation, splits=splits)
