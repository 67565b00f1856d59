"""Remediation end to end in the local cloud, from the sample events and their world (events/*/world.yaml):
alarm -> restart -> verify -> resolved; approval in prod; cooldown, blast-radius and override refusals;
dry run; no runbook; not resolved; a failing action; GuardDuty finding -> isolation with snapshots and undo data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.decisions import DecisionRecord
from functions.shared.domain.limits import LimitStore, blast_pool
from functions.shared.runtime.clock import utc_now
from keel.cli import main
from keel.local.cloud import Decision as Answer
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import load_event_file
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.report import ExecutionReport, execution_report
from keel.local.runner import RunOptions, run_events
from keel.local.template import EnvironmentTemplate, load_environment
from keel.local.world import apply_worlds, template_variables, worlds_for
from keel.ops import overrides
from keel.ops.session import OpsSession
from tests.local.conftest import edited

ROOT = Path(__file__).resolve().parents[2]
ALARMS = ROOT / "events" / "alarm_remediation"
FINDINGS = ROOT / "events" / "security_finding_response"
RESTART = ALARMS / "api-5xx-restart.json"
BACKDOOR = FINDINGS / "backdoor-isolate.json"
DELETED_USER = FINDINGS / "iam-key-deleted-user.json"
SAMPLE_ACCOUNT = "111111111111"
EARLIER = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:earlier"
# The automations under test. The same events may start others (alarms and findings are every team's
# signals); what those do is theirs, checked by their own tests.
REMEDIATION = frozenset({"alarm_remediation", "security_finding_response"})


@pytest.fixture(scope="module")
def prod_template(assembly: Path) -> EnvironmentTemplate:
    return load_environment(assembly, "prod")


@contextmanager
def remediating(
    template: EnvironmentTemplate,
    *events: Path,
    answer: Answer = None,
    faults: FaultPlan | None = None,
    before: Callable[[LocalCloud], None] | None = None,
) -> Iterator[tuple[LocalCloud, list[ExecutionReport]]]:
    """The world of the events, then the events (same order), every execution driven to its end."""
    with LocalCloud(template, faults=faults or FaultPlan()) as cloud:
        apply_worlds(worlds_for(list(events)), cloud.client, template_variables(template.account, template.region))
        if before is not None:
            before(cloud)
        for path in events:
            # The sample as it arrives in this environment's account
            cloud.deliver(json.loads(json.dumps(load_event_file(path).event).replace(SAMPLE_ACCOUNT, template.account)))
        cloud.drive(answer)
        yield cloud, remediations([execution_report(cloud, arn) for arn in cloud.execution_arns()])


def remediations(executions: list[ExecutionReport]) -> list[ExecutionReport]:
    return [execution for execution in executions if execution.automation in REMEDIATION]


def session(cloud: LocalCloud) -> OpsSession:
    return OpsSession(environment=cloud.template.environment, region=cloud.template.region)


def decisions(cloud: LocalCloud, execution: ExecutionReport) -> list[DecisionRecord]:
    return session(cloud).decisions.for_execution(execution.execution_arn)


def outcomes(records: list[DecisionRecord]) -> list[tuple[str, str]]:
    return [(record.decision.action, record.decision.outcome) for record in records]


def path(execution: ExecutionReport) -> list[str]:
    return [state.name for state in execution.states]


def deployment_id(cloud: LocalCloud) -> str:
    service = cloud.client("ecs").describe_services(cluster="orders", services=["orders-api"])["services"][0]
    return str(service["deployments"][0]["id"])


def another(path_: Path, event_id: str, tmp_path: Path, alarm: str | None = None) -> Path:
    """The same signal again, as a new event (a new id), e.g. the alarm firing a second time; with
    `alarm`, from another alarm on the same service (tagged like it, OK again by verification time),
    which no debounce joins to the first."""
    event = json.loads(path_.read_text()) | {"id": event_id}
    world = yaml.safe_load((path_.parent / "world.yaml").read_text())
    if alarm is not None:
        original = event["detail"]["alarmName"]
        event["detail"]["alarmName"] = alarm
        event["resources"] = [arn.replace(f":alarm:{original}", f":alarm:{alarm}") for arn in event["resources"]]
        calls = world["calls"]
        created = next(
            call for call in calls if call["call"] == "cloudwatch.put_metric_alarm" and call["args"]["AlarmName"] == original
        )
        calls.append({"call": "cloudwatch.put_metric_alarm", "args": {**created["args"], "AlarmName": alarm}})
        calls.append(
            {"call": "cloudwatch.set_alarm_state", "args": {"AlarmName": alarm, "StateValue": "OK", "StateReason": "recovered"}}
        )
    copy_ = tmp_path / f"{event_id}.json"
    copy_.write_text(json.dumps(event))
    (tmp_path / "world.yaml").write_text(yaml.safe_dump(world, sort_keys=False))
    return copy_


def test_an_alarm_is_restarted_verified_resolved_and_the_story_recorded(dev_template) -> None:
    # Given the orders-api 5xx alarm and its world (service, tagged alarm, OK again after the restart)
    # When it fires in dev
    with remediating(dev_template, RESTART) as (cloud, (execution,)):
        before_restart = execution.output

        # Then the event was the latest for its alarm, the workflow matched, passed the guardrails, took a
        # concurrency slot, restarted, waited, verified, gave the slot back and told the owner
        assert execution.status == "SUCCEEDED"
        assert path(execution) == [
            "KeelClaimEvent",
            "KeelDebounce",
            "KeelDebounceWait",
            "KeelDebounceSettle",
            "KeelDebounceLatest",
            "Start",
            "MatchRunbook",
            "HasRunbook",
            "CheckGuardrails",
            "Verdict",
            "KeelAcquireConcurrency",
            "Act",
            "TargetFound",
            "WaitForEffect",
            "Verify",
            "KeelReleaseConcurrencyBeforeIsResolved",
            "IsResolved",
            "NotifyResolved",
            "Resolved",
        ]
        assert before_restart["outcome"] == "resolved"
        assert before_restart["verified"].startswith("alarm orders-api-5xx is OK")
        # And every guardrail, the action and the verification are on the record, with the runbook as rule
        records = decisions(cloud, execution)
        assert outcomes(records) == [
            ("guardrail:override", "passed"),
            ("guardrail:cooldown", "passed"),
            ("guardrail:blast_radius", "passed"),
            ("guardrail:approval_policy", "passed"),
            ("ecs_force_new_deployment", "planned"),
            ("ecs_force_new_deployment", "taken"),
            ("verify:alarm_ok", "resolved"),
        ]
        assert {record.decision.rule for record in records} == {"runbook ecs-5xx-restart (catalog 2026.11.2)"}
        assert {record.decision.resource for record in records} == {
            "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api"
        }
        # And `keel ops explain` tells it
        from keel.ops.explain import explain

        told = explain(records)
        assert "trigger    CloudWatch alarm orders-api-5xx entered ALARM" in told
        assert "taken ecs_force_new_deployment on arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api" in told
        assert "resolved verify:alarm_ok" in told


def test_in_prod_a_person_approves_first_and_is_recorded(prod_template) -> None:
    # Given prod, where risk medium needs approval
    # When the alarm fires and the approver approves (the way `keel ops approve` does)
    with remediating(prod_template, RESTART, answer="approve") as (cloud, (execution,)):
        # Then the workflow waited for the approval, then acted and resolved
        assert "AskApproval" in path(execution)
        assert execution.output["outcome"] == "resolved"
        records = decisions(cloud, execution)
        assert ("guardrail:approval_policy", "passed") in outcomes(records)
        assert "prod requires approval from risk medium: risk medium needs approval" in records[3].decision.reason
        # And the action names who approved it, under which request
        (taken,) = [record.decision for record in records if record.decision.outcome == "taken"]
        answered = [record.decision for record in records if record.decision.outcome == "approved"]
        assert taken.approved_by == answered[0].approved_by
        assert taken.approval_id == answered[0].approval_id


def test_the_audit_export_tells_what_remediation_did_to_the_service_why_and_who_approved(
    prod_template: EnvironmentTemplate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the orders-api alarm in prod, its restart approved by a person, every record anchored
    with remediating(prod_template, RESTART, answer="approve") as (cloud, (execution,)):
        cloud.streams.drain()
        ops = ["ops", "--env", "prod", "--region", cloud.template.region, "audit"]
        window = ["--since", "2026-01-01", "--until", "2100-01-01"]
        # When an auditor asks what alarm_remediation did to orders-api, as CSV
        exported = tmp_path / "orders-api.csv"
        csv_file = ["--format", "csv", "--output", str(exported)]
        code = main([*ops, "alarm_remediation", "--resource", "orders-api", *window, *csv_file])
        # Then the chain verifies, and every decision on the service is a row that verifies
        assert code == 0, capsys.readouterr().err
        assert "alarm_remediation: chain intact" in capsys.readouterr().out
        rows = list(csv.DictReader(io.StringIO(exported.read_text())))
        service = f"arn:aws:ecs:{cloud.template.region}:{cloud.template.account}:service/orders/orders-api"
        assert {row["resource"] for row in rows} == {service}
        assert {row["execution"] for row in rows} == {execution.execution_arn}
        assert {row["verification"] for row in rows} == {"verified"}
        # And the restart's row says what was done, why, under which runbook, who approved it and when
        (taken,) = [row for row in rows if row["outcome"] == "taken"]
        (answer,) = [row for row in rows if row["outcome"] == "approved"]
        assert taken["action"] == "ecs_force_new_deployment"
        assert taken["reason"]
        assert (taken["rule"], taken["versions"]) == ("runbook ecs-5xx-restart (catalog 2026.11.2)", "runbooks=2026.11.2")
        assert taken["approver"] == answer["approver"] != ""
        assert taken["approval"] == "approved"
        request, _token = cloud.operator().approvals.get(taken["approval_id"])
        assert (request.decided_by, datetime.fromisoformat(taken["approved_at"])) == (taken["approver"], request.decided_at)
        # And the verification travels beside the CSV, for a reader without AWS
        assert (
            (tmp_path / "orders-api.csv.verification.txt")
            .read_text()
            .splitlines()[1]
            .startswith("alarm_remediation: chain intact")
        )
        # And an automation that never existed is one line and exit 2
        assert main([*ops, "no_such_automation", *window]) == 2
        assert capsys.readouterr().err.startswith("keel ops: unknown automation 'no_such_automation' in environment 'prod'")


def test_in_prod_a_rejection_changes_nothing(prod_template) -> None:
    # Given prod and the restart plan / When the approver rejects
    deployments: list[str] = []
    with remediating(prod_template, RESTART, answer="reject", before=lambda cloud: deployments.append(deployment_id(cloud))) as (
        cloud,
        (execution,),
    ):
        # Then the workflow ends rejected and the service keeps its deployment
        assert execution.output["outcome"] == "rejected"
        assert deployment_id(cloud) == deployments[0]
        assert "taken" not in {record.decision.outcome for record in decisions(cloud, execution)}


def test_the_same_alarm_again_within_the_cooldown_is_refused(dev_template, tmp_path) -> None:
    # Given two alarms on the orders-api service firing within the runbook's 30-minute cooldown
    first = another(RESTART, "first-5xx", tmp_path)
    second = another(RESTART, "second-5xx", tmp_path, alarm="orders-api-5xx-canary")

    # When both run (concurrently, as two deliveries would)
    with remediating(dev_template, first, second) as (cloud, executions):
        # Then exactly one restarts; the other is refused by the cooldown, recorded, and the owner told
        by_outcome = {execution.output["outcome"]: execution for execution in executions}
        assert sorted(by_outcome) == ["refused", "resolved"]
        refused = by_outcome["refused"]
        assert refused.output["guardrail"] == "cooldown"
        assert "NotifyRefused" in path(refused)
        assert outcomes(decisions(cloud, refused))[-1] == ("guardrail:cooldown", "refused")


def limits(cloud: LocalCloud) -> LimitStore:
    return LimitStore(Table(f"keel-{cloud.template.environment}-limits", cloud.client("dynamodb")))


def earlier_plans(count: int) -> Callable[[LocalCloud], None]:
    """`count` plans of other executions that took alarm_remediation's action slots in the last hour."""

    def take(cloud: LocalCloud) -> None:
        pool = blast_pool("alarm_remediation", 10, timedelta(minutes=60), {"automation": "alarm_remediation"})
        for number in range(count):
            limits(cloud).take_slot(pool, f"{EARLIER}-{number}", utc_now())

    return take


