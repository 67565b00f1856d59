"""Each mistake in a manifest, an event pattern, an ASL file or a function.yaml: one line from `keel synth`, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.app_builder import ROOT


def _pattern(temp_repo, pattern: dict[str, Any]) -> Path:
    return temp_repo.add_automation(temp_repo.manifest_data(trigger={"bus": "keel", "event_pattern": pattern}))


def number_as_prefix(temp_repo) -> tuple[Path, str]:
    path = _pattern(temp_repo, {"source": [{"prefix": 123}]})
    return path, "trigger.event_pattern.source.0.prefix: takes a string or {equals-ignore-case: <string>}, got 123 (a number)"


def misspelt_matcher(temp_repo) -> tuple[Path, str]:
    path = _pattern(temp_repo, {"source": ["keel.test"], "detail": {"state": {"value": [{"wildcrd": "AL*"}]}}})
    return path, (
        "trigger.event_pattern.detail.state.value.0: unknown matcher 'wildcrd' (matchers: prefix, suffix, "
        "equals-ignore-case, wildcard, anything-but, numeric, exists, cidr); did you mean 'wildcard'?"
    )


def wrong_jitter(temp_repo) -> tuple[Path, str]:
    definition = temp_repo.asl_data()
    definition["States"]["Beat"]["Retry"] = [{"ErrorEquals": ["TransientError"], "JitterStrategy": "RANDOM"}]
    temp_repo.add_automation(asl=definition)
    return temp_repo.root / "statemachines" / "sample_automation.asl.json", (
        '(definition): State Machine.States.Beat.Retry[0].JitterStrategy is "RANDOM", not one of the allowed values '
        '["FULL", "NONE"]'
    )


def misspelt_substitution(temp_repo) -> tuple[Path, str]:
    definition = temp_repo.asl_data()
    definition["States"]["Beat"]["Next"] = "Announce"
    del definition["States"]["Beat"]["End"]
    definition["States"]["Announce"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {
            "Entries": [{"EventBusName": "${KeelEventsBus}", "Source": "keel.test", "DetailType": "X", "Detail.$": "$"}]
        },
        "End": True,
    }
    path = temp_repo.add_automation(asl=definition)
    return path, (
        "functions: statemachines/sample_automation.asl.json references ${KeelEventsBus}, which neither the platform nor "
        "a function of this automation provides; did you mean ${KeelEventBus}? (platform: KeelApprovalsTable, "
        "KeelEscalationTopic, KeelEventBus, KeelIdempotencyTable, KeelOncallTopic; "
        "functions: emit_heartbeat, record_decision)"
    )


def unbounded_bucket(temp_repo) -> tuple[Path, str]:
    module = temp_repo.root / "functions" / "read_exports"
    module.mkdir()
    (module / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    spec = {
        "description": "Reads exports.",
        "memory_mb": 256,
        "timeout_seconds": 30,
        "permissions": [
            {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::exports/*"], "reason": "Reads the exports it was asked for"}
        ],
    }
    (module / "function.yaml").write_text(yaml.safe_dump(spec))
    return module / "function.yaml", (
        "permissions.0.resources: 'arn:aws:s3:::exports/*' contains a wildcard: bound it with `conditions` "
        "(e.g. aws:ResourceTag/..., s3:ExistingObjectTag/...) or name the resources (S3 objects: a named bucket and "
        "folder, bucket/prefix/*)"
    )


MISTAKES: dict[str, Callable[[Any], tuple[Path, str]]] = {
    "pattern-number-as-prefix": number_as_prefix,
    "pattern-misspelt-matcher": misspelt_matcher,
    "asl-wrong-jitter": wrong_jitter,
    "asl-misspelt-substitution": misspelt_substitution,
    "function-unbounded-bucket": unbounded_bucket,
}


def _environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("COV_", "PYTEST_"))}


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_keel_synth_prints_one_line_naming_the_file_and_the_field(temp_repo, mistake) -> None:
    # Given a repository with one mistake
    path, problem = mistake(temp_repo)

    # When `keel synth` runs on it, as `make synth` does
    result = subprocess.run(
        [sys.executable, "-m", "keel", "synth", "--root", str(temp_repo.root), "--outdir", str(temp_repo.outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=_environ(),
        check=False,
    )

    # Then it exits 1 with exactly one line naming the file and the field, and synthesizes nothing
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [f"keel: invalid configuration: {path}: {problem}"]
    assert result.stdout == ""
    assert not temp_repo.outdir.exists()


def test_app_py_prints_one_line_for_a_bad_event_pattern(temp_repo) -> None:
    # Given the repository beside a copy of app.py and infra/, with a number where a prefix string belongs
    shutil.copy2(ROOT / "app.py", temp_repo.root / "app.py")
    shutil.copytree(ROOT / "infra", temp_repo.root / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    path, problem = number_as_prefix(temp_repo)

    # When `python app.py` runs there (the CDK CLI's entry point)
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=temp_repo.root,
        capture_output=True,
        text=True,
        timeout=180,
        env={**_environ(), "CDK_OUTDIR": str(temp_repo.outdir)},
        check=False,
    )

    # Then one line, no traceback
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [f"keel: invalid configuration: {path}: {problem}"]
