"""A handler's environment variables and credentials are its own thread's: moto's other threads never
see them come and go.

The handlers here are this module's functions, held open until the test has looked at os.environ
from another thread (as moto's interpreter threads do while a handler runs).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from keel.local.clock import VirtualClock
from keel.local.faults import FaultPlan
from keel.local.lambda_runtime import FunctionConfig, LambdaRuntime

OBSERVED = ("AWS_LAMBDA_FUNCTION_NAME", "SETTING", "KEEL_HOST_ONLY")


def function(name: str, handler: str) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        arn=f"arn:aws:lambda:eu-west-1:111111111111:function:{name}",
        handler=f"{__name__}.{handler}",
        environment={"SETTING": f"{name} setting"},
        timeout=3,
        memory=128,
        version="$LATEST",
        log_group=f"/aws/lambda/{name}",
    )


def seen() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in OBSERVED}


def held_open(event: dict[str, Any], _context: Any) -> dict[str, str | None]:
    event["running"].set()
    event["release"].wait()
    return seen()


def invoking_another(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    runtime: LambdaRuntime = event["runtime"]
    payload, _, _ = runtime.invoke(function("inner", "held_open"), event)
    return {"inner": json.loads(payload), "outer": seen()}


def signing_key(service: str = "sts") -> str:
    import boto3

    return str(boto3.client(service, region_name="eu-west-1")._get_credentials().access_key)


def signing_held_open(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    event["running"].set()
    event["release"].wait()
    keys = {"client": signing_key(), "environment": os.environ.get("AWS_ACCESS_KEY_ID")}
    return {**keys, "host_token": os.environ.get("AWS_SECURITY_TOKEN")}


def invoking_another_signing(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    runtime: LambdaRuntime = event["runtime"]
    payload, _, _ = runtime.invoke(function("inner", "signing_held_open"), event)
    return {"inner": json.loads(payload), "outer": signing_key("dynamodb")}


def writing(_event: Any, _context: Any) -> dict[str, str | None]:
    os.environ["KEEL_WRITTEN_BY_HANDLER"] = "written"
    del os.environ["SETTING"]
    return {"written": os.environ.get("KEEL_WRITTEN_BY_HANDLER"), "setting": os.environ.get("SETTING")}


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> LambdaRuntime:
    monkeypatch.setenv("KEEL_HOST_ONLY", "host")
    return LambdaRuntime(clock=VirtualClock(), base_environment={"AWS_REGION": "eu-west-1"}, faults=FaultPlan())


@pytest.fixture
def gates() -> Iterator[dict[str, threading.Event]]:
    events = {"running": threading.Event(), "release": threading.Event()}
    yield events
    events["release"].set()  # a failed assertion must not leave the handler's thread waiting


def invoke_on_a_thread(
    runtime: LambdaRuntime, config: FunctionConfig, event: dict[str, Any]
) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(runtime.invoke(config, event)), daemon=True)
    thread.start()
    return thread, results


def test_other_threads_see_the_process_environment_while_a_handler_runs(runtime: LambdaRuntime, gates: dict[str, Any]) -> None:
    # Given a handler running on its own thread
    thread, results = invoke_on_a_thread(runtime, function("probe", "held_open"), gates)
    assert gates["running"].wait(timeout=60)

    # When another thread reads os.environ meanwhile
    beside = seen()
    listed = dict(os.environ)
    gates["release"].set()
    thread.join()
    ((payload, errored, _),) = results

    # Then it sees the process's variables only; the handler saw its function's, not the host's
    assert beside == {"AWS_LAMBDA_FUNCTION_NAME": None, "SETTING": None, "KEEL_HOST_ONLY": "host"}
    assert "AWS_LAMBDA_FUNCTION_NAME" not in listed
    assert not errored
    assert json.loads(payload) == {"AWS_LAMBDA_FUNCTION_NAME": "probe", "SETTING": "probe setting", "KEEL_HOST_ONLY": None}


def test_a_function_invoked_by_a_handler_sees_its_own_variables_then_the_caller_its_own(
    runtime: LambdaRuntime, gates: dict[str, Any]
) -> None:
    # Given a handler that invokes another function on its own thread
    thread, results = invoke_on_a_thread(runtime, function("outer", "invoking_another"), {**gates, "runtime": runtime})
    assert gates["running"].wait(timeout=60)
    beside = seen()
    gates["release"].set()
    thread.join()
    ((payload, errored, _),) = results

    # Then each saw its own variables, other threads neither, and the process's environment is as it was
    assert not errored
    assert json.loads(payload) == {
        "inner": {"AWS_LAMBDA_FUNCTION_NAME": "inner", "SETTING": "inner setting", "KEEL_HOST_ONLY": None},
        "outer": {"AWS_LAMBDA_FUNCTION_NAME": "outer", "SETTING": "outer setting", "KEEL_HOST_ONLY": None},
    }
    assert beside == seen() == {"AWS_LAMBDA_FUNCTION_NAME": None, "SETTING": None, "KEEL_HOST_ONLY": "host"}


def test_what_a_handler_writes_into_os_environ_stays_its_own(runtime: LambdaRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the host has a variable of the name the function's configuration also sets
    monkeypatch.setenv("SETTING", "host setting")

    # When a handler sets one variable and deletes the other
    payload, errored, _ = runtime.invoke(function("writer", "writing"), {})

    # Then it saw its own writes, and the process's variables are as they were
    assert not errored
    assert json.loads(payload) == {"written": "written", "setting": None}
    assert "KEEL_WRITTEN_BY_HANDLER" not in os.environ
    assert os.environ["SETTING"] == "host setting"


def role_credentials(config: FunctionConfig) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": f"ASIA{config.name.upper()}", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}


def test_a_handler_signs_with_its_functions_credentials_and_other_threads_with_the_processs(
    gates: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    # Given a runtime that gives each function credentials of its own, and the process's default session
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "HOSTKEY")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "host token")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.session.Session())
    process_session = boto3.DEFAULT_SESSION
    runtime = LambdaRuntime(clock=VirtualClock(), base_environment={}, faults=FaultPlan(), credentials=role_credentials)

    # When a handler that invokes another function runs on its own thread, and this thread makes a client meanwhile
    thread, results = invoke_on_a_thread(runtime, function("outer", "invoking_another_signing"), {**gates, "runtime": runtime})
    assert gates["running"].wait(timeout=60)
    beside = signing_key()
    gates["release"].set()
    thread.join()
    ((payload, errored, _),) = results

    # Then each function's clients and environment had its own keys, this thread the process's, and
    # boto3's default session is the process's again
    assert not errored
    assert json.loads(payload) == {
        "inner": {"client": "ASIAINNER", "environment": "ASIAINNER", "host_token": None},
        "outer": "ASIAOUTER",
    }
    assert beside == signing_key() == "HOSTKEY"
    assert boto3.DEFAULT_SESSION is process_session
    assert os.environ["AWS_SECURITY_TOKEN"] == "host token"
