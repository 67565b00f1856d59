"""Limits and storms end to end in the local cloud: muted and suppressed alarms, a flapping alarm, a
full concurrency limit, and what a plan gives back when it is rejected or its action fails."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.limits import LimitStore, concurrency_pool
from functions.shared.runtime.clock import utc_now
from keel.local.cloud import Decision as Answer
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import load_event_file
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.report import ExecutionReport, execution_report
from keel.local.template import EnvironmentTemplate, load_environment
from keel.local.world import apply_worlds, template_variables, worlds_for
from keel.ops.session import OpsSession

ALARMS = Path(__file__).resolve().parents[2] / "events" / "alarm_remediation"
RESTART = ALARMS / "api-5xx-restart.json"
SERVICE = "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
SAMPLE_ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def prod_template(assembly: Path) -> EnvironmentTemplate:
    return load_environment(assembly, "prod")


@contextmanager
def running(
    template: EnvironmentTemplate,
    events: list[dict[str, Any]],
    *,
    answer: Answer = None,
    faults: FaultPlan | None = None,
    before: Callable[[LocalCloud], None] | None = None,
) -> Iterator[tuple[LocalCloud, list[ExecutionReport]]]:
    """The alarm samples' world, then the events, every execution driven to its end (alarm_remediation's only)."""
    with LocalCloud(template, faults=faults or FaultPlan()) as cloud:
        apply_worlds(worlds_for([RESTART]), cloud.client, template_variables(template.account, template.region))
        if before is not None:
            before(cloud)
        for event in events:
            cloud.deliver(json.loads(json.dumps(event).replace(SAMPLE_ACCOUNT, template.account)))
        cloud.drive(answer)
        reports = [execution_report(cloud, arn) for arn in cloud.execution_arns()]
        yield cloud, [report for report in reports if report.automation == "alarm_remediation"]


def sample(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = load_event_file(ALARMS / name).event
    return event | changes


def limits(cloud: LocalCloud) -> LimitStore:
    return LimitStore(Table(f"keel-{cloud.template.environment}-limits", cloud.client("dynamodb")))


def recorded(cloud: LocalCloud, execution: ExecutionReport) -> list[tuple[str, str, str]]:
    session = OpsSession(environment=cloud.template.environment, region=cloud.template.region)
    records = session.decisions.for_execution(execution.execution_arn)
    return [(record.decision.action, record.decision.outcome, record.decision.reason) for record in records]


def deployment_id(cloud: LocalCloud, cluster: str, service: str) -> str:
    described = cloud.client("ecs").describe_services(cluster=cluster, services=[service])["services"][0]
    return str(described["deployments"][0]["id"])


MUTED = {
    "checkout-api-5xx": "alarm checkout-api-5xx has its actions disabled",
    "orders-service-health": "composite alarm orders-service-health has its actions suppressed by suppressor alarm "
    "orders-maintenance-window (Alarm)",
}


def test_alarms_whose_own_actions_are_off_are_recorded_as_muted_and_the_owner_told(dev_template) -> None:
    # Given the sample alarms whose actions are disabled (checkout-api) or held back by a suppressor (a composite)
    events = [sample("checkout-actions-disabled.json"), sample("orders-health-suppressed.json")]
    deployments: list[str] = []

    # When they fire
    with running(
        dev_template, events, before=lambda cloud: deployments.append(deployment_id(cloud, "checkout", "checkout-api"))
    ) as (
        cloud,
        executions,
    ):
        # Then nothing is done: each ends muted, with the reason recorded, and the owner is told why
        assert len(executions) == 2
        pages = [page.message for page in cloud.pages() if page.subject == "Keel: alarm muted, nothing done"]
        for execution in executions:
            reason = next(why for alarm, why in MUTED.items() if alarm in execution.output["reason"])
            assert (execution.status, execution.output["outcome"]) == ("SUCCEEDED", "muted")
            assert execution.output["reason"].startswith(reason)
            [(action, outcome, why)] = recorded(cloud, execution)
            assert (action, outcome) == ("alarm_muted", "muted")
            assert why.startswith(reason)
            assert any(reason in page for page in pages)
        assert deployment_id(cloud, "checkout", "checkout-api") == deployments[0]


def test_a_flapping_alarm_starts_one_remediation(dev_template) -> None:
    # Given the orders-api 5xx alarm firing six times in a burst (six events, one alarm)
    burst = [sample("api-5xx-restart.json", id=f"flap-{number}") for number in range(6)]

    # When they are all delivered before any is driven
    with running(dev_template, burst) as (cloud, executions):
        # Then one restarts the service; each other one is debounced (a newer event of the alarm runs) or,
        # when its burst had already run by the time it arrived, refused by the restart's cooldown
        endings = sorted(execution.output["outcome"] for execution in executions)
        assert len(executions) == 6
        assert endings.count("resolved") == 1
        assert set(endings) - {"resolved"} <= {"debounced", "refused"}
        refused = [execution for execution in executions if execution.output["outcome"] == "refused"]
        assert {execution.output["guardrail"] for execution in refused} <= {"cooldown"}
        taken = [record for execution in executions for record in recorded(cloud, execution) if record[1] == "taken"]
        assert len(taken) == 1
        for execution in executions:
            if execution.output["outcome"] == "debounced":
                assert recorded(cloud, execution)[0][:2] == ("debounce", "debounced")
                assert execution.output["superseded_by"].startswith("flap-")


def test_with_every_concurrency_slot_held_it_waits_then_records_and_pages_and_changes_nothing(dev_template) -> None:
    # Given alarm_remediation's 5 concurrency slots held by other executions for the next hour
    def fill(cloud: LocalCloud) -> None:
        pool = concurrency_pool("alarm_remediation", None, 5, timedelta(hours=1))
        for number in range(5):
            limits(cloud).take_slot(
                pool, f"arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:busy-{number}", utc_now()
            )

    deployments: list[str] = []

    def prepare(cloud: LocalCloud) -> None:
        fill(cloud)
        deployments.append(deployment_id(cloud, "orders", "orders-api"))

    # When the alarm fires
    with running(dev_template, [sample("api-5xx-restart.json")], before=prepare) as (cloud, (execution,)):
        # Then it waited for a slot (retrying with backoff), then ended concurrency_limited, recorded and paged
        acquire = next(state for state in execution.states if state.name == "KeelAcquireConcurrency")
        assert acquire.attempts == 8
        assert (execution.status, execution.output["outcome"]) == ("SUCCEEDED", "concurrency_limited")
        assert "Act" not in [state.name for state in execution.states]
        action, outcome, why = recorded(cloud, execution)[-1]
        assert (action, outcome) == ("limit:concurrency", "refused")
        assert why.startswith("ConcurrencyLimitReached: all 5 concurrency slots of alarm_remediation are held: ")
        [page] = [page for page in cloud.pages() if page.subject == "Keel: alarm_remediation concurrency limit reached (dev)"]
        assert "this event was not run" in page.message
        assert deployment_id(cloud, "orders", "orders-api") == deployments[0]


def test_a_failing_action_gives_its_concurrency_slot_back_on_the_way_to_the_failure_path(dev_template) -> None:
    # Given remediate_service failing every time
    faults = FaultPlan([FunctionFault("remediate_service", "error", 1000)])

    # When the alarm fires
    with running(dev_template, [sample("api-5xx-restart.json")], faults=faults) as (cloud, (execution,)):
        # Then the slot went back before Keel's failure path recorded and paged the failure
        names = [state.name for state in execution.states]
        assert names[-5:] == [
            "KeelReleaseConcurrencyBeforeKeelRecordFailure",
            "KeelRecordFailure",
            "KeelNotifyFailure",
            "KeelReleaseClaim",
            "KeelFailed",
        ]
        assert (execution.status, execution.error) == ("FAILED", "TransientError")
        assert limits(cloud).slots_in_use(concurrency_pool("alarm_remediation", None, 5, timedelta(hours=2)), utc_now()) == []


def test_a_rejected_plan_gives_back_its_cooldown_and_action_slot(prod_template) -> None:
    # Given prod, where the restart waits for a person, and the approver rejects it
    with running(prod_template, [sample("api-5xx-restart.json")], answer="reject") as (cloud, (execution,)):
        store = limits(cloud)

        # Then it ended rejected, having given back its lease and slot: the service is free for the next plan
        assert execution.output["outcome"] == "rejected"
        assert "GiveBackRejectedPlan" in [state.name for state in execution.states]
        assert store.cooldown_holder(SERVICE, "someone-else", utc_now()) is None
        took = store.hold_cooldown(SERVICE, "someone-else", utc_now(), timedelta(minutes=1), {})
        assert took.holder == "someone-else"  # type: ignore[union-attr]
