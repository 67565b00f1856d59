"""Our Lambda handlers, run by the local cloud as Lambda runs them: in execution environments of their own.

Each deployed function runs in worker processes of its own (keel/local/lambda_pool.py), each one an
execution environment: the function's environment variables (its configuration from the template,
Lambda's own variables, its role session's credentials), its own imported modules and module-level
state (settings, clients, Powertools' Logger and Metrics), and its own output, captured as the
invocation's log. Several invocations of one function run at once in several workers, up to the
function's concurrency; moto's interpreter threads wait for their answers without holding anything
the other executions need.

A worker's AWS calls go to the local cloud's endpoint on 127.0.0.1 (AWS_ENDPOINT_URL), signed with
its role session's keys, so the local cloud's IAM evaluation (keel/local/function_roles.py) refuses
what the role does not allow, as on AWS.

An unhandled exception becomes Lambda's error payload {"errorType": <class name>, ...}, so ASL
Retry/Catch match on the exception's name as on AWS; a worker that does not answer within the
function's timeout is killed and the invocation fails with Sandbox.Timedout.

An observer (the local cloud's CloudWatch, keel/local/observatory.py) hears of every invocation that
ran, with its log and the log stream of the environment that ran it, and of every throttled attempt.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from keel.local.clock import VirtualClock, current_execution
from keel.local.faults import FaultPlan, Injected
from keel.local.lambda_pool import LOCAL_CONCURRENCY, FunctionPool, Throttled, code_root
from keel.local.lambda_worker import ContextFacts, Request, Response, WorkerSetup
from keel.local.log_records import lambda_stream

PACKAGE = "functions"
# Host variables hidden from handlers: a function must get these from its own configuration. The
# host's AWS_SECURITY_TOKEN too: botocore reads it before AWS_SESSION_TOKEN, so it would pair the
# host's token with the function's keys.
HIDDEN_PREFIXES = ("KEEL_", "POWERTOOLS_", "AWS_LAMBDA_", "LAMBDA_", "_HANDLER", "_X_AMZN", "AWS_SECURITY_TOKEN")
# Lambda's limit on the init phase (importing the handler): "The Init phase is limited to 10 seconds
# ... Lambda retries the Init phase at the time of the first function invocation with the configured
# function timeout" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
INIT_SECONDS = 10
# The log stream that holds the invocations keel local failed on purpose (no environment ran them).
INJECTED_STREAM = "keel-local-injected-faults"


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    version: str
    log_group: str
    role: str = ""  # the execution role's ARN
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions, when the template sets it
    qualified_arn: str = ""  # the ARN invoked, with its version (function:NAME:3) when it is a published one
    code_root: str = ""  # where the version's code runs from; "": the repository

    @property
    def module(self) -> str:
        """The function module (functions.<module>.handler.lambda_handler -> <module>)."""
        parts = self.handler.split(".")
        return parts[1] if len(parts) > 2 and parts[0] == PACKAGE else self.handler.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    errored: bool
    error_type: str | None
    log: str
    module: str = ""
    execution: str | None = None  # the execution whose task invoked it
    duration_ms: float = 0.0  # time in the handler, measured in its worker
    cold_start_ms: float | None = None  # the worker's start and init phase, when this invocation needed a new one
    calls: tuple[tuple[str, int], ...] = ()  # the AWS calls the handler made ("dynamodb:PutItem", items)
    injected: bool = False  # a fault keel local injected: no handler ran
    started_at: float = 0.0  # when it was invoked (seconds since the epoch, on its execution's clock)
    log_stream: str = ""  # where its log went in the function's log group
    # The state whose task invoked it: every module task's payload names it ("step": $$.State.Name).
    step: str | None = None


class InvocationObserver(Protocol):
    def invoked(self, config: FunctionConfig, invocation: Invocation) -> None: ...

    def throttled(self, config: FunctionConfig, at: float) -> None: ...


def throttle_error(message: str) -> Exception:
    """What Lambda answers a throttled Invoke with: Step Functions sees Lambda.TooManyRequestsException."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("TooManyRequestsException", message)


