"""Write the JSON schema of the "Ticket Created" event from its pydantic contract.

    .venv/bin/python scripts/export_ticket_schema.py

tests/unit/test_triage_contract.py fails when schemas/ticket_created.v1.schema.json differs from
what this writes, so the published schema never drifts from the model the function validates with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.triage_ticket.contract import json_schema  # noqa: E402

SCHEMA = ROOT / "schemas" / "ticket_created.v1.schema.json"


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA.write_text(render())
    print(f"wrote {SCHEMA.relative_to(ROOT)}")
