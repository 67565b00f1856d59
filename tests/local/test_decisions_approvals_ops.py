"""Decisions, approvals and `keel ops`, end to end in the local cloud.

A test automation (change_gate) asks a person to approve a change through request_approval, then
records what happened with record_decision; expiry escalates. Operators answer, explain, redrive and
verify with the same `keel ops` code they use against AWS.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.shared.runtime.errors import ConflictError
from keel.local.cloud import LocalCloud
from keel.local.faults import FaultPlan
from keel.local.template import EnvironmentTemplate, load_environment
from keel.ops import approvals, explain, ledger, redrive
from keel.ops.session import OpsError, OpsSession

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
AUTOMATION = "change_gate"

MANIFEST: dict[str, Any] = {
    "name": AUTOMATION,
    "description": "A person approves or rejects a change; expiry escalates.",
    "version": "2.1.0",
    "owner": "platform-team",
    "oncall": "platform-oncall",
    "escalation": "platform-oncall",
    "approvers": ["platform-oncall"],
    "data_classification": "internal",
    "trigger": {"bus": "keel", "event_pattern": {"source": ["keel.changes"], "detail-type": ["Change Requested"]}},
    "workflow": {"definition": f"{AUTOMATION}.asl.json", "type": "standard", "timeout_seconds": 7200},
    "functions": ["request_approval", "record_decision"],
    "slo": {"success_rate_percent": 99.0, "p90_duration_seconds": 3600},
}


@pytest.fixture(scope="module")
def gate_template(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentTemplate:
    """The dev stack of a repository that also holds change_gate (synthesized once)."""
    from infra.app_builder import build_app

    root = tmp_path_factory.mktemp("repo")
    for name in ("automations", "statemachines", "functions", "config", "schemas"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "automations" / f"{AUTOMATION}.yaml").write_text(yaml.safe_dump(MANIFEST))
    shutil.copy(FIXTURES / f"{AUTOMATION}.asl.json", root / "statemachines" / f"{AUTOMATION}.asl.json")
    outdir = root / "cdk.out"
    build_app(root=root, outdir=str(outdir)).app.synth()
    return load_environment(outdir, "dev")


@pytest.fixture
def cloud(gate_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(gate_template) as running:
        yield running


@pytest.fixture
def ops(cloud: LocalCloud) -> OpsSession:
    """keel ops, pointed at the running local cloud (moto intercepts in this process)."""
    return OpsSession(environment="dev", region=cloud.template.region)


def change(event_id: str, resource: str = "db/orders") -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Change Requested",
        "source": "keel.changes",
        "account": "111111111111",
        "time": "2026-11-22T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"resource": resource, "reason": "schema migration 42"},
    }


def status(cloud: LocalCloud, execution_arn: str) -> str:
    result: str = cloud.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    return result


def wait_for_approval(cloud: LocalCloud, event: dict[str, Any]) -> str:
    [delivery] = cloud.deliver(event)
    assert delivery.execution_arn is not None
    cloud.drive(expire_waits=False)
    assert status(cloud, delivery.execution_arn) == "RUNNING"
    return delivery.execution_arn


def test_approval_resumes_the_workflow_and_explain_tells_the_story(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given an execution waiting for a person
    execution = wait_for_approval(cloud, change("evt-approve"))
    [waiting] = approvals.pending(ops)
    assert (waiting["automation"], waiting["action"], waiting["resource"], waiting["state"]) == (
        AUTOMATION,
        "apply_change",
        "db/orders",
        "waiting",
    )
    # When an operator approves it
    answered = approvals.answer(ops, waiting["approval_id"], approved=True, reason="migration reviewed")
    cloud.drive()
    # Then the workflow resumed and succeeded, and nothing is pending any more
    assert status(cloud, execution) == "SUCCEEDED"
    assert approvals.pending(ops) == []
    # And explain reconstructs who approved what, why, and under which versions
    story = explain.explain(explain.find_records(ops, execution))
    assert f"{AUTOMATION} 2.1.0 in dev" in story
    assert "approved apply_change on db/orders" in story
    assert "migration reviewed" in story
    assert f"answered by {answered['decided_by']}" in story
    assert "taken apply_change on db/orders" in story
    assert "workflow sha256:" in story
    assert "code sha256:" in story
    # And the same records are found by event id
    assert [record.seq for record in explain.find_records(ops, "evt-approve")] == [1, 2]


def test_rejection_takes_the_rejection_path(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a waiting execution
    execution = wait_for_approval(cloud, change("evt-reject"))
    [waiting] = approvals.pending(ops)
    # When it is rejected
    approvals.answer(ops, waiting["approval_id"], approved=False, reason="not during the sale")
    cloud.drive()
    # Then the workflow ends through its rejection branch, and both decisions are on record
    assert status(cloud, execution) == "SUCCEEDED"
    outcomes = [record.decision.outcome for record in ops.decisions.for_execution(execution)]
    assert outcomes == ["rejected", "refused"]


def test_expiry_escalates_and_a_late_answer_is_refused(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a waiting execution that nobody answers
    execution = wait_for_approval(cloud, change("evt-expire"))
    [waiting] = approvals.pending(ops)
    # When its approval timeout passes (on the virtual clock)
    cloud.drive()
    # Then it escalated and failed with the reason, and the expiry is on record
    description = cloud.client("stepfunctions").describe_execution(executionArn=execution)
    assert (description["status"], description["error"]) == ("FAILED", "ApprovalExpired")
    assert [record.decision.outcome for record in ops.decisions.for_execution(execution)] == ["escalated"]
    # And an operator answering late is told it expired
    with pytest.raises(OpsError, match="expired"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="too late")
    assert approvals.pending(ops) == []


def test_an_answer_the_workflow_no_longer_waits_for_is_on_record_as_undelivered(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a waiting execution whose task token someone answers outside keel ops
    execution = wait_for_approval(cloud, change("evt-stopped"))
    [waiting] = approvals.pending(ops)
    [(token, _timeout)] = cloud.waiting_tokens(execution)
    cloud.client("stepfunctions").send_task_failure(taskToken=token, error="Operator", cause="answered in the console")
    cloud.drive()
    # When an operator approves it
    with pytest.raises(OpsError, match="expired: its workflow is no longer waiting"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="looks fine")
    # Then the record holds the workflow's failure (Keel's failure path), who approved, and that the
    # answer reached no workflow
    failure, *answers = ops.decisions.for_execution(execution)
    assert (failure.decision.step, failure.decision.outcome) == ("KeelRecordFailure", "failed")
    assert failure.decision.reason.startswith("Operator")
    assert [(record.decision.step, record.decision.outcome) for record in answers] == [
        ("AskApproval:answer", "approved"),
        ("AskApproval:delivery", "expired"),
    ]
    assert answers[0].decision.approved_by == answers[1].decision.approved_by
    assert answers[-1].decision.reason.startswith("the answer was not delivered: approval ")
    assert approvals.pending(ops) == []


class RefusingStepFunctions:
    """A Step Functions client for an operator whose role may not answer task tokens."""

    def __getattr__(self, operation: str) -> Any:
        def refuse(**_: Any) -> None:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, operation)

        return refuse


def busy_record(_decision: Any) -> None:
    """A decision record that cannot be appended to just now."""
    raise ConflictError("could not append to the change_gate decision chain after 8 attempts")


def test_an_answer_that_could_not_be_delivered_is_on_record_as_failed_and_the_workflow_still_waits(
    cloud: LocalCloud, ops: OpsSession
) -> None:
    # Given a waiting execution and an operator who may not answer task tokens
    execution = wait_for_approval(cloud, change("evt-denied"))
    [waiting] = approvals.pending(ops)
    ops.clients["stepfunctions"] = RefusingStepFunctions()
    # When they approve it
    with pytest.raises(OpsError, match=r"cannot resume the workflow of .*: AccessDeniedException"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="looks fine")
    # Then the record says the answer failed to reach it (not that it expired), and the workflow still waits
    answers = [(record.decision.step, record.decision.outcome) for record in ops.decisions.for_execution(execution)]
    assert answers == [("AskApproval:answer", "approved"), ("AskApproval:delivery", "failed")]
    assert status(cloud, execution) == "RUNNING"
    cloud.drive()


def test_an_answer_the_record_refuses_still_resumes_the_workflow(
    cloud: LocalCloud, ops: OpsSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a waiting execution, and a decision record that cannot be written to just now
    execution = wait_for_approval(cloud, change("evt-unrecorded"))
    [waiting] = approvals.pending(ops)

    monkeypatch.setattr(ops.decisions, "record", busy_record)
    # When an operator approves it
    with pytest.raises(OpsError, match=r"was approved and its workflow resumed, but cannot record the answer"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="looks fine")
    # Then the workflow got the answer anyway: an answer can be given once, so it must not be left waiting
    cloud.drive()
    assert status(cloud, execution) == "SUCCEEDED"


def test_an_answer_neither_recorded_nor_delivered_says_both(
    cloud: LocalCloud, ops: OpsSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution = wait_for_approval(cloud, change("evt-lost"))
    [waiting] = approvals.pending(ops)

    monkeypatch.setattr(ops.decisions, "record", busy_record)
    ops.clients["stepfunctions"] = RefusingStepFunctions()
    with pytest.raises(OpsError, match=r"was approved but neither recorded \(cannot record .*\) nor delivered \(cannot resume"):
        approvals.answer(ops, waiting["approval_id"], approved=True, reason="looks fine")
    assert status(cloud, execution) == "RUNNING"
    cloud.drive()


def test_a_second_answer_is_refused(cloud: LocalCloud, ops: OpsSession) -> None:
    wait_for_approval(cloud, change("evt-twice"))
    [waiting] = approvals.pending(ops)
    approvals.answer(ops, waiting["approval_id"], approved=True, reason="ok")
    with pytest.raises(OpsError, match="already approved"):
        approvals.answer(ops, waiting["approval_id"], approved=False, reason="changed my mind")
    cloud.drive()


def test_verify_chain_catches_a_tampered_decision(cloud: LocalCloud, ops: OpsSession) -> None:
    # Given a recorded approval and action
    wait_for_approval(cloud, change("evt-tamper"))
    [waiting] = approvals.pending(ops)
    approvals.answer(ops, waiting["approval_id"], approved=True, reason="reviewed")
    cloud.drive()
    cloud.streams.drain()
    before = ledger.verify(ops.decisions, ops.anchor, AUTOMATION)
    assert before.ok, before.problems
    assert before.anchored == before.checked > 0
    # When someone rewrites who approved it
    dynamodb = cloud.client("dynamodb")
    key = {"pk": {"S": f"chain#{AUTOMATION}"}, "sk": {"S": "seq#000000000001"}}
    body = dynamodb.get_item(TableName="keel-dev-decisions", Key=key)["Item"]["body"]["S"]
    forged = json.loads(body) | {"approved_by": "arn:aws:iam::111111111111:user/someone-else"}
    dynamodb.update_item(
        TableName="keel-dev-decisions",
        Key=key,
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": {"S": json.dumps(forged, sort_keys=True, separators=(",", ":"))}},
    )
    # Then verify-chain, comparing the table with the anchor, names the record
    found = [str(problem) for problem in ledger.verify(ops.decisions, ops.anchor, AUTOMATION).problems]
    assert "record 1: its hash does not match its body: modified after it was recorded" in found
    assert "record 1: differs from its anchored copy: body" in found


def test_redrive_runs_a_dead_lettered_event_once_even_when_redriven_twice(gate_template: EnvironmentTemplate) -> None:
    # Given one event dead-lettered twice (two deliveries whose every start failed)
    faults = FaultPlan(failed_starts=100)
    with LocalCloud(gate_template, faults=faults) as cloud:
        ops = OpsSession(environment="dev", region=cloud.template.region)
        cloud.deliver(change("evt-redrive"))
        cloud.deliver(change("evt-redrive"))
        assert [letter.event_id for letter in cloud.dead_letters] == ["evt-redrive", "evt-redrive"]
        faults.failed_starts = 0
        # When an operator looks first, then redrives
        preview = redrive.redrive(ops, AUTOMATION, dry_run=True)
        result = redrive.redrive(ops, AUTOMATION, dry_run=False)
        again = redrive.redrive(ops, AUTOMATION, dry_run=False)
        # Then the dry run moved nothing, the redrive ran the event once, and the queue is empty
        assert [item["status"] for item in preview["moved"]] == ["would-start", "would-start"]
        assert sorted(item["status"] for item in result["moved"]) == ["already-redriven", "started"]
        assert again["moved"] == []
        assert again["failed"] == []
        executions = cloud.client("stepfunctions").list_executions(stateMachineArn=ops.state_machine_arn(AUTOMATION))
        assert [execution["name"] for execution in executions["executions"]] == ["redrive-evt-redrive"]
        started = next(item for item in result["moved"] if item["status"] == "started")
        assert started["dead_lettered_because"] is not None


def test_unknown_automation_is_named_with_the_known_ones(ops: OpsSession) -> None:
    with pytest.raises(
        OpsError, match=r"unknown automation 'nope' in environment 'dev' \(known: (\w+, )*change_gate, (\w+, )*platform_heartbeat"
    ):
        ops.state_machine_arn("nope")
