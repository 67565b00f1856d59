"""`keel schema`: the JSON schema of an automation manifest, generated from its pydantic model.

The model in infra/manifest.py is the one definition of a manifest; the schema is written from it
to schemas/automation-manifest.schema.json, so editors (the YAML language server reads the
`# yaml-language-server: $schema=...` line every manifest starts with) complete and check fields as
synth will. A test fails when the committed schema is not what the model generates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path("schemas") / "automation-manifest.schema.json"
# The first line of every manifest: relative to automations/, where manifests live.
MODELINE = f"# yaml-language-server: $schema=../{SCHEMA_PATH.as_posix()}"


def manifest_schema() -> dict[str, Any]:
    from infra.manifest import Manifest

    generated = Manifest.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Keel automation manifest",
        "description": "automations/<name>.yaml: generated from infra/manifest.py by `keel schema`; do not edit by hand.",
        **{key: value for key, value in generated.items() if key != "title"},
    }


def rendered() -> str:
    return json.dumps(manifest_schema(), indent=2, sort_keys=False) + "\n"


def write(root: Path) -> bool:
    """Write the schema under root; False when the file already held it."""
    path = root / SCHEMA_PATH
    text = rendered()
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def is_current(root: Path) -> bool:
    path = root / SCHEMA_PATH
    return path.is_file() and path.read_text() == rendered()
