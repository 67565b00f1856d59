"""What runs inside a Lambda worker process: one execution environment of one deployed function.

The process is the function's own, as an execution environment on Lambda is: its environment variables
are exactly the function's (the template's, Lambda's own, its role session's credentials, and
AWS_ENDPOINT_URL, which sends every AWS call to the local cloud's endpoint on 127.0.0.1), its
`functions` modules are imported here and nowhere else (the init phase, once, as at a cold start),
and whatever it writes to stdout or stderr (Python's streams or the file descriptors themselves)
is its invocation's log. Its "now" is the local cloud's world time (keel/local/clock.py), set with
time-machine from the offset each invocation carries.

The worker answers one invocation at a time, as an execution environment does; several invocations
of one function at once run in several workers (keel/local/lambda_pool.py). It imports little
itself (this module is preloaded by the fork server, before any handler): never moto.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class WorkerSetup:
    """What a new execution environment is made of."""

    function: str
    handler: str  # functions.<module>.handler.lambda_handler
    environment: dict[str, str]  # the process's whole environment
    code_root: str  # the working directory, as /var/task is on Lambda
    world_offset: float  # seconds the local cloud's world is ahead of real time
    log_stream: str = ""  # its log stream in the function's log group, as Lambda names one per environment


@dataclass(frozen=True)
class ContextFacts:
    """What Lambda's `context` object tells a handler."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: float


@dataclass(frozen=True)
class Request:
    event: Any
    context: ContextFacts
    world_offset: float


@dataclass(frozen=True)
class Ready:
    """The init phase went through: the handler is imported."""

    init_ms: float
    log: str


@dataclass(frozen=True)
class CloudCall:
    """Sent by a worker as each AWS call starts: until its CloudAnswered, the invocation's time is stopped
    (keel/local/lambda_pool.py says why)."""


@dataclass(frozen=True)
class CloudAnswered:
    """Sent by a worker as each AWS call returns (the local cloud measures the wait itself: calls from
    several threads overlap)."""


@dataclass(frozen=True)
class Response:
    payload: Any  # what the handler returned, or Lambda's error payload
    errored: bool
    log: str
    duration_ms: float
    # The AWS calls the handler made: ("dynamodb:PutItem", items written or read), in order.
    calls: list[tuple[str, int]] = field(default_factory=list)


class LambdaContext:
    """The `context` a handler receives; the remaining time counts down from the invocation's start,
    less the time its AWS calls waited for the local cloud (as its timeout does)."""

    def __init__(self, facts: ContextFacts, calls: _Calls | None = None) -> None:
        self.function_name = facts.function_name
        self.function_version = facts.function_version
        self.invoked_function_arn = facts.invoked_function_arn
        self.memory_limit_in_mb = facts.memory_limit_in_mb
        self.aws_request_id = facts.aws_request_id
        self.log_group_name = facts.log_group_name
        self.log_stream_name = facts.log_stream_name
        self._deadline = time.monotonic() + facts.timeout_seconds
        self._calls = calls

    def get_remaining_time_in_millis(self) -> int:
        waited = self._calls.waited if self._calls is not None else 0.0
        return max(0, int((self._deadline + waited - time.monotonic()) * 1000))


class _Output:
    """File descriptors 1 and 2 point to one temporary file; each invocation's log is what was written
    to it meanwhile. sys.stdout and sys.stderr write straight through to those descriptors, so a logger
    bound to sys.stdout at import (Powertools') keeps writing into the current invocation's log."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - open for the process's life
        self._fd = self._file.fileno()
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            if stream is not None:
                stream.flush()
            os.dup2(self._fd, fd)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", write_through=True)

    def take(self) -> str:
        """Everything written since the last take, and the file emptied."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.lseek(self._fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self._fd, 65536):
            chunks.append(chunk)
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        return b"".join(chunks).decode("utf-8", errors="replace")


class _WorldClock:
    """time-machine ticking at world time: real time plus the world's offset, moved when it changes."""

    def __init__(self, offset: float) -> None:
        import time_machine

        self._offset = offset
        self._coordinates = time_machine.travel(time.time() + offset, tick=True).start()

    def set_offset(self, offset: float) -> None:
        if offset != self._offset:
            self._coordinates.shift(offset - self._offset)
            self._offset = offset


class _Calls:
    """The AWS API calls made through any botocore client of this process, for the invocation's record;
    the local cloud is told when each starts (CloudCall) and returns (CloudAnswered)."""

    def __init__(self, connection: Connection) -> None:
        import botocore.client

        self.made: list[tuple[str, int]] = []
        self.waited = 0.0  # seconds this invocation's calls have waited for the local cloud
        original = botocore.client.BaseClient._make_api_call
        calls = self

        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            calls.made.append((f"{client.meta.service_model.endpoint_prefix}:{operation}", items_of(params)))
            started = time.monotonic()
            connection.send(CloudCall())
            try:
                return original(client, operation, params)
            finally:
                waited = time.monotonic() - started
                calls.waited += waited
                connection.send(CloudAnswered())

        botocore.client.BaseClient._make_api_call = make_api_call

    def take(self) -> list[tuple[str, int]]:
        made, self.made, self.waited = self.made, [], 0.0
        return made


def items_of(params: dict[str, Any]) -> int:
    """How many items a call writes or reads (transactions, batches, PutEvents entries); 1 for any other."""
    return (
        len(params.get("TransactItems", []))
        or sum(len(requests) for requests in params.get("RequestItems", {}).values())
        or len(params.get("Entries", []))
        or 1
    )


def error_payload(error: BaseException) -> dict[str, Any]:
    """Lambda's answer for an unhandled exception: its class name is what ASL Retry/Catch match on."""
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def load_handler(dotted: str) -> Handler:
    module_name, _, attribute = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    handler: Handler = getattr(module, attribute)
    return handler


def serve(connection: Connection, setup: WorkerSetup) -> None:
    """The worker's life: set up, import the handler, answer invocations until told to stop (None) or
    until the local cloud's end of the connection closes."""
    # Ctrl-C reaches the whole process group; the local cloud stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    output = _Output()
    os.environ.clear()
    os.environ.update(setup.environment)
    os.chdir(setup.code_root)
    # The function's package first on the path, as /var/task is on Lambda: a published version's
    # staged package, not the repository's current files.
    sys.path.insert(0, setup.code_root)
    clock = _WorldClock(setup.world_offset)
    calls = _Calls(connection)
    started = time.perf_counter()
    try:
        handler = load_handler(setup.handler)
    except Exception as error:  # an init error is the invocation's error, as on Lambda
        traceback.print_exc()
        connection.send(Response(error_payload(error), True, output.take(), (time.perf_counter() - started) * 1000))
        return
    connection.send(Ready((time.perf_counter() - started) * 1000, output.take()))
    calls.take()
    while True:
        try:
            request = connection.recv()
        except EOFError:  # the local cloud is gone
            return
        if request is None:
            return
        clock.set_offset(request.world_offset)
        connection.send(invoke(handler, request, output, calls))


def invoke(handler: Handler, request: Request, output: _Output, calls: _Calls) -> Response:
    context = LambdaContext(request.context, calls)
    started = time.perf_counter()
    try:
        payload, errored = json.loads(json.dumps(handler(request.event, context))), False
    except Exception as error:  # Lambda reports any unhandled exception as the invocation's error
        traceback.print_exc()
        payload, errored = error_payload(error), True
    duration_ms = (time.perf_counter() - started) * 1000
    return Response(payload, errored, output.take(), duration_ms, calls.take())
