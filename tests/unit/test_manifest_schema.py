"""The manifest's JSON schema: generated from the model, committed current, named by every manifest."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from infra.config import load_environments
from keel.cli import main
from keel.manifest_schema import MODELINE, SCHEMA_PATH, rendered
from keel.scaffold.generate import new_automation, new_automation_like

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "automations").glob("*.yaml"))


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((ROOT / SCHEMA_PATH).read_text())
    return loaded


def test_the_committed_schema_is_what_the_model_generates() -> None:
    # Given the committed schema / When the model's is generated / Then they are the same (else: run `keel schema`)
    assert (ROOT / SCHEMA_PATH).read_text() == rendered()


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.stem)
def test_every_manifest_names_the_schema_and_passes_it(path: Path) -> None:
    # Given a manifest of the catalog
    text = path.read_text()

    # Then its first line points editors at the schema, and the schema accepts it
    assert text.splitlines()[0] == MODELINE
    jsonschema.validate(yaml.safe_load(text), schema())


def test_the_schema_refuses_what_synth_refuses() -> None:
    # Given a valid manifest with a misspelt field and a version that is not semantic
    manifest = yaml.safe_load(MANIFESTS[0].read_text())
    manifest["ownr"] = manifest.pop("owner")
    manifest["version"] = "1.0"

    # When an editor checks it against the schema / Then both are errors
    errors = sorted(error.message for error in jsonschema.Draft202012Validator(schema()).iter_errors(manifest))
    assert any("'owner' is a required property" in error for error in errors), errors
    assert any("'ownr' was unexpected" in error for error in errors), errors
    assert any("'1.0' does not match" in error for error in errors), errors


def test_what_keel_new_writes_names_the_schema(tmp_path: Path) -> None:
    # Given the repository's environments
    environments = load_environments(ROOT / "config" / "environments.yaml")

    # When `keel new automation` writes an automation, from scratch and like an existing one
    fresh = new_automation(tmp_path, "disk_cleanup", environments, None, None)
    like = new_automation_like(ROOT, "orders_triage", "ticket_triage", None, None)

    # Then both manifests start with the schema line
    for files in (fresh, like):
        [manifest] = [text for path, text in files.contents.items() if path.parts[0] == "automations"]
        assert manifest.splitlines()[0] == MODELINE


def test_keel_schema_check_fails_on_a_stale_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a repository whose schema is out of date
    (tmp_path / SCHEMA_PATH).parent.mkdir(parents=True)
    (tmp_path / SCHEMA_PATH).write_text("{}\n")

    # When it is checked, then rewritten, then checked again
    stale = main(["schema", "--check", "--root", str(tmp_path)])
    told = capsys.readouterr().err
    written = main(["schema", "--root", str(tmp_path)])
    current = main(["schema", "--check", "--root", str(tmp_path)])

    # Then the check fails with the command that fixes it, and passes once it ran
    assert (stale, written, current) == (1, 0, 0)
    assert "run `keel schema`" in told
    assert (tmp_path / SCHEMA_PATH).read_text() == rendered()
