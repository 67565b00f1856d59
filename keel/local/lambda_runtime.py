"""Our Lambda handlers, run in-process as moto's Lambda, one sandbox per deployed function.

Each deployed function gets a sandbox: its own copy of the `functions` package (imported fresh, so
its module-level caches, settings, Logger and boto3 clients are its own, like a Lambda execution
environment after a cold start), its own environment variables (from the deployed configuration,
i.e. the template), and a Lambda-like context. `os.environ` and `sys.modules` are process-wide, so
invocations are serialized by one lock. Whatever a handler prints (Powertools logs and EMF metrics)
is captured as the invocation's log, never mixed into the CLI's output.

An unhandled exception becomes Lambda's error payload {"errorType": <class name>, ...}, so ASL
Retry/Catch match on the exception's name as on AWS.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from keel.local.clock import VirtualClock
from keel.local.faults import FaultPlan, Injected

PACKAGE = "functions"
# Host variables hidden from handlers: a function must get these from its own configuration.
HIDDEN_PREFIXES = ("KEEL_", "POWERTOOLS_", "AWS_LAMBDA_", "LAMBDA_", "_HANDLER", "_X_AMZN")

_LOCK = threading.RLock()


class _LambdaOutput(io.TextIOBase):
    """A stream that writes into the running invocation's log (stdout/stderr of handlers).

    Loggers created while a sandbox imports bind to this stream, so it is one object per stream
    per process. Only the thread running a handler writes into its log: while sys.stdout points
    here, every other thread (a CLI printing, a test) still writes where it wrote before.
    """

    def __init__(self, name: str) -> None:
        self.name_ = name
        self._local = threading.local()
        self.fallback: Any = None

    @property
    def buffer_(self) -> io.StringIO | None:
        buffer: io.StringIO | None = getattr(self._local, "buffer", None)
        return buffer

    @buffer_.setter
    def buffer_(self, value: io.StringIO | None) -> None:
        self._local.buffer = value

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        target = self.buffer_
        if target is None:
            target = self.fallback if self.fallback is not None else getattr(sys, f"__{self.name_}__")
        if target is not None:
            target.write(text)
        return len(text)


OUTPUT = _LambdaOutput("stdout")
ERRORS = _LambdaOutput("stderr")


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

    @property
    def module(self) -> str:
        """The function module (functions.<module>.handler.lambda_handler -> <module>)."""
        parts = self.handler.split(".")
        return parts[1] if len(parts) > 2 and parts[0] == PACKAGE else self.handler.rsplit(".", 1)[0]


class LambdaContext:
    """What Lambda passes as `context` (the attributes Powertools and handlers read)."""

    def __init__(self, config: FunctionConfig, clock: VirtualClock) -> None:
        self.function_name = config.name
        self.function_version = config.version
        self.invoked_function_arn = config.arn
        self.memory_limit_in_mb = config.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = config.log_group
        self.log_stream_name = f"local/[{config.version}]{self.aws_request_id.replace('-', '')}"
        self._deadline = clock.time() + config.timeout
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.time()) * 1000))


@dataclass
class Sandbox:
    config: FunctionConfig
    modules: dict[str, Any] = field(default_factory=dict)
    handler: Callable[[Any, Any], Any] | None = None


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    errored: bool
    error_type: str | None
    log: str


@dataclass
class LambdaRuntime:
    clock: VirtualClock
    base_environment: dict[str, str]
    faults: FaultPlan
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)

    def invoke(self, config: FunctionConfig, event: Any) -> tuple[str, bool, str]:
        """Run one invocation; (payload JSON, errored, log) as moto's _invoke_lambda returns."""
        with _LOCK:
            sandbox = self.sandboxes.setdefault(config.arn, Sandbox(config))
            context = LambdaContext(config, self.clock)
            injected = self.faults.take(config.name, config.module)
            log = io.StringIO()
            if injected is not None:
                payload, errored = self._injected(injected, config, context, log)
            else:
                payload, errored = self._run(sandbox, event, context, log)
            self.invocations.append(
                Invocation(
                    config.name, context.aws_request_id, errored, payload.get("errorType") if errored else None, log.getvalue()
                )
            )
            return json.dumps(payload), errored, log.getvalue()

    def _injected(self, injected: Injected, config: FunctionConfig, context: LambdaContext, log: io.StringIO) -> tuple[Any, bool]:
        if injected.kind == "throttle":
            from moto.core.exceptions import JsonRESTError

            log.write(f"keel local: injected throttle ({injected.note})\n")
            raise JsonRESTError("TooManyRequestsException", f"Rate Exceeded. (injected by keel local, {injected.note})")
        if injected.kind == "timeout":
            self.clock.advance(config.timeout)
            message = f"RequestId: {context.aws_request_id} Error: Task timed out after {config.timeout:.2f} seconds"
            log.write(f"keel local: injected timeout ({injected.note})\n")
            return {"errorType": "Sandbox.Timedout", "errorMessage": message}, True
        log.write(f"keel local: injected {injected.error} ({injected.note})\n")
        return {"errorType": injected.error, "errorMessage": f"injected by keel local ({injected.note})", "stackTrace": []}, True

    def _run(self, sandbox: Sandbox, event: Any, context: LambdaContext, log: io.StringIO) -> tuple[Any, bool]:
        with self._environment(sandbox.config), _capture(log), _modules_of(sandbox):
            try:
                if sandbox.handler is None:
                    sandbox.handler = _load_handler(sandbox.config.handler)
                result = sandbox.handler(event, context)
                return json.loads(json.dumps(result)), False
            except Exception as error:  # Lambda reports any unhandled exception as the invocation's error
                traceback.print_exc(file=log)
                return _error_payload(error), True

    @contextmanager
    def _environment(self, config: FunctionConfig) -> Iterator[None]:
        """The function's variables swapped into os.environ for the invocation.

        Other threads (moto's interpreter, the runner) read os.environ meanwhile, so it is changed key
        by key, never cleared: the fake credentials, region and MOTO_ACCOUNT_ID stay put throughout.
        Host variables a function could mistake for its own (KEEL_*, POWERTOOLS_*, ...) are hidden.
        """
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
        target = {**self.base_environment, **lambda_variables, **config.environment}
        hidden = [key for key in list(os.environ) if key.startswith(HIDDEN_PREFIXES) and key not in target]
        previous = {key: os.environ.get(key) for key in [*target, *hidden]}
        for key in hidden:
            os.environ.pop(key, None)
        os.environ.update(target)
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _error_payload(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _load_handler(dotted: str) -> Callable[[Any, Any], Any]:
    module_name, _, attribute = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    handler: Callable[[Any, Any], Any] = getattr(module, attribute)
    return handler


@contextmanager
def _capture(log: io.StringIO) -> Iterator[None]:
    for stream, current in ((OUTPUT, sys.stdout), (ERRORS, sys.stderr)):
        if current is not stream:
            stream.fallback = current
        stream.buffer_ = log
    try:
        with redirect_stdout(OUTPUT), redirect_stderr(ERRORS):
            yield
    finally:
        OUTPUT.buffer_ = None
        ERRORS.buffer_ = None


def _is_package_module(name: str) -> bool:
    return name == PACKAGE or name.startswith(f"{PACKAGE}.")


@contextmanager
def _modules_of(sandbox: Sandbox) -> Iterator[None]:
    """Swap the sandbox's own `functions` modules into sys.modules for the invocation."""
    host = {name: module for name, module in list(sys.modules.items()) if _is_package_module(name)}
    for name in host:
        del sys.modules[name]
    sys.modules.update(sandbox.modules)
    try:
        yield
    finally:
        sandbox.modules = {name: module for name, module in list(sys.modules.items()) if _is_package_module(name)}
        for name in sandbox.modules:
            del sys.modules[name]
        sys.modules.update(host)
