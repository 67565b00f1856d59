"""`slo.anomaly` end to end in the local cloud: alarm_remediation's anomaly detection alarms learn its
executions' past (keel/local/alarm_anomaly.py, a rolling baseline), stay quiet while the workflow runs as
it always did, and page platform-oncall, naming the expected band and the value, when it becomes 40%
slower or starts failing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud, Page
from keel.local.eventbridge import load_event_file
from keel.local.faults import FaultPlan, FunctionFault, Slowdown
from keel.local.template import EnvironmentTemplate
from keel.local.world import apply_worlds, template_variables, worlds_for

ROOT = Path(__file__).resolve().parents[2]
REDRIVE = ROOT / "events" / "alarm_remediation" / "orders-dlq-redrive.json"
DURATION = "keel-dev-alarm_remediation-anomaly-duration"
FAILURE_RATE = "keel-dev-alarm_remediation-anomaly-failure-rate"
HOUR = 3600
# The baseline the model needs (alarm_anomaly.MIN_TRAINING_POINTS), and one more normal hour.
NORMAL_HOURS = 6


@contextmanager
def remediation_cloud(template: EnvironmentTemplate, faults: FaultPlan) -> Iterator[LocalCloud]:
    with LocalCloud(template, faults=faults) as cloud:
        apply_worlds(worlds_for([REDRIVE]), cloud.client, template_variables(template.account, template.region))
        yield cloud


def one_hour(cloud: LocalCloud) -> str:
    """The DLQ alarm fires once more (a new event), the remediation runs to its end, an hour passes."""
    before = set(cloud.execution_arns())
    cloud.deliver({**load_event_file(REDRIVE).event, "id": str(uuid.uuid4())})
    cloud.drive()
    cloud.clock.advance(HOUR)
    (started,) = [arn for arn in cloud.execution_arns() if arn not in before and ":keel-dev-alarm_remediation:" in arn]
    return started


def seconds_taken(cloud: LocalCloud, execution: str) -> float:
    described = cloud.client("stepfunctions").describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED", described
    return float((described["stopDate"] - described["startDate"]).total_seconds())


def state(cloud: LocalCloud, alarm: str) -> str:
    return str(cloud.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"])


def pages_of(cloud: LocalCloud, alarm: str) -> list[Page]:
    return [page for page in cloud.pages() if page.subject and f'"{alarm}"' in page.subject]


def message(page: Page) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(page.message)
    return loaded


def test_a_remediation_forty_percent_slower_pages_its_owner_with_the_band_and_the_value(dev_template) -> None:
    # Given alarm_remediation's anomaly alarms trained on six hours of redrives that ran as they always do
    slowdown = Slowdown("remediate_service", seconds=0.0)
    with remediation_cloud(dev_template, FaultPlan(slowdowns=[slowdown])) as cloud:
        durations = [seconds_taken(cloud, one_hour(cloud)) for _ in range(NORMAL_HOURS)]

        # When one more hour runs the same workload
        seconds_taken(cloud, one_hour(cloud))

        # Then nothing pages: the duration is within its band
        assert pages_of(cloud, DURATION) == []
        assert state(cloud, DURATION) == "OK"

        # When the workflow becomes 40% slower (its action takes 40% of a usual run longer)
        usual = sum(durations) / len(durations)
        slowdown.seconds = round(0.4 * usual, 1)
        slow = seconds_taken(cloud, one_hour(cloud))

        # Then the anomaly alarm pages platform-oncall, with the band it expected and the value it saw
        assert slow >= 1.39 * usual
        (page,) = pages_of(cloud, DURATION)
        assert page.route == "keel-dev-oncall-platform-oncall"
        sent = message(page)
        assert sent["NewStateValue"] == "ALARM"
        reason = sent["NewStateReason"]
        assert reason.startswith(f"ExecutionTime Average {slow:.1f} s (")
        assert "is above the expected band " in reason
        low, high = reason.split("expected band ", 1)[1].split(" s ", 1)[0].split("-")
        assert float(low) < usual < float(high) < slow
        assert sent["Trigger"]["Metrics"][0]["Expression"] == "ANOMALY_DETECTION_BAND(m0, 2)"
        assert sent["AlarmDescription"].startswith("Expected: the average duration of alarm_remediation's executions")
        # and the failure rate, which did not change, does not page
        assert pages_of(cloud, FAILURE_RATE) == []


def test_a_remediation_that_starts_failing_pages_through_the_failure_rate_anomaly(dev_template) -> None:
    # Given six hours of redrives without a failure
    failing = FunctionFault("remediate_service", "error", times=0, error="Boom")
    with remediation_cloud(dev_template, FaultPlan(functions=[failing])) as cloud:
        for _ in range(NORMAL_HOURS):
            one_hour(cloud)
        assert pages_of(cloud, FAILURE_RATE) == []

        # When the action fails every time for an hour
        failing.times = 100
        cloud.deliver({**load_event_file(REDRIVE).event, "id": str(uuid.uuid4())})
        cloud.drive()

        # Then the failure-rate anomaly alarm pages, naming the rate and the band of a run that never failed
        (page,) = pages_of(cloud, FAILURE_RATE)
        reason = message(page)["NewStateReason"]
        assert reason.startswith("failed executions (% of started) 100.0 % (")
        assert "is above the expected band 0.0-0.0 %" in reason
