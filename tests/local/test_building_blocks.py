"""The local cloud's pure parts: intrinsics, event files, target input, fault specs, the clock."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from keel.local import clock as clock_module
from keel.local.clock import VirtualClock, acting_for
from keel.local.errors import LocalCloudError
from keel.local.eventbridge import bus_for, execution_name, json_path, normalized, rule_receives, target_input
from keel.local.faults import FaultPlan, parse_fault
from keel.local.template import Resolver, StackTemplate, creation_order, is_stale, references
from tests.local.conftest import custom_event


def template(resources: dict[str, Any], parameters: dict[str, Any] | None = None) -> StackTemplate:
    return StackTemplate("dev", "keel-dev", "111111111111", "eu-west-1", {"Resources": resources, "Parameters": parameters or {}})


RESOURCES = {
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {}, "DependsOn": "Queue"},
    "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Arn": {"Fn::Sub": "${Machine}/${Queue.Arn}"}}]}},
}


PARAMETERS = {
    "KeyArn": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/keel/dev/platform/key-arn"},
    "Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/aws/service/powertools/python/x86_64/python3.14/3.37.0"},
    "Missing": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/keel/dev/nothing"},
    "Plain": {"Type": "String", "Default": "as written"},
}
PARAMETER_STORE = {"/keel/dev/platform/key-arn": "arn:aws:kms:eu-west-1:111111111111:key/k"}


def resolver() -> Resolver:
    created = Resolver(template(RESOURCES, PARAMETERS), parameter_store=PARAMETER_STORE.get)
    created.attributes = {"Queue": {"Ref": "https://queue", "Arn": "arn:queue"}, "Role": {"Ref": "role", "Arn": "arn:role"}}
    return created


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, {"Ref": "AWS::AccountId"}]]}, "arn:aws:111111111111"),
        ({"Fn::Sub": "${AWS::URLSuffix}/${Queue}/${Role.Arn}/${!Literal}"}, "amazonaws.com/https://queue/arn:role/${Literal}"),
        ({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Role"}}]}, "role-x"),
        ({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}, "b"),
        ({"Fn::GetAtt": "Queue.Arn"}, "arn:queue"),
        # An SSM parameter resolves to its value at deploy time, as CloudFormation resolves it
        ({"Ref": "KeyArn"}, "arn:aws:kms:eu-west-1:111111111111:key/k"),
        # AWS's public parameters name what does not run locally (the Powertools layer)
        ({"Ref": "Layer"}, "local:/aws/service/powertools/python/x86_64/python3.14/3.37.0"),
        ({"Ref": "Plain"}, "as written"),
        ({"Fn::Base64": "hi"}, "aGk="),
        ([{"Ref": "AWS::NoValue"}, 1], [1]),
        ({"Key": {"Ref": "AWS::StackName"}, "Drop": {"Ref": "AWS::NoValue"}}, {"Key": "keel-dev"}),
    ],
)
def test_intrinsics_resolve_as_cloudformation_does(value: Any, expected: Any) -> None:
    assert resolver().resolve(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::If": ["c", 1, 2]}, "does not support the intrinsic Fn::If"),
        ({"Ref": "Nowhere"}, "unknown resource Nowhere"),
        ({"Ref": "Machine"}, "Machine is referenced before it is created"),
        ({"Fn::GetAtt": ["Queue", "Colour"]}, "does not know attribute Colour of AWS::SQS::Queue"),
        ({"Ref": "Missing"}, "reads SSM parameter /keel/dev/nothing, which no stack deployed before it created"),
    ],
)
def test_unsupported_or_dangling_intrinsics_are_named(value: Any, message: str) -> None:
    with pytest.raises(LocalCloudError, match=message):
        resolver().resolve(value)


def test_resources_are_created_after_what_they_refer_to() -> None:
    order = creation_order(template(RESOURCES))

    assert order.index("Queue") < order.index("Role") < order.index("Machine") < order.index("Rule")
    assert references(RESOURCES["Rule"]["Properties"]) == {"Machine", "Queue"}


def test_a_reference_cycle_is_reported() -> None:
    cycle = {"A": {"Type": "T", "DependsOn": ["B"]}, "B": {"Type": "T", "Properties": {"X": {"Ref": "A"}}}}

    with pytest.raises(LocalCloudError, match="circular reference"):
        creation_order(template(cycle))


def test_an_assembly_is_stale_when_a_source_is_newer(tmp_path: Path) -> None:
    (tmp_path / "automations").mkdir()
    assert is_stale(tmp_path / "cdk.out", "dev", tmp_path)
    manifest = tmp_path / "cdk.out" / "assembly-dev" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    assert not is_stale(tmp_path / "cdk.out", "dev", tmp_path)
    source = tmp_path / "automations" / "new.yaml"
    source.write_text("name: new")
    import os

    os.utime(source, (manifest.stat().st_mtime + 10, manifest.stat().st_mtime + 10))
    assert is_stale(tmp_path / "cdk.out", "dev", tmp_path)


RULE = {
    "name": "r",
    "arn": "arn:aws:events:eu-west-1:111111111111:rule/r",
    "enabled": True,
    "schedule": None,
    "has_pattern": True,
}


def test_target_input_honours_input_input_path_and_transformer() -> None:
    event = custom_event("kind")

    assert target_input({"Input": '{"fixed": 1}'}, event, RULE) == '{"fixed": 1}'
    assert json.loads(target_input({"InputPath": "$.detail"}, event, RULE)) == {"reason": "test"}
    assert json.loads(target_input({}, event, RULE)) == event
    transformer = {
        "InputPathsMap": {"reason": "$.detail.reason", "resources": "$.resources", "kind": "$['detail-type']"},
        "InputTemplate": '{"why": "<reason>", "what": <resources>, "kind": "<kind>", "rule": "<aws.events.rule-name>"}',
    }
    assert json.loads(target_input({"InputTransformer": transformer}, event, RULE)) == {
        "why": "test",
        "what": [],
        "kind": "kind",
        "rule": "r",
    }
    assert target_input({"InputTransformer": {"InputTemplate": "id <id> missing"}}, event, RULE) == "id <id> missing"


def test_json_path_reads_simple_paths_and_rejects_others() -> None:
    document = {"a": {"b": [10, 20]}, "c-d": 1}

    assert json_path(document, "$") == document
    assert json_path(document, "$.a.b[1]") == 20
    assert json_path(document, "$.a.b[5]") is None
    assert json_path(document, "$.c-d") == 1
    assert json_path(document, '$["a"].x') is None
    with pytest.raises(LocalCloudError, match="must start with"):
        json_path(document, "a.b")
    with pytest.raises(LocalCloudError, match="unsupported JSONPath"):
        json_path(document, "$..b")


def test_schedule_rules_receive_only_their_own_scheduled_event() -> None:
    schedule = {**RULE, "schedule": "rate(5 minutes)", "has_pattern": False}
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "resources": [RULE["arn"]]}

    assert rule_receives(schedule, scheduled, pattern_matches=True)
    assert not rule_receives(schedule, {**scheduled, "resources": ["arn:other"]}, pattern_matches=True)
    assert not rule_receives({**RULE, "enabled": False}, custom_event("x"), pattern_matches=True)
    assert rule_receives(RULE, custom_event("x"), pattern_matches=True)
    assert not rule_receives(RULE, custom_event("x"), pattern_matches=False)


def test_events_are_delivered_as_eventbridge_shapes_them() -> None:
    assert bus_for({"source": "aws.guardduty"}, "keel-dev") == "default"
    assert bus_for({"source": "keel.tickets"}, "keel-dev") == "keel-dev"
    assert bus_for({"source": "keel.tickets"}, None) == "default"
    assert normalized({"time": 0, "ingestion-time": 1}) == {"time": "1970-01-01T00:00:00Z"}
    assert execution_name("a b:c", 3) == "a-b-c-3"


def test_fault_specs_parse_and_are_consumed_in_order() -> None:
    plan = FaultPlan([parse_fault("fn:ThrottledError:2", "error"), parse_fault("other", "timeout")], failed_starts=1)

    taken = [plan.take("keel-dev-fn", "fn") for _ in range(3)]
    assert [(item.kind, item.error) if item else None for item in taken] == [("error", "ThrottledError")] * 2 + [None]
    assert plan.take_failed_start()
    assert not plan.take_failed_start()
    assert plan.unused() == ["other times out 1 time(s)"]
    assert plan.describe()[-1].startswith("StartExecution from EventBridge fails")
    assert parse_fault("fn:3", "throttle").times == 3
    for bad in (":1", "fn:x:y:z", "fn:-1"):
        with pytest.raises(LocalCloudError):
            parse_fault(bad, "error")


def test_the_virtual_clock_only_moves_forward() -> None:
    clock = VirtualClock()
    execution = "arn:aws:states:eu-west-1:111111111111:execution:keel-dev-a:one"
    before = clock.time()

    with acting_for(execution):
        clock.sleep(3600)
        waited = clock.time()

    assert waited - before >= 3600
    assert clock.time() - before < 3600  # outside the execution: world time, which did not move
    assert clock.now().tzinfo is None
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="backwards"):
        clock.wait(execution, -1)
    with pytest.raises(ValueError, match="only an execution's thread"):
        clock.sleep(1)


def backing_off(clock: VirtualClock, waiter: str, retried: threading.Event) -> None:
    """A running execution's 60 s retry interval; `retried` is set when it ends."""
    with acting_for(waiter), clock.running(waiter):
        clock.retry_sleep(60)
        retried.set()


