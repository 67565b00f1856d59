"""Write every event contract's JSON schema and record the published versions in the lock.

    .venv/bin/python scripts/export_event_schemas.py

Writes schemas/<name>.v<major>.schema.json from the contract models (functions/shared/contracts/)
and records each version in schemas/contracts.lock.json. A change to a recorded version is recorded
only when it is additive; a breaking one is refused with the line synth prints, and the files are
left as they were: make it a new major version instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.shared.contracts import CONTRACTS  # noqa: E402
from infra.event_contracts import LOCK, SCHEMAS, compatibility_problem, json_schema, lock_entry, render  # noqa: E402


def export(root: Path) -> list[str]:
    """Write the schemas and the lock under root; returns the problems (nothing written when any)."""
    lock_path = root / LOCK
    recorded = json.loads(lock_path.read_text())["contracts"] if lock_path.is_file() else {}
    schemas = {contract: json_schema(contract) for contract in CONTRACTS}
    problems = []
    for contract, schema in schemas.items():
        problem = compatibility_problem(recorded[contract.key]["schema"], schema) if contract.key in recorded else None
        if problem is not None:
            problems.append(f"{SCHEMAS / contract.file_name}: {problem[0]}: {problem[1]}")
    if problems:
        return problems
    for contract, schema in schemas.items():
        (root / SCHEMAS / contract.file_name).write_text(render(schema))
    entries = {contract.key: lock_entry(schema) for contract, schema in schemas.items()}
    lock_path.write_text(json.dumps({"contracts": dict(sorted(entries.items()))}, indent=2, sort_keys=True) + "\n")
    return []


if __name__ == "__main__":
    found = export(ROOT)
    for line in found:
        print(line, file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"wrote {len(CONTRACTS)} schemas and {LOCK}")
