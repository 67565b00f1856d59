"""The local cloud runs Lambda functions as Lambda does: in execution environments (worker processes)
of their own, several invocations of one function at once, each environment with its own variables,
modules and output, up to the function's concurrency.

The handlers are tests/fixtures/local_functions/, deployed by tests/support/meeting_stack.py. None of
these tests asserts a timing: invocations prove they ran at once by meeting (each writes "arrived"
and waits, bounded, until all parties have), and virtual durations are read from histories.
"""

from __future__ import annotations

import http.server
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from keel.local.clock import VirtualClock
from keel.local.cloud import LocalCloud
from keel.local.faults import FaultPlan
from keel.local.lambda_pool import Worker, run_queue_delay
from keel.local.lambda_runtime import FunctionConfig, LambdaRuntime
from keel.local.report import ExecutionReport, execution_report
from keel.local.template import EnvironmentTemplate
from tests.support.eventually import eventually
from tests.support.meeting_stack import SETTING, TABLE, function_name, meeting_event, with_meeting_stack

PARTIES = 4
HOUR = 3600
DAY = 86_400


def answer(execution: ExecutionReport, handler: str) -> dict[str, Any]:
    assert execution.status == "SUCCEEDED", f"{execution.name}: {execution.status} {execution.error}: {execution.cause}"
    found: dict[str, Any] = execution.output[handler]["answer"]
    return found


def run(cloud: LocalCloud, events: list[dict[str, Any]]) -> list[ExecutionReport]:
    """Deliver every event before driving any execution, so they all run at once."""
    arns = [delivery.execution_arn for event in events for delivery in cloud.deliver(event) if delivery.execution_arn]
    cloud.drive()
    return [execution_report(cloud, arn) for arn in arns]