def test_over_the_blast_radius_it_stops_and_pages_oncall(dev_template) -> None:
    # Given 10 actions already planned or taken in the last hour (the manifest's cap)
    # When the alarm fires
    with remediating(dev_template, RESTART, before=earlier_plans(10)) as (cloud, (execution,)):
        # Then it does not act, pages on-call, and the refusal is recorded
        assert (execution.output["outcome"], execution.output["guardrail"]) == ("refused", "blast_radius")
        assert "PageBlastRadius" in path(execution)
        assert outcomes(decisions(cloud, execution))[-1] == ("guardrail:blast_radius", "refused")


@pytest.mark.parametrize("runbook", [None, "ecs-5xx-restart"], ids=["automation", "runbook"])
def test_an_operator_override_stops_remediation_without_a_deploy(dev_template, runbook) -> None:
    # Given an operator disabled alarm_remediation (or only this runbook) with keel ops disable
    def disable(cloud: LocalCloud) -> None:
        overrides.change(session(cloud), "alarm_remediation", runbook, disabled=True, reason="orders-api migration tonight")

    # When the alarm fires
    with remediating(dev_template, RESTART, before=disable) as (cloud, (execution,)):
        # Then the override refuses, with who and why, and nothing else is checked
        assert (execution.output["outcome"], execution.output["guardrail"]) == ("refused", "override")
        assert execution.output["reason"].endswith("orders-api migration tonight")
        assert overrides.listed(session(cloud), "alarm_remediation")[0]["state"] == "disabled"