@dataclass
class LambdaRuntime:
    clock: VirtualClock
    base_environment: dict[str, str]
    faults: FaultPlan
    # The credential variables of a function's role session; None: the base environment's credentials.
    credentials: Callable[[FunctionConfig], dict[str, str]] | None = None
    # Where workers send their AWS calls (the local cloud's endpoint); None: nowhere set.
    endpoint: str | None = None
    # Execution environments per function when its template reserves no concurrency.
    concurrency: int = LOCAL_CONCURRENCY
    invocations: list[Invocation] = field(default_factory=list)
    throttles: Counter[str] = field(default_factory=Counter)  # function name -> invocations throttled
    observer: InvocationObserver | None = None
    # Local-cloud settings for functions that call external APIs (KEEL_APIS): where the fakes listen
    # and the CA that signed their certificates (keel/local/fake_apis.py).
    api_settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def invoke(self, config: FunctionConfig, event: Any) -> tuple[str, bool, str]:
        """Run one invocation; (payload JSON, errored, log) as moto's _invoke_lambda returns."""
        request_id = str(uuid.uuid4())
        started_at = self.clock.time()
        injected = self.faults.take(config.name, config.module)
        slower = self._slowdown(config) if injected is None else 0.0
        if slower >= config.timeout:
            injected = Injected("timeout", "", f"slowed down by {slower:g} s, past its {config.timeout} s timeout")
            slower = 0.0
        if injected is not None:
            response, cold_start_ms, log = self._injected(injected, config, request_id), None, ""
            stream = lambda_stream(started_at, config.version, INJECTED_STREAM)
        else:
            try:
                with self.clock.invoking(current_execution()):
                    answer = self.pool(config).invoke(lambda stream: self._request(config, event, request_id, stream))
            except Throttled:
                self._count_throttle(config)
                raise throttle_error(
                    f"Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded: {config.name} runs "
                    f"{self.pool(config).cap} at once)"
                ) from None
            response, cold_start_ms, log, stream = answer.response, answer.cold_start_ms, answer.init_log, answer.log_stream
        log += response.log
        record = Invocation(
            function=config.name,
            request_id=request_id,
            errored=response.errored,
            error_type=response.payload.get("errorType") if response.errored else None,
            log=log,
            module=config.module,
            execution=current_execution(),
            duration_ms=response.duration_ms + slower * 1000,
            cold_start_ms=cold_start_ms,
            calls=tuple(response.calls),
            injected=injected is not None,
            started_at=started_at,
            log_stream=stream,
            step=event.get("step") if isinstance(event, dict) and isinstance(event.get("step"), str) else None,
        )
        with self._lock:
            self.invocations.append(record)
        if self.observer is not None:
            self.observer.invoked(config, record)
        return json.dumps(response.payload), response.errored, log

    def _slowdown(self, config: FunctionConfig) -> float:
        """A slowdown fault (--slow): the invocation's time on its execution's clock, before the handler runs.
        Only an execution's invocations have such a clock (a rotation's do not, and are not slowed)."""
        if current_execution() is None:
            return 0.0
        seconds = self.faults.take_slowdown(config.name, config.module)
        if 0 < seconds < config.timeout:
            self.clock.sleep(seconds)
        return seconds

    def pool(self, config: FunctionConfig) -> FunctionPool:
        """The function's execution environments, made at its first invocation."""
        with self._lock:
            # Each published version has its own environments: its code, its configuration.
            key = config.qualified_arn or config.arn
            pool = self._pools.get(key)
            if pool is None:
                if self._closed:
                    raise throttle_error("Rate Exceeded. (the local cloud is shutting down)")
                cap = config.reserved_concurrency if config.reserved_concurrency is not None else self.concurrency
                pool = FunctionPool(config.name, lambda: self._setup(config), cap, max(INIT_SECONDS, config.timeout))
                self._pools[key] = pool
            return pool

    def environments(self) -> dict[str, dict[str, str]]:
        """Function name -> the os.environ of its workers, for each function that has started one."""
        with self._lock:
            pools = list(self._pools.values())
        return {pool.function: pool.environment for pool in pools if pool.environment is not None}

    def close(self) -> None:
        """Stop every function's workers (each exits; one still busy is killed)."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def _count_throttle(self, config: FunctionConfig) -> None:
        with self._lock:
            self.throttles[config.name] += 1
        if self.observer is not None:
            self.observer.throttled(config, self.clock.time())

    def _injected(self, injected: Injected, config: FunctionConfig, request_id: str) -> Response:
        if injected.kind == "throttle":
            self._count_throttle(config)
            raise throttle_error(f"Rate Exceeded. (injected by keel local, {injected.note})")
        if injected.kind == "timeout":
            # The invocation ran for the whole timeout: on its execution's clock, not the world's.
            self.clock.sleep(config.timeout)
            message = f"RequestId: {request_id} Error: Task timed out after {config.timeout:.2f} seconds"
            timed_out = {"errorType": "Sandbox.Timedout", "errorMessage": message}
            return Response(timed_out, True, f"keel local: injected timeout ({injected.note})\n", config.timeout * 1000)
        failed: dict[str, Any] = {
            "errorType": injected.error,
            "errorMessage": f"injected by keel local ({injected.note})",
            "stackTrace": [],
        }
        return Response(failed, True, f"keel local: injected {injected.error} ({injected.note})\n", 0.0)

    def _request(self, config: FunctionConfig, event: Any, request_id: str, log_stream: str) -> Request:
        facts = ContextFacts(
            function_name=config.name,
            function_version=config.version,
            invoked_function_arn=config.arn,
            memory_limit_in_mb=config.memory,
            aws_request_id=request_id,
            log_group_name=config.log_group,
            log_stream_name=log_stream,
            timeout_seconds=float(config.timeout),
        )
        return Request(event, facts, self.clock.offset_seconds)

    def _setup(self, config: FunctionConfig) -> WorkerSetup:
        credentials = self.credentials(config) if self.credentials is not None else {}
        endpoint = {"AWS_ENDPOINT_URL": self.endpoint} if self.endpoint else {}
        apis = self.api_settings if "KEEL_APIS" in config.environment else {}
        environment = {**host_environment(), **self.variables(config), **credentials, **endpoint, **apis}
        stream = lambda_stream(self.clock.world_time(), config.version, uuid.uuid4().hex)
        root = config.code_root or str(code_root())
        return WorkerSetup(config.name, config.handler, environment, root, self.clock.offset_seconds, stream)

    def variables(self, config: FunctionConfig) -> dict[str, str]:
        """What the function finds in os.environ on Lambda: its configuration, Lambda's own variables,
        the local cloud's fake credentials, region and account. Not LAMBDA_TASK_ROOT: Powertools' Tracer
        would take it for Lambda and send X-Ray segments to a daemon that is not there."""
        region = self.base_environment.get("AWS_REGION", "")
        lambda_variables = {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python_keel_local",
            "AWS_DEFAULT_REGION": region,
            "_HANDLER": config.handler,
        }
        return {**self.base_environment, **lambda_variables, **config.environment}


def host_environment() -> dict[str, str]:
    """The host's variables a function may see (PATH, HOME, locale ...): not those it could mistake for
    its configuration (KEEL_*, POWERTOOLS_*, ...)."""
    return {name: value for name, value in os.environ.items() if not name.startswith(HIDDEN_PREFIXES)}
