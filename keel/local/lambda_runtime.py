"""Our Lambda handlers, run in-process as moto's Lambda, one sandbox per deployed function.

Each deployed function gets a sandbox: its own copy of the `functions` package (imported fresh, so
its module-level caches, settings, Logger and boto3 clients are its own, like a Lambda execution
environment after a cold start), its own environment variables (from the deployed configuration,
i.e. the template), and a Lambda-like context. `sys.modules` is process-wide, so invocations are
serialized by one lock. Whatever a handler prints (Powertools logs and EMF metrics) is captured as
the invocation's log, never mixed into the CLI's output.

moto runs other executions in their own threads meanwhile, and they read `os.environ` too (botocore
scans it for proxies on every client it makes): a handler's variables are seen by the handler's own
thread only, every other thread keeps reading the process's environment, unchanged.

With a `credentials` source (the local cloud's, keel/local/function_roles.py), a function signs its
calls with its own role's session, as on Lambda: the session's keys are in its environment (what a
new boto3 or Powertools session reads), and boto3.client() on the handler's thread uses them too
(boto3's default session is process-wide and keeps the first credentials it found).

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
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from keel.local.clock import VirtualClock
from keel.local.faults import FaultPlan, Injected

PACKAGE = "functions"
# Host variables hidden from handlers: a function must get these from its own configuration. The
# host's AWS_SECURITY_TOKEN too: botocore reads it before AWS_SESSION_TOKEN, so it would pair the
# host's token with the function's keys.
HIDDEN_PREFIXES = ("KEEL_", "POWERTOOLS_", "AWS_LAMBDA_", "LAMBDA_", "_HANDLER", "_X_AMZN", "AWS_SECURITY_TOKEN")

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
    role: str = ""  # the execution role's ARN

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
    # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN of its role session, once assumed.
    credentials: dict[str, str] | None = None


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
    # The credential variables of a function's role session; None: the base environment's credentials.
    credentials: Callable[[FunctionConfig], dict[str, str]] | None = None

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
        if sandbox.credentials is None:
            sandbox.credentials = self.credentials(sandbox.config) if self.credentials is not None else {}
        variables = {**self._variables(sandbox.config), **sandbox.credentials}
        with _environment(variables), _signing_with(sandbox.credentials), _capture(log), _modules_of(sandbox):
            try:
                if sandbox.handler is None:
                    sandbox.handler = _load_handler(sandbox.config.handler)
                result = sandbox.handler(event, context)
                return json.loads(json.dumps(result)), False
            except Exception as error:  # Lambda reports any unhandled exception as the invocation's error
                traceback.print_exc(file=log)
                return _error_payload(error), True

    def _variables(self, config: FunctionConfig) -> dict[str, str]:
        """What the function finds in os.environ on Lambda: its configuration, Lambda's own variables,
        the local cloud's fake credentials, region and account."""
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


class _ThreadEnvironments(MutableMapping[Any, Any]):
    """os.environ's storage while a handler runs: its thread reads and writes the function's own
    variables, every other thread the process's. Keys and values are encoded, as os.environ keeps them."""

    def __init__(self, process: MutableMapping[Any, Any]) -> None:
        self.process = process
        self._local = threading.local()

    @property
    def own(self) -> dict[Any, Any] | None:
        """The variables of the handler running on this thread; None on any other thread."""
        own: dict[Any, Any] | None = getattr(self._local, "own", None)
        return own

    @own.setter
    def own(self, variables: dict[Any, Any] | None) -> None:
        self._local.own = variables

    def _current(self) -> MutableMapping[Any, Any]:
        own = self.own
        return self.process if own is None else own

    def __getitem__(self, key: Any) -> Any:
        return self._current()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._current()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._current()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._current()))

    def __len__(self) -> int:
        return len(self._current())


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """The function's variables as os.environ, for the handler's thread only.

    That thread sees the process's variables, less the host's own a function could mistake for its
    configuration (KEEL_*, POWERTOOLS_*, ...), plus the function's. os.environ stays the same object
    (modules hold it); its storage is swapped for one that tells threads apart, so other threads
    (moto's interpreter, the CLI) go on reading the process's variables, which no handler changes.
    A handler invoking another function on its thread nests; invocations are serialized, so the
    process's own storage is back when the outermost one ends. What a handler writes stays its own,
    except that os.environ also passes it to putenv (what child processes would inherit).
    """
    environ: Any = os.environ
    storage = environ._data
    threads = storage if isinstance(storage, _ThreadEnvironments) else _ThreadEnvironments(storage)
    process = dict(threads.process)
    own = {key: value for key, value in process.items() if not environ.decodekey(key).startswith(HIDDEN_PREFIXES)}
    own.update({environ.encodekey(key): environ.encodevalue(value) for key, value in variables.items()})
    outer, threads.own = threads.own, own
    environ._data = threads
    try:
        yield
    finally:
        threads.own = outer
        if outer is None:
            environ._data = threads.process


_CLIENT_ARGUMENTS = {
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    "AWS_SESSION_TOKEN": "aws_session_token",
}


class _ThreadCredentials:
    """boto3's default session while a handler runs: clients made on the handler's thread are signed
    with the function's credentials (unless the caller passes its own), clients made on any other
    thread with whatever the process's session finds, as before. Everything else is the session's."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._local = threading.local()

    @property
    def own(self) -> dict[str, str] | None:
        own: dict[str, str] | None = getattr(self._local, "own", None)
        return own

    @own.setter
    def own(self, credentials: dict[str, str] | None) -> None:
        self._local.own = credentials

    def _signed(self, arguments: dict[str, Any]) -> dict[str, Any]:
        own = self.own
        if own is None or any(name in arguments for name in _CLIENT_ARGUMENTS.values()):
            return arguments
        return {**arguments, **{_CLIENT_ARGUMENTS[name]: value for name, value in own.items()}}

    def client(self, *args: Any, **kwargs: Any) -> Any:
        return self.session.client(*args, **self._signed(kwargs))

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        return self.session.resource(*args, **self._signed(kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@contextmanager
def _signing_with(credentials: dict[str, str]) -> Iterator[None]:
    """boto3.client() and boto3.resource() on this thread sign with these credentials (nesting like
    _environment; invocations are serialized, so the outermost one puts the process's session back)."""
    if not credentials:
        yield
        return
    import boto3

    current = boto3.DEFAULT_SESSION
    threads = current if isinstance(current, _ThreadCredentials) else _ThreadCredentials(current or boto3.session.Session())
    outer, threads.own = threads.own, credentials
    vars(boto3)["DEFAULT_SESSION"] = threads
    try:
        yield
    finally:
        threads.own = outer
        if outer is None:
            vars(boto3)["DEFAULT_SESSION"] = threads.session


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
