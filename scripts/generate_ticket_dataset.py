"""Generate the labelled support-ticket set used to train and evaluate the ticket classifier.

The tickets are synthetic (keel/triage/synthetic_tickets.py: hand-written phrases combined by a seeded
generator). The output is committed (datasets/ticket_triage/tickets.jsonl) so training is
reproducible without running this script; rerun it only to change the data on purpose.

    .venv/bin/python scripts/generate_ticket_dataset.py            # rewrites the dataset
    .venv/bin/python scripts/generate_ticket_dataset.py --shift new-product-launch --output /tmp/shifted.jsonl

--shift writes a set whose mix has moved (other category proportions, new vocabulary), from its own
seed, in the same format: what the advisor drift watch is meant to notice.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keel.triage.synthetic_tickets import PER_CATEGORY, SEED, SHIFTS, generate  # noqa: E402

OUTPUT = ROOT / "datasets" / "ticket_triage" / "tickets.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="where to write (default: the committed dataset)")
    parser.add_argument("--shift", choices=sorted(SHIFTS), help="; ".join(f"{s.name}: {s.description}" for s in SHIFTS.values()))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--per-category", type=int, default=PER_CATEGORY, help="tickets per category (a shift splits as many)")
    args = parser.parse_args()
    if args.shift and args.output is None:
        parser.error("--shift needs --output: the committed dataset is the unshifted training set")
    if args.per_category < 1:
        parser.error(f"--per-category must be at least 1, not {args.per_category}")
    tickets = generate(args.seed, args.per_category, SHIFTS[args.shift] if args.shift else None)
    output = args.output or OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in tickets))
    print(f"wrote {len(tickets)} tickets to {output}")


if __name__ == "__main__":
    main()
