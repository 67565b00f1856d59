"""Execution environments of a deployed function: worker processes, pooled and capped as Lambda scales.

A function's pool starts a worker (an execution environment, keel/local/lambda_worker.py) when an
invocation finds none idle, reuses an idle one otherwise (a warm start), and never holds more than
the function's concurrency: its reserved concurrency when the template sets one
(ReservedConcurrentExecutions), otherwise LOCAL_CONCURRENCY. An invocation beyond that is throttled,
as Lambda throttles a synchronous invocation over a function's concurrency
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html): Step Functions then
sees Lambda.TooManyRequestsException.

Workers are forked by multiprocessing's fork server, which has imported boto3, botocore and
Powertools once (PRELOAD): a new worker pays for its own function modules only, not for the SDK. The
fork server never imports a function module (a module reads its environment at import, and the fork
server's environment is not a function's), nor the host program's __main__ (multiprocessing would
run it again in every worker: `python -m keel`'s runs the CLI).

An invocation's timeout counts the time its worker had to itself, as Lambda's does for an environment
with its own share of CPU: not the time the worker's AWS calls waited for the local cloud's answer
(each worker says when a call starts, CloudCall, and when it returns, CloudAnswered; while a call waits the
timeout's clock is stopped, so a call still waiting when the time would be up does not end the
invocation), nor the time the worker was ready to run while the machine gave its CPU to others (the
kernel's run-queue delay, /proc/<pid>/schedstat). On AWS each service answers a call in
milliseconds; locally one Python process answers every function's calls, and in a storm of 50
executions on 2 cores a call can wait seconds behind the others. Without this, a 20-second guardrail
check timed out under load (Sandbox.Timedout) where on AWS it takes 100 ms. A handler that runs or
sleeps past its timeout still times out.

A worker that timed out or died is discarded; the next invocation gets a new one, as after a Lambda
timeout. Closing a pool stops its idle workers (each finishes and exits, so a coverage run records
what it executed) and kills those still busy; a worker whose local cloud disappears without closing
sees its connection close and exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import spawn
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from keel.local.errors import LocalCloudError
from keel.local.lambda_worker import CloudAnswered, CloudCall, Ready, Request, Response, WorkerSetup, serve

# How many execution environments of one function may run at once when the template reserves no
# concurrency: every invocation beyond it is throttled. Lambda's own limit is the account's
# concurrency (1,000 by default, shared by all functions); locally each environment is a process of
# about 60 MB, so the local cloud stops well before that.
LOCAL_CONCURRENCY = 64
# What the fork server imports once for every worker: the SDK and Powertools (not our code).
PRELOAD = (
    "boto3",
    "boto3.session",
    "boto3.dynamodb.types",
    "boto3.dynamodb.conditions",
    "botocore.session",
    "botocore.client",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "time_machine",
    "keel.local.lambda_worker",
)
WORKER_NAME = "keel-local-lambda"
# Seconds a worker gets to exit after being told to stop, before it is killed.
STOP_SECONDS = 10.0


class Throttled(Exception):
    """Every execution environment the function may have is busy."""


@dataclass(frozen=True)
class Answer:
    """A worker's answer to one invocation (or what became of it)."""

    response: Response
    cold_start_ms: float | None  # the init phase's duration when this invocation started a worker
    init_log: str = ""
    log_stream: str = ""  # the log stream of the execution environment that answered


def code_root() -> Path:
    """The directory holding the `functions` package: a worker's working directory, as /var/task on Lambda."""
    import functions

    return Path(functions.__file__).resolve().parent.parent


_SETUP_LOCK = threading.Lock()
_CONTEXT: list[ForkServerContext] = []


def worker_context() -> ForkServerContext:
    """multiprocessing's fork server context, set up once per process for Keel's workers."""
    with _SETUP_LOCK:
        if not _CONTEXT:
            context: ForkServerContext = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(PRELOAD))
            vars(spawn)["get_preparation_data"] = _without_main(spawn.get_preparation_data)
            _CONTEXT.append(context)
        return _CONTEXT[0]


