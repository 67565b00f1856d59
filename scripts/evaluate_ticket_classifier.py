"""Evaluate a ticket classifier model on a labelled set: accuracy and calibration.

    .venv/bin/python scripts/evaluate_ticket_classifier.py --model ticket-nb-1.0.0
    .venv/bin/python scripts/evaluate_ticket_classifier.py --model ticket-nb-1.0.0 --data my-tickets.jsonl --json

`--model` is a shipped model's name (functions/triage_ticket/models/<name>.json) or a model file's
path (one written by the training script, or fetched from the model store). `--data` is any labelled
set in the shipped format; on the shipped (synthetic) set only its held-out test split is used, since
the shipped models were trained on the rest; a set of your own is used whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.shared.ticket_model.naive_bayes import NaiveBayesModel  # noqa: E402
from keel.triage.training import SHIPPED_DATASET, DatasetError, data_note, evaluate, is_shipped, load_tickets, split  # noqa: E402

MODELS = ROOT / "functions" / "triage_ticket" / "models"


def load_model(name: str) -> NaiveBayesModel:
    path = Path(name) if name.endswith(".json") else MODELS / f"{name}.json"
    if not path.is_file():
        raise DatasetError(f"--model: no model file {path}")
    try:
        return NaiveBayesModel.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"--model: {path} is not a ticket model ({error})") from None


def main() -> int:
    parser = argparse.ArgumentParser(description="Evaluate a ticket classifier on a labelled set.")
    parser.add_argument("--model", required=True, help="a shipped model's name (ticket-nb-1.0.0) or a model file's path")
    parser.add_argument(
        "--data",
        type=Path,
        default=SHIPPED_DATASET,
        help="labelled JSON Lines (id, subject, body, label); default: the shipped synthetic set",
    )
    parser.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    args = parser.parse_args()
    try:
        model = load_model(args.model)
        tickets = load_tickets(args.data)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shipped = is_shipped(args.data)
    evaluated = split(tickets).test if shipped else tickets
    report = {
        "model": model.model_version,
        "data": str(args.data),
        "rows": "held-out test split" if shipped else "all",
        **data_note(args.data),
    }
    evaluation = evaluate(model, evaluated)
    report.update(evaluation.as_json())
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(f"model {report['model']} on {args.data} ({report['rows']}, {report['test_size']} tickets)")
    print(f"data: {report['note']}")
    print("\n".join(evaluation.described()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