def test_enabling_again_lets_remediation_act(dev_template) -> None:
    # Given an automation disabled, then enabled again
    def toggle(cloud: LocalCloud) -> None:
        overrides.change(session(cloud), "alarm_remediation", None, disabled=True, reason="maintenance window")
        overrides.change(session(cloud), "alarm_remediation", None, disabled=False, reason="maintenance over")

    # When the alarm fires / Then it is remediated
    with remediating(dev_template, RESTART, before=toggle) as (_cloud, (execution,)):
        assert execution.output["outcome"] == "resolved"


def dry_run(template: EnvironmentTemplate, automation: str) -> EnvironmentTemplate:
    """The template with the automation's dry-run limit on (what `limits: {dry_run: true}` synthesizes)."""

    def dry(resource: dict[str, Any]) -> None:
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and props["StateMachineName"].endswith(automation):
            definition = json.loads(props["DefinitionString"])
            definition["States"]["KeelClaimEvent"]["ResultSelector"]["dry_run"] = True
            props["DefinitionString"] = json.dumps(definition)

    return edited(template, dry)


def test_a_dry_run_plans_and_records_but_changes_nothing(dev_template) -> None:
    # Given alarm_remediation in dry-run mode
    deployments: list[str] = []

    # When the alarm fires
    with remediating(
        dry_run(dev_template, "alarm_remediation"), RESTART, before=lambda c: deployments.append(deployment_id(c))
    ) as (
        cloud,
        (execution,),
    ):
        # Then the plan is recorded as planned (dry run), and the service was not touched
        assert execution.output["outcome"] == "dry_run"
        assert "Act" not in path(execution)
        records = decisions(cloud, execution)
        assert outcomes(records)[-1] == ("ecs_force_new_deployment", "planned")
        assert all(record.decision.dry_run for record in records)
        assert deployment_id(cloud) == deployments[0]


