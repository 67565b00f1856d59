"""The `queues:` and `alarms:` manifest features: what the model and the catalog refuse."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from infra.errors import KeelConfigError
from infra.manifest import Manifest, MetricAlarm, Queues

ALARM: dict[str, Any] = {
    "name": "low-agreement",
    "description": "d",
    "function": "route_ticket",
    "metric": "AdvisorHumanAgreement",
    "statistic": "Average",
    "threshold": 0.8,
    "comparison": "less_than",
    "period_minutes": 60,
}


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ({"names": ["Billing"], "senders": ["f"]}, "lower-case"),
        ({"names": ["ab", "ab"], "senders": ["f"]}, "listed more than once"),
        ({"names": [], "senders": ["f"]}, "at least 1"),
        ({"names": ["billing"], "senders": []}, "at least 1"),
    ],
)
def test_bad_queue_declarations_are_refused(queues: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Queues.model_validate(queues)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"statistic": "Median"}, "String should match pattern"),
        ({"comparison": "below"}, "Input should be"),
        ({"period_minutes": 720, "evaluation_periods": 3}, "one day"),
        ({"metric": "has space"}, "String should match pattern"),
    ],
)
def test_bad_alarms_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MetricAlarm.model_validate({**ALARM, **changes})


def test_percentile_statistics_are_accepted() -> None:
    assert MetricAlarm.model_validate({**ALARM, "statistic": "p90"}).statistic == "p90"


def test_alarm_names_are_unique(temp_repo) -> None:
    data = temp_repo.manifest_data(alarms=[ALARM, ALARM])
    with pytest.raises(ValidationError, match="alarm names listed more than once"):
        Manifest.model_validate(data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"queues": {"names": ["billing"], "senders": ["nobody"]}}, "queues.senders.0"),
        ({"alarms": [{**ALARM, "function": "nobody"}]}, "alarms.0.function"),
        (
            {"queues": {"names": ["a" * 31], "senders": ["emit_heartbeat"]}, "name": "a_rather_long_automation_name_here"},
            "queues.names.0",
        ),
    ],
)
def test_the_catalog_names_the_field_of_a_bad_reference(temp_repo, changes: dict[str, Any], field: str) -> None:
    from infra.catalog import load_catalog
    from infra.config import load_environments

    temp_repo.add_automation(temp_repo.manifest_data(**changes))
    with pytest.raises(KeelConfigError, match=field.replace(".", r"\.")):
        load_catalog(temp_repo.root, load_environments(temp_repo.environments_path))