def test_a_retry_interval_ends_only_once_the_executions_alongside_have_caught_up() -> None:
    # Given two executions running: a holder, and one backing off 60 s for what the holder holds
    clock = VirtualClock()
    holder, waiter = "arn:exec:holder", "arn:exec:waiter"
    retried = threading.Event()
    thread = threading.Thread(target=backing_off, args=(clock, waiter, retried))

    with clock.running(holder):
        thread.start()
        # When the holder has not reached the end of the interval, the retry waits for it
        clock.wait(holder, 30)
        assert not retried.wait(0.2)
        # Then it ends once the holder's time passes it (or the holder ends, or waits on a person)
        clock.wait(holder, 31)
        assert retried.wait(5)
    thread.join(5)
    assert clock.waited(waiter) == 60


def test_a_retry_does_not_wait_for_an_execution_that_waits_on_a_person_or_has_ended() -> None:
    clock = VirtualClock()
    approving, ended = "arn:exec:approving", "arn:exec:ended"
    with clock.running(approving), clock.blocked(approving):
        with clock.running(ended):
            pass
        with acting_for("arn:exec:retrying"):
            clock.retry_sleep(5)  # returns: nobody it could wait for is moving on its clock
    assert clock.waited("arn:exec:retrying") == 5


def test_a_retry_waits_for_a_neighbour_running_a_handler_however_long_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 0.05 s hold (so the test is quick), a holder inside a Lambda invocation that the machine
    # takes far longer than the hold to run, and a neighbour backing off for what the holder holds
    monkeypatch.setattr(clock_module, "RETRY_HOLD_SECONDS", 0.05)
    clock = VirtualClock()
    holder, waiter = "arn:exec:holder", "arn:exec:waiter"
    retried = threading.Event()
    thread = threading.Thread(target=backing_off, args=(clock, waiter, retried))

    with clock.running(holder):
        with clock.invoking(holder):
            thread.start()
            # When the invocation outlasts the hold many times over, the retry still waits
            assert not retried.wait(0.5)
        # Then once the handler has answered and the holder neither moves nor runs another, the
        # hold ends: a stuck execution cannot hang its neighbours
        assert retried.wait(5)
    thread.join(5)
    assert clock.waited(waiter) == 60