def test_an_alarm_without_a_runbook_ends_cleanly_and_tells_the_owner(dev_template) -> None:
    # Given the billing alarm, which no runbook covers / When it fires
    with remediating(dev_template, ALARMS / "billing-no-runbook.json") as (cloud, (execution,)):
        # Then the execution succeeds as "no runbook", recorded as skipped, the owner notified
        assert execution.status == "SUCCEEDED"
        assert execution.output["outcome"] == "no_runbook"
        assert path(execution)[-2:] == ["NotifyNoRunbook", "NoRunbook"]
        assert outcomes(decisions(cloud, execution)) == [("no_runbook", "skipped")]


def test_an_alarm_still_firing_after_the_restart_is_escalated(dev_template) -> None:
    # Given the 5xx alarm still in ALARM when the workflow checks
    def still_failing(cloud: LocalCloud) -> None:
        cloud.client("cloudwatch").set_alarm_state(AlarmName="orders-api-5xx", StateValue="ALARM", StateReason="still 5xx")

    # When it fires
    with remediating(dev_template, RESTART, before=still_failing) as (cloud, (execution,)):
        # Then it escalates with the whole story, and unresolved is on the record
        assert execution.output["outcome"] == "escalated_unresolved"
        assert "EscalateUnresolved" in path(execution)
        assert outcomes(decisions(cloud, execution))[-1] == ("verify:alarm_ok", "unresolved")


