"""Event contracts at synth: schemas current and recorded, published versions changed only additively,
manifests that consume and emit them checked against the workflow and each other."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.shared.contracts import CONTRACTS
from infra.errors import KeelConfigError
from infra.event_contracts import LOCK, check_contracts

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(path for path in (ROOT / "events").glob("*/*.json") if "malformed" not in path.name)


def export_script() -> Any:
    spec = importlib.util.spec_from_file_location("export_event_schemas", ROOT / "scripts" / "export_event_schemas.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def edit_lock(root: Path, key: str, edit: Any) -> None:
    lock = json.loads((root / LOCK).read_text())
    edit(lock["contracts"][key]["schema"])
    lock["contracts"][key]["fingerprint"] = "sha256:published-before"
    (root / LOCK).write_text(json.dumps(lock))


def test_every_contract_is_generated_recorded_and_unchanged() -> None:
    # Given the repository / When its contracts are checked as synth checks them
    published = check_contracts(ROOT)

    # Then each contract's committed schema is what its models generate, recorded in the lock
    assert [p.contract.key for p in published] == [c.key for c in CONTRACTS]
    assert {"user_signed_up@1", "user_onboarded@1"} <= {p.contract.key for p in published}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_event_of_a_contract_honours_it(path: Path) -> None:
    # Given a sample event / When it is the event of a contract / Then it validates against it
    event = json.loads(path.read_text())
    for contract in CONTRACTS:
        if event.get("source") == contract.source and event.get("detail-type") == contract.detail_type:
            contract.event.model_validate(event)


def test_a_breaking_change_to_a_published_version_stops_synth_with_one_line(temp_repo) -> None:
    # Given a published user_signed_up v1 that allowed a "trial" plan, which the models no longer allow
    def allowed_trial(schema: dict[str, Any]) -> None:
        schema["$defs"]["UserSignedUp"]["properties"]["plan"]["enum"].append("trial")

    edit_lock(temp_repo.root, "user_signed_up@1", allowed_trial)

    # When synth loads the catalog
    with pytest.raises(KeelConfigError) as raised:
        temp_repo.load_catalog()

    # Then it names the schema, the field and what changed, on one line
    error = raised.value
    assert error.path == "schemas/user_signed_up.v1.schema.json"
    assert error.field == "detail.plan"
    assert 'enum narrowed: ["trial"] no longer allowed' in error.message
    assert "user_signed_up.v2.schema.json" in error.message
    assert "\n" not in str(error)


def test_a_removed_field_stops_synth_and_the_export_refuses_to_record_it(temp_repo) -> None:
    # Given a published user_onboarded v1 with a field the models have dropped
    def had_region(schema: dict[str, Any]) -> None:
        schema["$defs"]["UserOnboarded"]["properties"]["region"] = {"type": "string"}

    edit_lock(temp_repo.root, "user_onboarded@1", had_region)
    lock_before = (temp_repo.root / LOCK).read_text()

    # When synth loads the catalog, and when the export script is asked to record the change
    with pytest.raises(KeelConfigError, match=r"detail\.region: field removed") as raised:
        temp_repo.load_catalog()
    problems = export_script().export(temp_repo.root)

    # Then both name the field, and the lock is left as it was
    assert raised.value.path == "schemas/user_onboarded.v1.schema.json"
    assert problems == [f"schemas/user_onboarded.v1.schema.json: detail.region: {raised.value.message.split(' (user_')[0]}"]
    assert (temp_repo.root / LOCK).read_text() == lock_before


def test_an_additive_change_is_recorded_by_the_export_and_synth_passes(temp_repo) -> None:
    # Given a published user_signed_up v1 without the signed_up_at field's description (an older shape)
    def older(schema: dict[str, Any]) -> None:
        del schema["$defs"]["UserSignedUp"]["properties"]["signed_up_at"]["description"]
        schema["$defs"]["UserSignedUp"]["properties"]["plan"]["enum"].remove("enterprise")

    edit_lock(temp_repo.root, "user_signed_up@1", older)
    with pytest.raises(KeelConfigError, match="additive change is not recorded yet"):
        temp_repo.load_catalog()

    # When the export script records it
    assert export_script().export(temp_repo.root) == []

    # Then synth passes and the lock holds the current shape
    catalog = temp_repo.load_catalog()
    assert "user_signed_up@1" in {p.contract.key for p in catalog.contracts}


def test_a_schema_file_edited_by_hand_stops_synth(temp_repo) -> None:
    # Given a schema file that is not what its models generate
    path = temp_repo.root / "schemas" / "user_onboarded.v1.schema.json"
    path.write_text(path.read_text().replace('"followed_up"', '"followed_up_at"'))

    # When synth loads the catalog / Then it says to regenerate it
    with pytest.raises(KeelConfigError, match=r"run scripts/export_event_schemas\.py") as raised:
        temp_repo.load_catalog()
    assert raised.value.path == "schemas/user_onboarded.v1.schema.json"


def test_a_published_version_that_disappeared_stops_synth(temp_repo) -> None:
    # Given a lock that records a version no contract provides any more
    lock = json.loads((temp_repo.root / LOCK).read_text())
    lock["contracts"]["user_signed_up@0"] = lock["contracts"]["user_signed_up@1"]
    (temp_repo.root / LOCK).write_text(json.dumps(lock))

    # When synth loads the catalog / Then the missing version is named
    with pytest.raises(KeelConfigError, match="a published contract version is gone") as raised:
        temp_repo.load_catalog()
    assert raised.value.field == "contracts.user_signed_up@0"


def manifest(temp_repo, name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((temp_repo.root / "automations" / f"{name}.yaml").read_text())
    return data


@pytest.mark.parametrize(
    ("automation", "change", "field", "complaint"),
    [
        (
            "onboarding_audit",
            lambda m: m["trigger"].update(contract={"name": "user_onboarded", "major": 2}),
            "trigger.contract",
            "no contract user_onboarded@2",
        ),
        (
            "onboarding_audit",
            lambda m: m["trigger"]["event_pattern"].update(source=["keel.user_onboarding", "app.accounts"]),
            "trigger.event_pattern.source",
            "must be [keel.user_onboarding]",
        ),
        ("user_onboarding", lambda m: m.update(emits=[]), "emits", "puts 'User Onboarded' from keel.user_onboarding"),
        (
            "user_onboarding",
            lambda m: m.update(emits=[{"name": "user_onboarded", "major": 1}, {"name": "ticket_created", "major": 1}]),
            "emits[1]",
            "puts it",
        ),
        (
            "user_onboarding",
            lambda m: m["trigger"].update(bus="default"),
            "trigger.contract",
            "only an event_pattern on the keel bus",
        ),
    ],
    ids=["unknown-contract", "pattern-wider-than-contract", "put-not-emitted", "emitted-never-put", "default-bus"],
)
def test_a_manifest_that_misstates_its_contracts_stops_synth(temp_repo, automation, change, field, complaint) -> None:
    # Given a manifest whose contracts do not match its trigger or its workflow
    data = manifest(temp_repo, automation)
    change(data)
    path = temp_repo.write_manifest(data)

    # When synth loads the catalog / Then the field is named
    with pytest.raises(KeelConfigError) as raised:
        temp_repo.load_catalog()
    assert (raised.value.path, raised.value.field) == (str(path), field)
    assert complaint in raised.value.message


def test_a_consumer_of_a_keel_event_nobody_emits_stops_synth(temp_repo) -> None:
    # Given onboarding_audit still consuming User Onboarded, and its producer no longer emitting it
    producer = manifest(temp_repo, "user_onboarding")
    producer["emits"] = []
    producer["trigger"].pop("contract")
    temp_repo.write_manifest(producer)
    asl_path = temp_repo.root / "statemachines" / "user_onboarding.asl.json"
    definition = json.loads(asl_path.read_text())
    definition["States"]["EmitOnboarded"] = {"Type": "Pass", "ResultPath": None, "Next": "RecordOnboarded"}
    asl_path.write_text(json.dumps(definition))

    # When synth loads the catalog / Then the consumer is named
    with pytest.raises(KeelConfigError, match="no automation emits user_onboarded@1") as raised:
        temp_repo.load_catalog()
    assert raised.value.path == str(temp_repo.root / "automations" / "onboarding_audit.yaml")


@pytest.mark.parametrize(
    ("damage", "complaint"),
    [
        (lambda path: path.write_text('{"contracts": {,}}'), r"not valid JSON: .* at line 1"),
        (lambda path: path.unlink(), "cannot read the contracts lock: No such file or directory"),
    ],
    ids=["not-json", "missing"],
)
def test_a_contracts_lock_that_cannot_be_read_stops_synth_naming_it(temp_repo, damage, complaint) -> None:
    # Given a contracts lock that is damaged or gone
    damage(temp_repo.root / LOCK)

    # When synth loads the catalog / Then the lock is named, with what is wrong
    with pytest.raises(KeelConfigError, match=complaint) as raised:
        temp_repo.load_catalog()
    assert raised.value.path == str(LOCK)
    assert raised.value.field == "(document)"
