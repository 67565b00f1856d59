"""`slo.anomaly` in the manifest model: its defaults, and what it refuses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from infra.manifest import Anomaly, Slo

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SLO: dict[str, Any] = {"success_rate_percent": 99.0, "p90_duration_seconds": 120}


def test_the_defaults_watch_both_metrics_hourly_with_a_band_of_two_standard_deviations() -> None:
    anomaly = Slo.model_validate({**SLO, "anomaly": {}}).anomaly

    assert anomaly == Anomaly(band_width=2.0, metrics=["duration", "failure_rate"], period_minutes=60, evaluation_periods=1)


def test_without_it_there_is_no_anomaly_alarm() -> None:
    assert Slo.model_validate(SLO).anomaly is None


@pytest.mark.parametrize(
    ("anomaly", "message"),
    [
        ({"band_width": 0.2}, "greater than or equal to 0.5"),
        ({"band_width": 11}, "less than or equal to 10"),
        ({"metrics": []}, "at least 1"),
        ({"metrics": ["duration", "duration"]}, "listed more than once: duration"),
        ({"metrics": ["latency"]}, "'duration' or 'failure_rate'"),
        ({"period_minutes": 0}, "greater than or equal to 1"),
        ({"period_minutes": 720, "evaluation_periods": 3}, "one day"),
        ({"evaluation_periods": 0}, "greater than or equal to 1"),
        ({"threshold": 3}, "Extra inputs are not permitted"),
    ],
)
def test_bad_anomaly_settings_are_refused(anomaly: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Slo.model_validate({**SLO, "anomaly": anomaly})


def test_the_readme_example_is_what_alarm_remediation_declares() -> None:
    # Given the README's slo.anomaly example
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (example,) = [block for block in blocks if block.startswith("slo:\n") and "anomaly:" in block]

    # When it is validated, Then it is a valid SLO, the one the catalog's alarm_remediation declares
    slo = Slo.model_validate(yaml.safe_load(example)["slo"])
    declared = yaml.safe_load((ROOT / "automations" / "alarm_remediation.yaml").read_text())["slo"]
    assert slo == Slo.model_validate(declared)