def test_a_failing_action_is_retried_then_recorded_and_escalated(dev_template) -> None:
    # Given remediate_service failing every time with TransientError
    faults = FaultPlan([FunctionFault("remediate_service", "error", 1000)])

    # When the alarm fires
    with remediating(dev_template, RESTART, faults=faults) as (cloud, (execution,)):
        # Then Act was retried, the failure recorded and escalated, and the execution failed
        act = next(state for state in execution.states if state.name == "Act")
        assert act.attempts == 5
        assert path(execution)[-4:] == ["KeelRecordFailure", "KeelNotifyFailure", "KeelReleaseClaim", "KeelFailed"]
        assert (execution.status, execution.error) == ("FAILED", "TransientError")
        assert outcomes(decisions(cloud, execution))[-1] == ("workflow", "failed")
        [page] = [page for page in cloud.pages() if page.subject == "Keel: alarm_remediation failed (dev)"]
        assert page.route == "keel-dev-oncall-platform-oncall"
        assert f"keel ops explain {execution.execution_arn} --env dev --region eu-west-1" in page.message


def test_a_timed_out_action_is_not_repeated(dev_template) -> None:
    # Given remediate_service (effects: not_idempotent) timing out: it may have acted
    faults = FaultPlan([FunctionFault("remediate_service", "timeout", 1)])

    # When the alarm fires / Then Act runs once and its timeout goes to the failure path
    with remediating(dev_template, RESTART, faults=faults) as (_cloud, (execution,)):
        act = next(state for state in execution.states if state.name == "Act")
        assert (act.attempts, [error["error"] for error in act.errors]) == (1, ["Sandbox.Timedout"])
        assert (execution.status, execution.error) == ("FAILED", "Sandbox.Timedout")


def test_a_throttled_action_is_retried_not_fatal(dev_template) -> None:
    # Given remediate_service throttled twice / When the alarm fires / Then the retries absorb it
    faults = FaultPlan([FunctionFault("remediate_service", "error", 2, "ThrottledError")])
    with remediating(dev_template, RESTART, faults=faults) as (_cloud, (execution,)):
        assert execution.output["outcome"] == "resolved"


def test_a_guardduty_finding_isolates_the_instance_after_approval_with_snapshots_and_undo_data(dev_template) -> None:
    # Given the backdoor finding on reports-worker (runbook: isolation always needs a person)
    # When it arrives in dev and is approved
    with remediating(dev_template, BACKDOOR, answer="approve") as (cloud, (execution,)):
        ec2 = cloud.client("ec2")
        instance = ec2.describe_instances(InstanceIds=["i-0c5f3e8a9d1b2c4e6"])["Reservations"][0]["Instances"][0]

        # Then it asked for approval even in dev, and the instance sits in the quarantine group alone
        assert "AskApproval" in path(execution)
        assert execution.output["outcome"] == "resolved"
        assert [group["GroupId"] for group in instance["SecurityGroups"]] == ["sg-0c0ffee0c0ffee001"]
        # And both volumes were snapshotted, and the original groups are in the decision record
        (taken,) = [record.decision for record in decisions(cloud, execution) if record.decision.outcome == "taken"]
        assert sorted(taken.details["snapshots"]) == ["vol-0a1b2c3d4e5f60718", "vol-0f9e8d7c6b5a43210"]
        snapshots = ec2.describe_snapshots(SnapshotIds=list(taken.details["snapshots"].values()))["Snapshots"]
        assert {snapshot["VolumeId"] for snapshot in snapshots} == {"vol-0a1b2c3d4e5f60718", "vol-0f9e8d7c6b5a43210"}
        assert taken.details["original_groups"] == ["sg-0a9b8c7d6e5f40312", "sg-0e1d2c3b4a5968778"]
        assert taken.details["undo"]["command"] == (
            "aws ec2 modify-instance-attribute --instance-id i-0c5f3e8a9d1b2c4e6 "
            "--groups sg-0a9b8c7d6e5f40312 sg-0e1d2c3b4a5968778"
        )
        assert taken.approved_by is not None


def test_a_rejected_isolation_leaves_the_instance_as_it_was(dev_template) -> None:
    # Given the backdoor finding / When the approver rejects
    with remediating(dev_template, BACKDOOR, answer="reject") as (cloud, (execution,)):
        instance = cloud.client("ec2").describe_instances(InstanceIds=["i-0c5f3e8a9d1b2c4e6"])["Reservations"][0]["Instances"][0]

        # Then nothing changed
        assert execution.output["outcome"] == "rejected"
        assert [group["GroupId"] for group in instance["SecurityGroups"]] == ["sg-0a9b8c7d6e5f40312", "sg-0e1d2c3b4a5968778"]