@pytest.fixture(scope="module")
def meeting(dev_template: EnvironmentTemplate) -> tuple[list[dict[str, Any]], LocalCloud, list[int]]:
    """PARTIES executions of one workflow whose function's invocations meet; the answers, the cloud
    (closed), and the pids of the workers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEEL_HOST_ONLY", "the host's")
        with LocalCloud(with_meeting_stack(dev_template)) as cloud:
            events = [meeting_event("meet", f"party-{number}", "meeting", PARTIES) for number in range(PARTIES)]
            answers = [answer(execution, "arrive") for execution in run(cloud, events)]
    return answers, cloud, [found["pid"] for found in answers]


def test_invocations_of_one_function_run_at_once(meeting: tuple[list[dict[str, Any]], LocalCloud, list[int]]) -> None:
    # Given PARTIES executions whose one function waits until PARTIES invocations have arrived
    answers, cloud, pids = meeting

    # Then all of them met: PARTIES invocations were in flight at once, in as many processes
    assert [(found["met"], found["arrived"]) for found in answers] == [(True, PARTIES)] * PARTIES
    assert len(set(pids)) == PARTIES
    assert cloud.runtime.throttles == {}


def test_each_worker_has_its_own_modules_and_environment(meeting: tuple[list[dict[str, Any]], LocalCloud, list[int]]) -> None:
    # Given PARTIES invocations of one function that ran at once
    answers, _cloud, _pids = meeting

    # Then each process counted only its own invocation (its own module state), saw the function's
    # configuration and none of another worker's writes to os.environ, nor the host's own variables
    assert [found["answered_here"] for found in answers] == [1] * PARTIES
    assert {found["setting"] for found in answers} == {SETTING}
    assert [found["written_before"] for found in answers] == [None] * PARTIES
    assert [found["host_only"] for found in answers] == [None] * PARTIES


def test_a_handlers_output_lands_in_its_own_invocations_log(meeting: tuple[list[dict[str, Any]], LocalCloud, list[int]]) -> None:
    # Given PARTIES invocations that each printed to stdout and stderr while the others ran
    answers, cloud, _pids = meeting
    logs = {invocation.request_id: invocation.log for invocation in cloud.runtime.invocations}
    assert [found["met"] for found in answers] == [True] * PARTIES  # all in flight at once

    # Then each invocation's log holds its own lines and no other's
    for found in answers:
        log = logs[found["request_id"]]
        assert f"stdout of {found['name']}" in log
        assert f"stderr of {found['name']}" in log
        assert [other["name"] for other in answers if f"of {other['name']}\n" in log] == [found["name"]]


def test_workers_are_gone_once_the_cloud_is_closed(meeting: tuple[list[dict[str, Any]], LocalCloud, list[int]]) -> None:
    # Given the workers of a cloud that has been closed
    _answers, _cloud, pids = meeting

    # Then no process of theirs is left
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_worker_stopped_by_its_own_thread_meanwhile_can_still_be_killed_by_the_closing_pool() -> None:
    # Given a worker whose process its own thread has just stopped, joined and closed
    process = multiprocessing.get_context("spawn").Process(target=int)
    process.start()
    process.join()
    process.close()
    worker = Worker.__new__(Worker)
    worker.process = process

    # When the pool, closing at the same moment, kills it / Then that is no error: it is gone already
    worker.kill()


def test_an_idle_worker_answers_the_next_invocation_warm(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(with_meeting_stack(dev_template)) as cloud:
        # When one function is invoked twice, one invocation after the other
        [first] = run(cloud, [meeting_event("probe", "first", "warm")])
        [second] = run(cloud, [meeting_event("probe", "second", "warm")])
        starts = [invocation.cold_start_ms for invocation in cloud.runtime.invocations]

    # Then the second ran in the first's worker, without a cold start
    assert answer(first, "probe")["pid"] == answer(second, "probe")["pid"]
    assert answer(second, "probe")["answered_here"] == 2
    assert starts[0] is not None
    assert starts[1] is None


def test_driving_waits_for_a_handler_slower_than_the_drive_limit(dev_template: EnvironmentTemplate) -> None:
    # Given a cloud whose driver gives up after 1.5 s without progress, and an execution whose handler
    # holds for about 4.5 s (until a release is written): a slow machine, not a stuck one
    with LocalCloud(with_meeting_stack(dev_template), drive_limit_seconds=1.5) as cloud:
        [held] = [d.execution_arn for d in cloud.deliver(meeting_event("hold", "slow", "late")) if d.execution_arn]
        table = cloud.client("dynamodb")
        released = {"pk": {"S": "late"}, "sk": {"S": "release"}}
        release = threading.Timer(4.5, lambda: table.put_item(TableName=TABLE, Item=released))
        release.start()

        # When it is driven
        cloud.drive()
        release.join()
        report, blocked = execution_report(cloud, held), dict(cloud.blocked)

    # Then the driver waited for the handler in flight, and the execution ended released
    assert report.status == "SUCCEEDED", blocked
    assert answer(report, "hold")["released"] is True


def test_an_invocation_over_the_reserved_concurrency_is_throttled(dev_template: EnvironmentTemplate) -> None:
    # Given a function whose template reserves a concurrency of 1, busy with one invocation
    with LocalCloud(with_meeting_stack(dev_template, reserved={"hold": 1})) as cloud:
        [busy] = [d.execution_arn for d in cloud.deliver(meeting_event("hold", "busy", "gate")) if d.execution_arn]
        table = cloud.client("dynamodb")
        eventually(lambda: table.query(**_members(TABLE, "gate"))["Count"] == 1, "the first invocation to arrive")

        # When a second execution invokes it meanwhile
        [second] = [d.execution_arn for d in cloud.deliver(meeting_event("hold", "second", "gate")) if d.execution_arn]
        eventually(lambda: cloud.execution_status(second) != "RUNNING", "the second execution to end")
        table.put_item(TableName=TABLE, Item={"pk": {"S": "gate"}, "sk": {"S": "release"}})
        cloud.drive()
        throttled, served = execution_report(cloud, second), execution_report(cloud, busy)
        throttles = dict(cloud.runtime.throttles)

    # Then Lambda refuses it as Lambda does (Step Functions sees Lambda.TooManyRequestsException),
    # and the first goes on undisturbed
    assert (throttled.status, throttled.error) == ("FAILED", "Lambda.TooManyRequestsException")
    assert answer(served, "hold")["released"] is True
    assert throttles == {function_name("hold"): 1}


def _members(table: str, group: str) -> dict[str, Any]:
    return {"TableName": table, "KeyConditionExpression": "pk = :g", "ExpressionAttributeValues": {":g": {"S": group}}}


def test_a_wait_in_one_execution_leaves_the_durations_of_another_alone(dev_template: EnvironmentTemplate) -> None:
    # Given two executions that meet; then one waits an hour and lets the other go, which holds meanwhile
    with LocalCloud(with_meeting_stack(dev_template)) as cloud:
        waiting, holding = run(
            cloud,
            [meeting_event("meet_wait_release", "waiting", "pair", 2), meeting_event("meet_hold", "holding", "pair", 2)],
        )

    # Then the hour is on the waiting execution's clock only: the holding one's Hold state, which ran
    # across it, lasted what it really lasted
    assert answer(waiting, "arrive")["met"]
    assert answer(holding, "arrive")["met"]
    wait = next(state for state in waiting.states if state.name == "WaitAnHour")
    hold = next(state for state in holding.states if state.name == "Hold")
    assert (wait.duration_ms or 0) >= HOUR * 1000
    assert answer(holding, "hold")["released"] is True
    assert (hold.duration_ms or 0) < HOUR * 1000
    assert (holding.duration_seconds or 0) < HOUR

    # And handlers read world time, one timeline for all executions: the waiting execution's handler,
    # after its hour, does not see that hour (its history, on its own clock, does)
    probe = next(state for state in waiting.states if state.name == "Probe")
    assert answer(waiting, "probe")["now"] < probe.entered.timestamp() - HOUR / 2


def test_handlers_see_the_world_move_when_the_cloud_clock_advances(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(with_meeting_stack(dev_template)) as cloud:
        # When a handler reads the time, the world moves on a day, and the same worker reads it again
        [before] = run(cloud, [meeting_event("probe", "before", "clock")])
        cloud.clock.advance(DAY)
        [after] = run(cloud, [meeting_event("probe", "after", "clock")])

    # Then the second reading is a day later, and so is the second execution's start
    assert answer(after, "probe")["pid"] == answer(before, "probe")["pid"]
    assert answer(after, "probe")["now"] - answer(before, "probe")["now"] >= DAY
    assert (after.started - before.started).total_seconds() >= DAY


def misbehaving(name: str, timeout: int = 30) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        arn=f"arn:aws:lambda:eu-west-1:111111111111:function:{name}",
        handler=f"tests.fixtures.local_functions.misbehaving.{name}",
        environment={},
        timeout=timeout,
        memory=128,
        version="$LATEST",
        log_group=f"/aws/lambda/{name}",
    )


@pytest.fixture
def runtime() -> Iterator[LambdaRuntime]:
    """The runtime alone, without a cloud: handlers that make no AWS call."""
    alone = LambdaRuntime(clock=VirtualClock(), base_environment={"AWS_REGION": "eu-west-1"}, faults=FaultPlan())
    yield alone
    alone.close()


def test_an_unhandled_exception_is_lambdas_error_payload(runtime: LambdaRuntime) -> None:
    payload, errored, log = runtime.invoke(misbehaving("fail"), {})

    assert errored
    assert '"errorType": "ResourceGone"' in payload
    assert "ResourceGone: the instance is gone" in log


def test_an_invocation_past_its_timeout_is_stopped_and_its_worker_replaced(runtime: LambdaRuntime) -> None:
    # When a handler runs past its function's 1-second timeout, then the function is invoked again
    payload, errored, _ = runtime.invoke(misbehaving("overrun", timeout=1), {})
    runtime.invoke(misbehaving("overrun", timeout=1), {})

    # Then the invocation timed out as on Lambda, and the next one needed a new worker
    assert errored
    assert '"errorType": "Sandbox.Timedout"' in payload
    assert [invocation.cold_start_ms is not None for invocation in runtime.invocations] == [True, True]


@contextmanager
def slow_endpoint(seconds: float) -> Iterator[str]:
    """An endpoint that takes `seconds` to answer each call (with an empty ListQueues answer)."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(seconds)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def invoked_with_slow_calls(call_seconds: float, calls: int) -> tuple[str, bool]:
    """A function with a 1-second timeout, invoked once, its `calls` AWS calls each waiting `call_seconds`."""
    fake_keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1"}
    runtime = LambdaRuntime(clock=VirtualClock(), base_environment=fake_keys, faults=FaultPlan())
    try:
        with slow_endpoint(call_seconds) as endpoint:
            payload, errored, _ = runtime.invoke(misbehaving("slow_calls", timeout=1), {"endpoint": endpoint, "calls": calls})
    finally:
        runtime.close()
    return payload, errored


