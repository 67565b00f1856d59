"""keel ops' pure helpers: durations, percentiles, redrive names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keel.ops.cli import parse_since
from keel.ops.executions import check_status, percentile
from keel.ops.redrive import execution_name
from keel.ops.session import OpsError, OpsSession

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("6h", NOW - timedelta(hours=6)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-11-20T08:00:00+00:00", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("2026-11-20T08:00:00", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        (None, None),
    ],
)
def test_since_accepts_durations_and_iso_times(text: str | None, expected: datetime | None) -> None:
    assert parse_since(text, now=NOW) == expected


def test_since_rejects_anything_else_with_the_accepted_forms() -> None:
    with pytest.raises(OpsError, match=r"neither a duration \(30m, 6h, 7d\) nor an ISO time"):
        parse_since("last tuesday", now=NOW)


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([], 50, None), ([1.0], 90, 1.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([float(n) for n in range(1, 11)], 90, 9.0)],
)
def test_nearest_rank_percentile(values: list[float], pct: float, expected: float | None) -> None:
    assert percentile(values, pct) == expected


def test_status_filter_is_checked_and_normalised() -> None:
    assert check_status("failed") == "FAILED"
    assert check_status(None) is None
    with pytest.raises(OpsError, match="unknown status 'broken'"):
        check_status("broken")


def test_redrive_execution_names_are_valid_and_stable() -> None:
    assert execution_name("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa") == "redrive-53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"
    assert execution_name("a b/c") == "redrive-a-b-c"
    assert len(execution_name("x" * 200)) == 80


def test_local_endpoints_never_get_the_operators_credentials() -> None:
    assert OpsSession("dev", "eu-west-1", "http://127.0.0.1:4566").is_local
    assert not OpsSession("dev", "eu-west-1", "https://states.eu-west-1.amazonaws.com").is_local
    assert not OpsSession("dev", "eu-west-1").is_local


def test_an_override_of_an_unknown_runbook_is_refused_before_anything_is_stored() -> None:
    # Given an operator who misspells a runbook id (an override that would stop nothing)
    from keel.ops.overrides import change

    session = OpsSession(environment="dev", region="eu-west-1", endpoint_url="http://127.0.0.1:9")

    # When they disable it / Then it is refused with the runbooks there are, before any AWS call
    with pytest.raises(OpsError, match=r"unknown runbook 'ecs-5xx-restrat' \(runbooks: .*ecs-5xx-restart"):
        change(session, "alarm_remediation", "ecs-5xx-restrat", disabled=True, reason="migration")


def test_an_unknown_environment_is_refused_even_with_a_region(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the repository's environment table / When an operator names an environment it does not have
    from pathlib import Path

    from infra.config import load_environments
    from keel.cli import main

    root = str(Path(__file__).resolve().parents[2])
    code = main(["ops", "pending", "--env", "qa", "--region", "eu-west-1", "--root", root])

    # Then nothing is asked of AWS: exit 1, with the environments there are
    assert code == 1
    known = ", ".join(sorted(load_environments(Path(root) / "config" / "environments.yaml").environments))
    assert f"unknown environment 'qa' (known: {known})" in capsys.readouterr().err
