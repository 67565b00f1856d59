"""Re-runs end to end in the local cloud: a failed event runs again when it is delivered again or
redriven (`keel ops redrive --failed`), while a duplicate of a running or succeeded event still
does nothing; an execution stopped by an operator, which keeps its claim, is run again by the redrive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain import event_claim
from keel.local.cloud import Delivery, LocalCloud
from keel.local.eventbridge import EventFile
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.report import execution_report
from keel.local.template import EnvironmentTemplate, load_environment
from keel.local.world import apply_worlds, template_variables, worlds_for
from keel.ops import reruns
from keel.ops.session import OpsSession
from tests.local.conftest import started

ROOT = Path(__file__).resolve().parents[2]
RESTART = ROOT / "events" / "alarm_remediation" / "api-5xx-restart.json"
SAMPLE_ACCOUNT = "111111111111"


def session(cloud: LocalCloud) -> OpsSession:
    return OpsSession(environment=cloud.template.environment, region=cloud.template.region)


def claim(cloud: LocalCloud, automation: str, event_id: str) -> dict[str, Any] | None:
    table = Table(f"keel-{cloud.template.environment}-idempotency", cloud.client("dynamodb"))
    return event_claim.read_claim(table, automation, event_id)


def rerun_failed(cloud: LocalCloud, automation: str) -> list[dict[str, Any]]:
    """`keel ops redrive AUTOMATION --failed`; the executions it starts are driven with the cloud's own."""
    result = reruns.rerun_failed(session(cloud), automation, since=None, dry_run=False)
    machine = session(cloud).state_machine_arn(automation)
    for row in result["executions"]:
        if row["status"] == "restarted":
            name = row["how"].rsplit("new execution ", 1)[1]
            execution = machine.replace(":stateMachine:", ":execution:") + f":{name}"
            cloud.deliveries.append(Delivery(row["event_id"], "keel ops redrive --failed", machine, execution))
    rows: list[dict[str, Any]] = result["executions"]
    return rows


def run(cloud: LocalCloud, event: dict[str, Any], automation: str = "platform_heartbeat") -> Any:
    execution = started(cloud, event, automation)
    cloud.drive()
    return execution_report(cloud, execution)


