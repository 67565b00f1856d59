"""Train the ticket classifier and write its versioned model file and evaluation report.

    .venv/bin/python scripts/train_ticket_classifier.py --version 1.0.0
    .venv/bin/python scripts/train_ticket_classifier.py --version 1.1.0 --bigrams   # the shadow candidate
    .venv/bin/python scripts/train_ticket_classifier.py --version 2.0.0 --data my-tickets.jsonl

Writes functions/triage_ticket/models/ticket-nb-<version>.json (what the function loads) and prints
the held-out evaluation: accuracy, expected calibration error, Brier score, per-class recall.
`--data` takes any labelled set in the shipped format (one JSON object per line: id, subject, body,
label); the shipped set is synthetic, and the report and the model file say so.
A version that already exists is not overwritten (a model version names one model forever).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keel.triage.training import SHIPPED_DATASET, DatasetError, train  # noqa: E402

MODELS = ROOT / "functions" / "triage_ticket" / "models"


def main() -> int:
    parser = argparse.ArgumentParser(description="Train the ticket classifier (naive Bayes).")
    parser.add_argument("--version", required=True, help="semantic version of the new model, e.g. 1.0.0")
    parser.add_argument("--bigrams", action="store_true", help="use word pairs as features too")
    parser.add_argument(
        "--data",
        type=Path,
        default=SHIPPED_DATASET,
        help="labelled JSON Lines (id, subject, body, label); default: the shipped synthetic set",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing model version")
    parser.add_argument("--models", type=Path, default=MODELS, help=f"where model files go (default: {MODELS.relative_to(ROOT)})")
    args = parser.parse_args()
    target = args.models / f"ticket-nb-{args.version}.json"
    if target.exists() and not args.force:
        print(f"{target} exists: a model version names one model forever (use a new version or --force)", file=sys.stderr)
        return 1
    try:
        result = train(args.data, name="ticket-nb", version=args.version, bigrams=args.bigrams)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    target.write_text(json.dumps(result.model, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"model {target} ({target.stat().st_size // 1024} KiB, temperature {result.model['temperature']})")
    print(f"data: {args.data} ({result.model['data']['note']})")
    print(f"splits: train {len(result.splits.train)}, validation {len(result.splits.validation)}, test {len(result.splits.test)}")
    print("\n".join(["held-out:", *result.evaluation.described()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