def test_time_waiting_for_the_cloud_does_not_count_against_the_timeout() -> None:
    # Given a function with a 1-second timeout whose three AWS calls each wait 0.6 s for the cloud
    # (on AWS they take milliseconds; locally one process answers every function's calls)
    # When it is invoked
    payload, errored = invoked_with_slow_calls(0.6, calls=3)

    # Then it answered: 1.8 s of waiting for the cloud is not its own time, nor is it taken from
    # the remaining time its context reports
    assert not errored, payload
    assert json.loads(payload)["remaining_ms"] > 0


def test_a_call_still_waiting_for_the_cloud_when_the_time_is_up_does_not_time_out() -> None:
    # Given a function with a 1-second timeout whose one AWS call waits 2.5 s for the cloud
    # When it is invoked
    payload, errored = invoked_with_slow_calls(2.5, calls=1)

    # Then the call's wait did not count while it lasted: the invocation answered
    assert not errored, payload
    assert json.loads(payload)["remaining_ms"] > 0


def test_run_queue_delay_is_read_from_the_kernel_or_zero() -> None:
    assert run_queue_delay(os.getpid()) >= 0.0
    assert run_queue_delay(None) == 0.0


def test_a_worker_that_exits_fails_its_invocation(runtime: LambdaRuntime) -> None:
    payload, errored, _ = runtime.invoke(misbehaving("exit_now"), {})

    assert errored
    assert '"errorType": "Runtime.ExitError"' in payload
    assert "exit status 3" in payload


def test_a_handler_that_cannot_be_imported_fails_each_invocation(runtime: LambdaRuntime) -> None:
    missing = FunctionConfig(**{**vars(misbehaving("answer")), "handler": "tests.fixtures.local_functions.absent.handler"})

    first = runtime.invoke(missing, {})
    second = runtime.invoke(missing, {})

    for payload, errored, _log in (first, second):
        assert errored
        assert '"errorType": "ModuleNotFoundError"' in payload