def test_a_failed_event_runs_again_when_delivered_again_and_a_succeeded_one_does_not(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    event = heartbeat_event.event
    # Given emit_heartbeat failing all five attempts of the first execution
    with LocalCloud(dev_template, faults=FaultPlan([FunctionFault("emit_heartbeat", "error", 5)])) as cloud:
        failed = run(cloud, event)
        # Then it fails through Keel's failure path, which marks the event's claim failed last
        assert failed.status == "FAILED"
        assert [state.name for state in failed.states][-3:] == ["KeelNotifyFailure", "KeelReleaseClaim", "KeelFailed"]
        assert claim(cloud, "platform_heartbeat", event["id"])["status"] == "failed"

        # When the same event (same id) is delivered again, after the fix
        again = run(cloud, event)
        # Then it runs, and succeeds, holding the claim now
        assert (again.status, again.duplicate) == ("SUCCEEDED", False)
        assert claim(cloud, "platform_heartbeat", event["id"])["execution"] == again.execution_arn

        # When it is delivered once more / Then that one is a duplicate of a succeeded event: it does nothing
        assert run(cloud, event).duplicate


def test_keel_ops_redrive_failed_runs_a_failed_event_again_once(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    event = heartbeat_event.event
    with LocalCloud(dev_template, faults=FaultPlan([FunctionFault("emit_heartbeat", "error", 5)])) as cloud:
        # Given an execution that failed through Keel's failure path
        failed = run(cloud, event)
        assert failed.status == "FAILED"

        # When the operator redrives the automation's failed executions
        [row] = rerun_failed(cloud, "platform_heartbeat")

        # Then a new execution ran the original event (RedriveExecution would re-enter the Fail state)
        assert (row["execution"], row["event_id"], row["status"]) == (
            failed.execution_arn.rsplit(":", 1)[-1],
            event["id"],
            "restarted",
        )
        cloud.drive()
        holder = claim(cloud, "platform_heartbeat", event["id"])["execution"]
        assert holder.rsplit(":", 1)[-1] == reruns.rerun_name(event["id"], failed.execution_arn)
        assert cloud.execution_status(holder) == "SUCCEEDED"
        # on the version events run on now: it was started through the live alias, as the rule starts them
        described = cloud.client("stepfunctions").describe_execution(executionArn=holder)
        assert described["stateMachineAliasArn"] == session(cloud).state_machine_arn("platform_heartbeat") + ":live"
        # And a second redrive finds it already ran again
        assert [row["status"] for row in rerun_failed(cloud, "platform_heartbeat")] == ["already-rerun"]


@pytest.fixture(scope="module")
def prod_template(assembly: Path) -> EnvironmentTemplate:
    return load_environment(assembly, "prod")


def test_a_stopped_execution_keeps_its_claim_and_the_redrive_runs_it_again(prod_template: EnvironmentTemplate) -> None:
    event = json.loads(RESTART.read_text().replace(SAMPLE_ACCOUNT, prod_template.account))
    with LocalCloud(prod_template) as cloud:
        apply_worlds(worlds_for([RESTART]), cloud.client, template_variables(prod_template.account, prod_template.region))
        # Given a restart waiting for approval in prod, aborted by an operator (no failure path runs)
        waiting = started(cloud, event, "alarm_remediation")
        cloud.drive(expire_waits=False)
        cloud.client("stepfunctions").stop_execution(executionArn=waiting, error="Operator", cause="wrong alarm")
        cloud.drive()
        # (AWS reports it ABORTED; moto's interpreter, stopped inside the wait, reports FAILED)
        stopped = execution_report(cloud, waiting)
        assert stopped.status in ("ABORTED", "FAILED")
        assert "KeelReleaseClaim" not in [state.name for state in stopped.states]
        # Then its claim is kept (it may have acted part way): a re-delivery does nothing
        assert claim(cloud, "alarm_remediation", event["id"])["status"] == "running"
        assert run(cloud, event, "alarm_remediation").duplicate

        # When the operator redrives the failed executions (the local cloud has no RedriveExecution)
        [row] = rerun_failed(cloud, "alarm_remediation")

        # Then the claim is released for it, and a new execution runs the event from the start
        assert row["status"] == "restarted"
        assert "the local cloud does not implement it" in row["how"]
        cloud.drive("approve")
        holder = claim(cloud, "alarm_remediation", event["id"])["execution"]
        assert holder != waiting
        # And the guardrails still hold across the re-run: the stopped execution's plan keeps the
        # service's cooldown, so the re-run refuses rather than restart the service a second time
        rerun = execution_report(cloud, holder)
        assert (rerun.output["outcome"], rerun.output["guardrail"]) == ("refused", "cooldown")


class RedrivingStepFunctions:
    """Step Functions where RedriveExecution works, as on AWS."""

    def __init__(self) -> None:
        self.redriven: list[str] = []

    def redrive_execution(self, executionArn: str) -> dict[str, Any]:
        self.redriven.append(executionArn)
        return {}


class Session:
    def __init__(self, sfn: RedrivingStepFunctions) -> None:
        self.sfn = sfn

    def client(self, service: str) -> Any:
        assert service == "stepfunctions"
        return self.sfn


def test_on_aws_an_execution_that_kept_its_claim_is_redriven_in_place() -> None:
    # Given a timed-out execution still holding its claim, where RedriveExecution is available
    sfn = RedrivingStepFunctions()
    arn = "arn:aws:states:eu-west-1:111111111111:execution:keel-prod-alarm_remediation:evt-1-1"
    rerun = reruns.Rerun(Session(sfn), "alarm_remediation", "arn:sm", None, arn, "evt-1", "{}")  # type: ignore[arg-type]

    # When it is run again / Then Step Functions continues that same execution (same claim holder)
    assert reruns._continue(rerun, dry_run=False)["status"] == "redriven"
    assert sfn.redriven == [arn]
