"""`keel new automation` and `keel new module` write code that passes the project's checks and runs
on the local cloud as written, in a copy of the repository (the checkout itself is never touched)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from keel.cli import main
from tests.local.conftest import ROOT

# What a checkout needs to synthesize, lint, type-check and test itself.
COPIED = (
    "app.py",
    "cdk.json",
    "pyproject.toml",
    "automations",
    "statemachines",
    "functions",
    "config",
    "apis",
    "schemas",
    "events",
    "infra",
    "keel",
)
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    # The tests' own support code and fixtures, not the suite: only the generated tests run there.
    shutil.copytree(ROOT / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__", "test_*.py"))
    return root


def keel(checkout: Path, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["--root", str(checkout), *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def in_checkout(checkout: Path, *command: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PYTHONPATH": str(checkout), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return subprocess.run(command, cwd=checkout, env=environment, capture_output=True, text=True, timeout=timeout, check=False)


README = ROOT / "README.md"
# The README's first-automation commands, as this test runs them.
README_NEW = ".venv/bin/keel new automation disk_cleanup --owner storage-team"
README_RUN = ".venv/bin/keel local run --synth events/disk_cleanup/"


def test_the_readme_shows_the_commands_this_test_runs() -> None:
    commands = [line.split("#")[0].strip() for line in README.read_text().splitlines()]
    assert README_NEW in commands
    assert README_RUN in commands


def test_the_readme_shows_the_handler_and_the_test_keel_new_writes(checkout: Path) -> None:
    from keel.scaffold.generate import new_module

    written = new_module(checkout / "nowhere", "disk_cleanup").contents
    handler, test = written[Path("functions/disk_cleanup/handler.py")], written[Path("tests/unit/test_disk_cleanup_logic.py")]
    blocks = [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)]
    assert any(block in handler and "def lambda_handler" in block for block in blocks)
    assert any(block in test and "decide(task(severity=" in block for block in blocks)


def test_a_new_automation_and_module_pass_the_checks_and_run_locally(checkout: Path, capsys) -> None:
    # Given an author who writes a new automation (as the README says), one like an existing automation, and a module
    code, out, _ = keel(checkout, capsys, *README_NEW.split()[1:])
    assert code == 0
    assert "wrote functions/disk_cleanup/logic.py" in out
    assert "keel local run --synth events/disk_cleanup/" in out
    assert keel(checkout, capsys, "new", "automation", "orders_triage", "--like", "ticket_triage")[0] == 0
    assert keel(checkout, capsys, "new", "module", "free_disk_space")[0] == 0
    written = [
        "functions/disk_cleanup",
        "functions/free_disk_space",
        "tests/unit/test_disk_cleanup_logic.py",
        "tests/unit/test_free_disk_space_logic.py",
        "tests/local/test_disk_cleanup_end_to_end.py",
        "tests/local/test_orders_triage_end_to_end.py",
    ]

    # Then what was written passes lint, formatting and strict typing as the project runs them
    for check in (["ruff", "check", *written], ["ruff", "format", "--check", *written], ["mypy", *written[:2]]):
        result = in_checkout(checkout, str(VENV_BIN / check[0]), *check[1:])
        assert result.returncode == 0, result.stdout + result.stderr

    # And its tests pass (the end-to-end ones synthesize the checkout, new automations included)
    tests = in_checkout(checkout, sys.executable, "-m", "pytest", "--no-cov", "-p", "no:cacheprovider", *written[2:])
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]

    # And `keel local run` runs its sample events: one planned (the owner told), one skipped
    run = in_checkout(checkout, sys.executable, "-m", "keel", *README_RUN.split()[1:], "--json")
    assert run.returncode == 0, run.stderr
    executions = json.loads(run.stdout)["executions"]
    assert [(execution["status"], execution["output"]["outcome"]) for execution in executions] == [
        ("SUCCEEDED", "planned"),
        ("SUCCEEDED", "skipped"),
    ]


def test_a_like_automation_shares_the_workflow_and_replaces_the_governance(checkout: Path, capsys) -> None:
    assert (
        keel(
            checkout, capsys, "new", "automation", "reports_remediation", "--like", "alarm_remediation", "--owner", "reports-team"
        )[0]
        == 0
    )

    manifest = yaml.safe_load((checkout / "automations" / "reports_remediation.yaml").read_text())
    assert (manifest["name"], manifest["owner"], manifest["version"]) == ("reports_remediation", "reports-team", "0.1.0")
    assert manifest["workflow"]["definition"] == "remediation.asl.json"
    assert not (checkout / "statemachines" / "reports_remediation.asl.json").exists()
    assert (checkout / "events" / "reports_remediation" / "world.yaml").is_file()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("automation", "Disk-Cleanup"), "'Disk-Cleanup' is not a valid automation name"),
        (("automation", "class"), "'class' is not a valid automation name"),
        (("module", "record_decision"), "functions/record_decision already exists; nothing was written"),
        (
            ("automation", "x_copy", "--like", "nothing_here"),
            "no automation 'nothing_here' to start from (known: ",
        ),
        (("automation", "beat_copy", "--like", "platform_heartbeat"), "platform_heartbeat runs on a schedule only"),
        (("automation", "ticket_triage"), "automations/ticket_triage.yaml already exists; nothing was written"),
    ],
)
def test_what_cannot_be_written_is_one_line_and_nothing_is_written(
    checkout: Path, capsys, arguments: tuple[str, ...], message: str
) -> None:
    before = sorted(path.relative_to(checkout) for path in checkout.rglob("*"))

    code, out, err = keel(checkout, capsys, "new", *arguments)

    assert (code, out) == (2, "")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(path.relative_to(checkout) for path in checkout.rglob("*")) == before