def test_the_sample_events_run_as_the_demo_shows_them(dev_template) -> None:
    # Given every sample event of both automations, approvals answered, explanations asked for
    files = [load_event_file(path) for folder in (ALARMS, FINDINGS) for path in sorted(folder.glob("*.json"))]

    # When they run as `make demo` runs them
    run = run_events(dev_template, files, RunOptions(FaultPlan(), decision="approve", explain=True))

    # Then all succeed with the expected outcome each, and each has its `keel ops explain` story
    executions = remediations(run.report.executions)
    assert run.report.all_succeeded
    assert len(executions) == len(files)
    assert sorted(execution.output["outcome"] for execution in executions) == [
        "muted",
        "muted",
        "no_runbook",
        "no_runbook",
        "not_found",
        "resolved",
        "resolved",
        "resolved",
        "resolved",
        "resolved",
        "resolved",
    ]
    assert run.world.startswith("33 AWS calls from")
    assert len(run.explanations) == len(run.report.executions)


def test_a_finding_about_a_deleted_user_ends_not_found_with_a_notice_not_a_page(dev_template) -> None:
    # Given a GuardDuty finding about an access key whose IAM user was deleted since (the sample world)
    # When it arrives
    with remediating(dev_template, DELETED_USER) as (cloud, (execution,)):
        # Then the execution succeeds as not_found (its concurrency slot given back): no failure, so no failure page
        assert execution.status == "SUCCEEDED"
        released = ["KeelReleaseConcurrencyAfterNotFound", "KeelSectionEnd"]
        assert path(execution)[-5:] == ["TargetFound", "NotifyNotFound", "NotFound", *released]
        assert execution.output["outcome"] == "not_found"
        assert "NoSuchEntity" in execution.output["reason"]
        # And the outcome is on the record, with IAM's answer as the reason
        assert outcomes(decisions(cloud, execution))[-1] == ("iam_deactivate_access_key", "not_found")
        # And the owner's on-call route got a notice (not a PAGE) that names the resource and how to explain it
        [notice] = [page for page in cloud.pages() if "no longer exists" in (page.subject or "")]
        assert notice.route == "keel-dev-oncall-security-oncall"
        assert not (notice.subject or "").startswith("PAGE")
        assert "arn:aws:iam::111111111111:user/departed-contractor" in notice.message
        assert f"keel ops explain {execution.execution_arn} --env dev --region eu-west-1" in notice.message
        assert not [page for page in cloud.pages() if "failed" in (page.subject or "")]


def test_an_alarm_for_a_deleted_service_ends_not_found(dev_template) -> None:
    # Given the orders-api 5xx alarm, and the service deleted before the workflow acts
    def delete_service(cloud: LocalCloud) -> None:
        cloud.client("ecs").delete_service(cluster="orders", service="orders-api", force=True)

    # When it fires / Then alarm_remediation records not_found and succeeds, as security_finding_response does
    with remediating(dev_template, RESTART, before=delete_service) as (cloud, (execution,)):
        assert (execution.status, execution.output["outcome"]) == ("SUCCEEDED", "not_found")
        assert outcomes(decisions(cloud, execution))[-1] == ("ecs_force_new_deployment", "not_found")


def test_when_the_failure_cannot_be_recorded_the_page_says_so(dev_template) -> None:
    # Given record_decision failing every time (`keel local run --fail record_decision:TransientError:20`)
    faults = FaultPlan([FunctionFault("record_decision", "error", 20)])

    # When an alarm without a runbook arrives (its no-runbook decision is recorded by record_decision)
    with remediating(dev_template, ALARMS / "billing-no-runbook.json", faults=faults) as (cloud, (execution,)):
        # Then the workflow fails through Keel's failure path, and its page says the record is missing
        assert execution.status == "FAILED"
        assert path(execution)[-3:] == ["KeelNotifyUnrecordedFailure", "KeelReleaseClaim", "KeelFailed"]
        [page] = [page for page in cloud.pages() if page.subject == "Keel: alarm_remediation failed (dev)"]
        assert "the failure could not be recorded" in page.message
        # And no message claims a record that does not exist
        assert decisions(cloud, execution) == []
        assert not [page for page in cloud.pages() if "recorded" in page.message and "could not be recorded" not in page.message]
