"""`keel catalog --no-stacks`: the automations and how each is governed (no synth; the stacks' figures
are tested on the session's assembly in tests/local/test_catalog_stacks.py)."""

from __future__ import annotations

import json

import pytest

from keel.cli import main


def test_catalog_json_lists_every_automation_with_its_governance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--json", "--no-stacks"]) == 0
    rows = {row["automation"]: row for row in json.loads(capsys.readouterr().out)["automations"]}
    heartbeat = rows["platform_heartbeat"]
    assert (heartbeat["owner"], heartbeat["oncall"], heartbeat["trigger"]) == (
        "platform-team",
        "platform-oncall",
        "rate(5 minutes)",
    )
    # Keel's failure path records through the automation's own record_decision
    assert heartbeat["functions"] == "emit_heartbeat, record_decision"


def test_catalog_table_has_a_header_and_a_row_per_automation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--no-stacks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["AUTOMATION", "VERSION", "OWNER"]
    assert any(line.startswith("platform_heartbeat ") for line in lines[1:])


def test_a_bad_repository_is_one_line_and_exit_1(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "catalog"]) == 1
    assert "keel: invalid configuration:" in capsys.readouterr().err