def _without_main(original: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """multiprocessing's preparation of a child, less the host's __main__ for Keel's workers (whose
    name says they are), and in the code root. Other processes are prepared as multiprocessing does."""

    def get_preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        if name.startswith(WORKER_NAME):
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
            data["dir"] = str(code_root())
        return data

    return get_preparation_data


class Worker:
    """The local cloud's end of one worker process."""

    def __init__(self, setup: WorkerSetup, init_seconds: float) -> None:
        context = worker_context()
        self.setup = setup
        ours, theirs = context.Pipe(duplex=True)
        name = f"{WORKER_NAME} {setup.function}"
        self.process: Any = context.Process(target=serve, args=(theirs, setup), name=name, daemon=True)
        self.process.start()
        theirs.close()
        self.connection = ours
        self.ready: Ready | None = None
        self.failed_init: Response | None = None
        self._stopped = False
        answer = self._answer(init_seconds)
        if isinstance(answer, Ready):
            self.ready = answer
        else:
            self.failed_init = answer if isinstance(answer, Response) else _timed_out(setup.function, init_seconds)
            if answer is None:
                self.kill()

    def invoke(self, request: Request) -> Response:
        """One invocation; a worker that does not answer within the function's timeout is killed."""
        try:
            self.connection.send(request)
        except (BrokenPipeError, ConnectionResetError):
            return _exited(self.process, request.context.aws_request_id)
        answer = self._answer(request.context.timeout_seconds)
        if isinstance(answer, Response):
            return answer
        if answer is None:
            self.kill()
            return _timed_out(request.context.aws_request_id, request.context.timeout_seconds)
        return _exited(self.process, request.context.aws_request_id)

    def _answer(self, seconds: float) -> Ready | Response | EOFError | None:
        """The worker's answer within `seconds` of its own time (see the module's docstring); None when
        it did not come in time, EOFError when the worker is gone."""
        deadline = time.monotonic() + seconds
        delayed = run_queue_delay(self.process.pid)
        calls = _CallsWaiting()
        while True:
            answer = self._receive(None if calls.waiting else max(0.0, deadline - time.monotonic()))
            if isinstance(answer, CloudCall):
                calls.started()
                continue
            if isinstance(answer, CloudAnswered):
                deadline += calls.ended()
                continue
            if answer is None:
                now_delayed = run_queue_delay(self.process.pid)
                if now_delayed - delayed > 0.001:
                    deadline, delayed = deadline + now_delayed - delayed, now_delayed
                    continue
            return answer

    def _receive(self, seconds: float | None) -> Ready | Response | CloudCall | CloudAnswered | EOFError | None:
        """The worker's next message (waiting as long as it takes for None); None when it did not come in
        time, EOFError when the worker is gone."""
        try:
            if not self.connection.poll(seconds):
                return None
            message: Ready | Response | CloudCall | CloudAnswered = self.connection.recv()
        except (EOFError, OSError):
            return EOFError()
        return message

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def stop(self) -> None:
        """Ask the worker to finish, wait for it to exit (killed if it does not), release its resources.
        Only the thread using the worker, or the pool for an idle one, stops it."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError):  # already gone
            self.connection.send(None)
        self.process.join(STOP_SECONDS)
        self.kill()
        self.process.join()
        self.connection.close()
        self.process.close()

    def kill(self) -> None:
        """End the process now (any thread may: the one using the worker then sees it gone)."""
        # The thread using the worker may be stopping it at the same time (the pool closing while an
        # invocation ends): a process object it has closed meanwhile was joined, so it is gone already.
        with contextlib.suppress(ValueError):
            if self.process.is_alive():
                self.process.kill()


class _CallsWaiting:
    """The worker's AWS calls waiting for the local cloud (a handler may make several at once, from
    threads), and for how long at least one was: that time does not count against the timeout."""

    def __init__(self) -> None:
        self.waiting = 0
        self._since = 0.0

    def started(self) -> None:
        if not self.waiting:
            self._since = time.monotonic()
        self.waiting += 1

    def ended(self) -> float:
        """Seconds to add to the deadline: the time since a first call started, once none is waiting."""
        self.waiting = max(0, self.waiting - 1)
        return 0.0 if self.waiting else time.monotonic() - self._since


def run_queue_delay(pid: int | None) -> float:
    """Seconds the process has spent ready to run but waiting for a CPU (Linux's schedstat); 0.0 where
    the kernel does not say (then the machine's load counts against timeouts)."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _timed_out(request_id: str, seconds: float) -> Response:
    message = f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds"
    return Response({"errorType": "Sandbox.Timedout", "errorMessage": message}, True, "", seconds * 1000)


def _exited(process: Any, request_id: str) -> Response:
    process.join(STOP_SECONDS)
    status = process.exitcode
    message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}"
    return Response({"errorType": "Runtime.ExitError", "errorMessage": message}, True, "", 0.0)


class FunctionPool:
    """The execution environments of one function: at most `cap` at once."""

    def __init__(self, function: str, setup: Callable[[], WorkerSetup], cap: int, init_seconds: float) -> None:
        self.function = function
        self._setup = setup
        self.cap = cap
        self._init_seconds = init_seconds
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._busy = 0
        self._lock = threading.Lock()
        self._closed = False
        self.started = 0  # cold starts so far
        self.environment: dict[str, str] | None = None  # what its workers' os.environ holds

    def invoke(self, request: Callable[[str], Request]) -> Answer:
        """Run one invocation in an idle worker or a new one (the request is made for the worker's log
        stream); Throttled when `cap` are busy."""
        worker = self._acquire()
        cold_start_ms: float | None = None
        if worker is None:
            started = time.perf_counter()
            try:
                setup = self._setup()
                self.environment = setup.environment
                worker = Worker(setup, self._init_seconds)
            except BaseException:
                self._release(None)
                raise
            with self._lock:
                self._workers.add(worker)
                self.started += 1
            cold_start_ms = (time.perf_counter() - started) * 1000
            if worker.failed_init is not None:
                self._release(worker, reusable=False)
                return Answer(worker.failed_init, cold_start_ms, log_stream=worker.setup.log_stream)
        response = worker.invoke(request(worker.setup.log_stream))
        reusable = not response.errored or response.payload.get("errorType") not in ("Sandbox.Timedout", "Runtime.ExitError")
        self._release(worker, reusable=reusable and worker.alive())
        init_log = worker.ready.log if cold_start_ms is not None and worker.ready is not None else ""
        return Answer(response, cold_start_ms, init_log, worker.setup.log_stream)

    def _acquire(self) -> Worker | None:
        """An idle worker, or None when a new one may start (counted busy already)."""
        with self._lock:
            if self._closed:
                raise LocalCloudError("the local cloud is shutting down")
            if self._idle:
                self._busy += 1
                return self._idle.pop()
            if self._busy >= self.cap:
                raise Throttled
            self._busy += 1
            return None

    def _release(self, worker: Worker | None, *, reusable: bool = True) -> None:
        with self._lock:
            self._busy -= 1
            if worker is not None and reusable and not self._closed:
                self._idle.append(worker)
                return
            if worker is not None:
                self._workers.discard(worker)
        if worker is not None:
            worker.stop()

    def close(self) -> None:
        """Stop every worker: idle ones finish and exit, busy ones are killed."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [worker for worker in self._workers if worker not in idle]
            self._workers.clear()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()

    @property
    def sizes(self) -> tuple[int, int]:
        """(busy, idle) workers now."""
        with self._lock:
            return self._busy, len(self._idle)
