"""Every use of moto's private internals, in one place. Written against moto==5.2.5 (pinned exactly).

moto has no public hook for what the local cloud needs, so this module patches these points and
nothing else (tests/local/test_moto_canary.py fails loudly, naming the point, if an upgrade moves one):

- moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload_json, errored, logs):
  moto runs Lambda code only in Docker; we run our handlers in-process instead.
- moto.events.models.Rule.send_to_targets(self, event, transform_input=True): moto raises
  NotImplementedError for Step Functions targets; we start executions (with retries and the DLQ).
- ...state.wait.wait_function.wait_function.WaitFunction._wait_interval(self, env, wait_seconds):
  Wait states sleep for real; the execution's virtual time moves on instead.
- ...common.retry.retrier_decl.time (the module's `time`): Retry intervals call time.sleep; they
  wait on the virtual clock once the executions alongside have caught up (keel/local/clock.py).
- the `datetime` module global of the interpreter modules that stamp times (history events, execution
  start/stop, $$.State.EnteredTime, Timestamp waits): they read the virtual clock.
- moto.stepfunctions.parser.backend.execution_worker.ExecutionData (the context object's Execution):
  moto puts a datetime in $$.Execution.StartTime, which breaks any task that passes it on (the Keel
  prologue's claim does); AWS gives an ISO 8601 string like 2026-11-22T09:00:00.123Z.
- ...eval.callback.callback.CallbackEndpoint.wait(self, timeout): .waitForTaskToken waits for real;
  we register the wait so the runner can answer it (--approve/--reject) or let its timeout expire on
  the virtual clock.

- moto.core.responses.BaseResponse.call_action(self): every request a service handles (in-process or
  through the local cloud's endpoint, which our workers and `keel local up`'s clients call), made
  atomic by one lock (keel/local/request_lock.py); a request signed with a function's role
  credentials is answered with the service's AccessDenied when the role does not allow it
  (keel/local/function_roles.py); an operation moto does not implement is answered as AWS answers
  an operation an endpoint does not offer (moto raises NotImplementedError, which its endpoint
  turns into an HTTP 500 page that a client takes for a failure worth retrying).
- moto.stepfunctions.parser.backend.execution_worker.ExecutionWorker._execution_logic, and the
  `threading` / `Thread` module globals of the interpreter modules that start threads for an
  execution: each of those threads knows which execution it works for, so it reads and advances
  that execution's virtual time (keel/local/clock.py).
- moto.dynamodb.models.DynamoDBBackend.transact_write_items: without copying whole tables
  (keel/local/moto_transactions.py).
- moto.dynamodb.models.table.Table.query, put_item, delete_item and DynamoDBBackend.update_item: a
  query starts from the queried partition or index key, not from every item (keel/local/moto_dynamodb.py);
  and the backends' tables, read to expire items whose TTL has passed.
- ...parse.asl_parser.AmazonStateLanguageParser.parse, and the module globals `parse` of
  ...utils.json_path and `boto3` of ...utils.boto_client: built once, not per execution, per path
  read, per service task (keel/local/moto_caches.py).
- moto.stepfunctions.parser.models.StepFunctionsParserBackend._get_executions: the executions every
  SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat and map-run call looks through, each reading
  its environment; one that has just started has none yet (its thread is still building it) and moto
  fails with AttributeError. Such an execution waits on no token yet: it is left out.
- moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host(self, host): which
  service answers a request to the endpoint; moto lists its own package directory and tries every
  service's URL patterns for each request, under a lock all requests share. The answer depends on
  the host name only: it is kept per host name.
- reads of the Step Functions backend (execution_status, execution_record, pending_callbacks):
  the API's serializer is slow and would queue behind the executions' own calls.
- moto.cloudwatch.responses.CloudWatchResponse.describe_alarm_history (which moto does not
  implement): answered with the state changes the local cloud's alarm evaluation recorded; and the
  CloudWatch, CloudWatch Logs and SQS backends the observability reads and writes
  (keel/local/moto_cloudwatch.py).
- moto.cloudwatch.models.are_dimensions_same (a module function): ListMetrics lists each metric once,
  but moto's comparison of two metrics' dimensions fails whenever they have more than one, so every
  datapoint of a Powertools metric (three dimensions) was listed again.
- moto.secretsmanager.models.SecretsManagerBackend.rotate_secret: a rotation step that fails ends the
  rotation with AWSCURRENT unchanged, and a rotation asked for without a function uses the one its
  schedule names (keel/local/moto_rotation.py).
- the same ExecutionWorker._execution_logic tells the local cloud when each execution starts and
  ends, wherever it was started from: Step Functions' metrics and logs are produced from that.

Everything moto-private is typed Any on purpose: these are not APIs and carry no stable types.
"""

from __future__ import annotations

import datetime as _datetime
import importlib
import inspect
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from keel.local import moto_cloudwatch, moto_stepfunctions
from keel.local.clock import VirtualClock, acting_for, current_execution
from keel.local.errors import LocalCloudError
from keel.local.function_roles import Denial
from keel.local.iam_requests import ApiCall
from keel.local.moto_caches import (
    ASL_PARSER,
    BOTO_CLIENT_MODULE,
    JSON_PATH_MODULE,
    PREPROCESSOR,
    cached_json_path,
    cached_parse,
    client_per_service,
)
from keel.local.moto_dynamodb import (
    BACKEND_UPDATE,
    TABLE_DELETE,
    TABLE_PUT,
    TABLE_QUERY,
    TableIndexes,
    expire_items,
    indexed_query,
    tracking_delete,
    tracking_put,
    tracking_update,
)
from keel.local.moto_rotation import ROTATE_SECRET, Rotation, check_step, configure_schedule, rotating
from keel.local.moto_transactions import BACKEND as TRANSACT_WRITE
from keel.local.moto_transactions import fast_transact_write_items
from keel.local.request_lock import RequestLock

MOTO_VERSION = "5.2.5"

_SFN = "moto.stepfunctions.parser.asl"
LAMBDA_FUNCTION = ("moto.awslambda.models", "LambdaFunction", "_invoke_lambda")
EVENTS_RULE = ("moto.events.models", "Rule", "send_to_targets")
WAIT_FUNCTION = (f"{_SFN}.component.state.wait.wait_function.wait_function", "WaitFunction", "_wait_interval")
CALLBACK_ENDPOINT = (f"{_SFN}.eval.callback.callback", "CallbackEndpoint", "wait")
RETRIER_MODULE = f"{_SFN}.component.common.retry.retrier_decl"
EXECUTION_DATA = ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionData")
# Every request any service answers, in-process or through the endpoint, goes through here.
CALL_ACTION = ("moto.core.responses", "BaseResponse", "call_action")
REQUESTS = RequestLock()
# Where an execution's first thread starts, and the interpreter modules that start more threads for it.
EXECUTION_LOGIC = ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker", "_execution_logic")
THREADING_MODULES = (
    f"{_SFN}.component.program.program",
    f"{_SFN}.component.state.exec.state_map.iteration.inline_iteration_component",
    f"{_SFN}.component.state.exec.state_task.service.state_task_service_callback",
    f"{_SFN}.component.state.exec.state_parallel.branch_worker",
)
THREAD_MODULES = (f"{_SFN}.component.state.exec.execute_state",)
EXECUTIONS = ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend", "_get_executions")
# StartExecution on a version or alias ARN (moto starts neither: keel/local/releases.py routes them).
# ListStateMachineVersions, which moto 5.2.5 does not answer (`keel ops versions|rollback|promote` read it).
SFN_RESPONSE = ("moto.stepfunctions.responses", "StepFunctionResponse")
# UpdateStateMachineAlias by an operator (`keel ops rollback|promote`): the local cloud routes by it.
ALIAS_UPDATE = ("moto.stepfunctions.models", "StepFunctionBackend", "update_state_machine_alias")
START_EXECUTION = moto_stepfunctions.START_EXECUTION
DISPATCHER = ("moto.moto_server.werkzeug_app", "DomainDispatcherApplication", "get_backend_for_host")
SAME_DIMENSIONS = ("moto.cloudwatch.models", "are_dimensions_same")
# Modules whose `datetime` global stamps times the user sees.
DATETIME_MODULES = (
    f"{_SFN}.eval.event.event_manager",
    f"{_SFN}.component.state.state",
    f"{_SFN}.component.state.wait.wait_function.timestamp",
    f"{_SFN}.component.state.exec.state_map.iteration.itemprocessor.map_run_record",
    f"{_SFN}.component.state.exec.state_parallel.branches_decl",
    "moto.stepfunctions.parser.models",
    "moto.stepfunctions.parser.backend.execution",
)
PATCHED_METHODS = (
    LAMBDA_FUNCTION,
    START_EXECUTION,
    ALIAS_UPDATE,
    EVENTS_RULE,
    WAIT_FUNCTION,
    CALLBACK_ENDPOINT,
    CALL_ACTION,
    EXECUTION_LOGIC,
    EXECUTIONS,
    DISPATCHER,
    TRANSACT_WRITE,
    ASL_PARSER,
    TABLE_QUERY,
    TABLE_PUT,
    TABLE_DELETE,
    BACKEND_UPDATE,
    ROTATE_SECRET,
)
# What a refusal is serialized with, in the request's own protocol (JSON, query, EC2, CBOR).
SERVICE_EXCEPTION = ("moto.core.exceptions", "ServiceException")
ACTION_RESULT = ("moto.core.responses", "ActionResult")


class Hooks(Protocol):
    """What the local cloud does at each patch point."""

    clock: VirtualClock

    def invoke_lambda(self, function: Any, event: Any) -> tuple[str, bool, str]: ...

    def send_to_targets(self, rule: Any, event: dict[str, Any], original: Callable[..., None]) -> None: ...

    def wait_for_callback(self, endpoint: Any, timeout: float | None) -> Any: ...

    def evaluates(self, access_key_id: str) -> bool: ...

    def authorize(self, access_key_id: str, call: ApiCall) -> Denial | None: ...

    def execution_started(self, execution_arn: str) -> None: ...

    def execution_ended(self, execution_arn: str) -> None: ...

    def alarm_history(self, parameters: dict[str, Any]) -> list[dict[str, Any]]: ...

    def qualified(self, state_machine_arn: str) -> tuple[str | None, str | None]: ...

    def alias_updated(self, alias_arn: str, routing: dict[str, int]) -> None: ...

    def rotation_ended(self, rotation: Rotation) -> None: ...


def _resolve(module: str, owner: str | None = None, attribute: str | None = None) -> Any:
    try:
        target: Any = importlib.import_module(module)
        for name in (owner, attribute):
            if name is not None:
                target = getattr(target, name)
    except (ImportError, AttributeError) as error:
        where = ".".join(part for part in (module, owner, attribute) if part)
        raise LocalCloudError(
            f"moto patch point {where} is gone (Keel's local cloud is written for moto {MOTO_VERSION})"
        ) from error
    return target


def check_patch_points() -> list[str]:
    """Every patch point, resolved; raises LocalCloudError naming the first one that moved."""
    found = []
    for module, owner, attribute in PATCHED_METHODS:
        _resolve(module, owner, attribute)
        found.append(f"{module}.{owner}.{attribute}")
    _resolve(RETRIER_MODULE, "time")
    found.append(f"{RETRIER_MODULE}.time")
    _resolve(*EXECUTION_DATA)
    found.append(".".join(EXECUTION_DATA))
    _resolve(*PREPROCESSOR)
    found.append(".".join(PREPROCESSOR))
    for point in (SERVICE_EXCEPTION, ACTION_RESULT):
        _resolve(*point)
        found.append(".".join(point))
    found += _module_globals_are(JSON_PATH_MODULE, "parse", "jsonpath_ng.ext.parser")
    found += _module_globals_are(BOTO_CLIENT_MODULE, "boto3", "boto3")
    for module in DATETIME_MODULES:
        if _resolve(module, "datetime") is not _datetime:
            raise LocalCloudError(f"moto patch point {module}.datetime is no longer the datetime module")
        found.append(f"{module}.datetime")
    for module in THREADING_MODULES:
        if _resolve(module, "threading") is not threading:
            raise LocalCloudError(f"moto patch point {module}.threading is no longer the threading module")
        found.append(f"{module}.threading")
    for module in THREAD_MODULES:
        if _resolve(module, "Thread") is not threading.Thread:
            raise LocalCloudError(f"moto patch point {module}.Thread is no longer threading.Thread")
        found.append(f"{module}.Thread")
    _resolve("moto.stepfunctions.responses", "get_backend")
    _resolve(*moto_stepfunctions.RESPONSE)
    _resolve("moto.events.models", "events_backends")
    _resolve("moto.sns.models", "sns_backends")
    _resolve("moto.iam.models", "iam_backends")
    _resolve("moto.secretsmanager.models", "secretsmanager_backends")
    _resolve("moto.secretsmanager.exceptions", "SecretNotFoundException")
    _resolve("moto.dynamodb.models", "dynamodb_backends")
    for point in (*moto_cloudwatch.POINTS, SAME_DIMENSIONS):
        moto_cloudwatch.resolve(point)
        found.append(".".join(point))
    return found


def _module_globals_are(module: str, name: str, origin: str) -> list[str]:
    """`module.name` still comes from `origin` (a function's module, or the module itself)."""
    value = _resolve(module, name)
    if getattr(value, "__module__", getattr(value, "__name__", None)) != origin:
        raise LocalCloudError(f"moto patch point {module}.{name} is no longer from {origin}")
    return [f"{module}.{name}"]


def _datetime_shim(clock: VirtualClock) -> types.ModuleType:
    class VirtualDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
            return clock.now(tz)

        @classmethod
        def utcnow(cls) -> Any:
            return clock.now()

    shim = types.ModuleType("datetime")
    shim.__dict__.update({key: value for key, value in vars(_datetime).items() if not key.startswith("__")})
    shim.datetime = VirtualDatetime  # type: ignore[attr-defined]
    return shim


def _retrier_time(clock: VirtualClock) -> types.SimpleNamespace:
    """The Retry module's `time`: its intervals wait on the virtual clock, for the others to catch up."""
    return types.SimpleNamespace(sleep=clock.retry_sleep, time=clock.time)


class ExecutionThread(threading.Thread):
    """A thread moto's interpreter starts for an execution: it works for the execution its creator works for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._execution = current_execution()

    def run(self) -> None:
        with acting_for(self._execution):
            super().run()


def _threading_shim() -> types.ModuleType:
    shim = types.ModuleType("threading")
    shim.__dict__.update({key: value for key, value in vars(threading).items() if not key.startswith("__")})
    shim.Thread = ExecutionThread  # type: ignore[attr-defined]
    return shim


def _backend_per_host(original: Callable[[Any, str | None], Any]) -> Callable[[Any, str | None], Any]:
    backends: dict[str | None, Any] = {}

    def get_backend_for_host(dispatcher: Any, host: str | None) -> Any:
        if host not in backends:  # moto calls this under its dispatcher's lock
            backends[host] = original(dispatcher, host)
        return backends[host]

    return get_backend_for_host


def _started_executions(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def get_executions(backend: Any, *args: Any, **kwargs: Any) -> list[Any]:
        found = original(backend, *args, **kwargs)
        return [execution for execution in found if getattr(execution.exec_worker, "env", None) is not None]

    return get_executions


_VERSION_SWAP = threading.Lock()


def _install_versions(replace: Callable[[Any, str, Any], None], hooks: Hooks) -> None:
    """Executions on versions and aliases, operators' alias updates, ListStateMachineVersions."""
    replace(_resolve(*START_EXECUTION[:2]), START_EXECUTION[2], _versioned_start(_resolve(*START_EXECUTION), hooks))
    replace(_resolve(*ALIAS_UPDATE[:2]), ALIAS_UPDATE[2], _alias_update(_resolve(*ALIAS_UPDATE), hooks))
    replace(_resolve(*SFN_RESPONSE), "list_state_machine_versions", _list_state_machine_versions)
    replace(_resolve(*SFN_RESPONSE), "describe_execution", _described_with_version(_resolve(*SFN_RESPONSE, "describe_execution")))


def _versioned_start(original: Callable[..., Any], hooks: Hooks) -> Callable[..., Any]:
    """StartExecution on a version ARN runs that version's definition; on an alias ARN, the version
    the alias routes it to. The execution belongs to the state machine (its ARN is unqualified, as on
    AWS); the backend remembers its version and alias (versions_of), from before its first state runs."""

    def start_execution(backend: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        version_arn, alias_arn = hooks.qualified(state_machine_arn)
        if version_arn is None:
            return original(backend, state_machine_arn, *args, **kwargs)
        source_arn, number = version_arn.rsplit(":", 1)
        source = backend.describe_state_machine(source_arn)
        published = source.versions[int(number)]
        name = kwargs.get("name", args[0] if args else None)
        execution_arn = f"{source_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        versions_of(backend)[execution_arn] = (version_arn, alias_arn)
        with _VERSION_SWAP:  # the execution snapshots the machine it starts on: the version's definition
            saved, source.definition = source.definition, published.definition
            try:
                return original(backend, source_arn, *args, **kwargs)
            finally:
                source.definition = saved

    return start_execution


def _list_state_machine_versions(response: Any) -> Any:
    """ListStateMachineVersions as AWS answers it: the versions of a state machine, newest first."""
    from moto.core.responses import ActionResult

    machine = response.stepfunction_backend.describe_state_machine(response._get_param("stateMachineArn"))
    published = sorted(machine.versions.values(), key=lambda version: version.version, reverse=True)
    return ActionResult(
        {"stateMachineVersions": [{"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in published]}
    )


def _described_with_version(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """DescribeExecution with stateMachineVersionArn and stateMachineAliasArn, as AWS answers for an
    execution started on a version or through an alias."""

    def describe_execution(response: Any) -> Any:
        answer = original(response)
        version, alias = versions_of(response.stepfunction_backend).get(response._get_param("executionArn"), (None, None))
        result = answer.result
        if isinstance(result, dict) and version is not None:
            result["stateMachineVersionArn"] = version
            if alias is not None:
                result["stateMachineAliasArn"] = alias
        return answer

    return describe_execution


def _alias_update(original: Callable[..., Any], hooks: Hooks) -> Callable[..., Any]:
    def update_state_machine_alias(backend: Any, arn: str, description: str | None, routing_configuration: Any) -> Any:
        alias = original(backend, arn, description, routing_configuration)
        if routing_configuration:
            hooks.alias_updated(
                arn, {str(entry["stateMachineVersionArn"]): int(entry["weight"]) for entry in routing_configuration}
            )
        return alias

    return update_state_machine_alias


def versions_of(backend: Any) -> dict[str, tuple[str, str | None]]:
    """Execution ARN -> (version ARN, alias ARN) of the executions started on a version or alias."""
    known: dict[str, tuple[str, str | None]] = vars(backend).setdefault("keel_versions", {})
    return known


def execution_version(account: str, region: str, execution_arn: str) -> tuple[str | None, str | None]:
    """The state machine version and alias an execution was started on (None, None: unqualified)."""
    backend = _resolve("moto.stepfunctions.responses", "get_backend")(account, region)
    return versions_of(backend).get(execution_arn, (None, None))


def _execution_logic(original: Callable[[Any], None], hooks: Hooks) -> Callable[[Any], None]:
    """An execution's first thread works for that execution (whoever started it: a rule, a test, a
    client), which runs on the clock until its program ends; the hooks hear when it starts and when it
    has ended (its status and stop date set)."""

    def execution_logic(worker: Any) -> None:
        arn = str(worker._evaluation_details.execution_details.arn)
        with acting_for(arn):
            with hooks.clock.running(arn):
                hooks.execution_started(arn)
                original(worker)
            hooks.execution_ended(arn)

    return execution_logic


def _same_dimensions(one: list[Any], other: list[Any]) -> bool:
    """Two metrics' dimensions are the same when they hold the same names and values, in any order."""
    return sorted((d.name, d.value) for d in one) == sorted((d.name, d.value) for d in other)


def _alarm_history(hooks: Hooks) -> Callable[[Any], Any]:
    def describe_alarm_history(response: Any) -> Any:
        parameters = {
            name: response._get_param(name)
            for name in ("AlarmName", "HistoryItemType", "StartDate", "EndDate", "MaxRecords", "ScanBy")
        }
        return moto_cloudwatch.history_result(hooks.alarm_history(parameters))

    return describe_alarm_history


def aws_timestamp(value: _datetime.datetime) -> str:
    """How Step Functions writes times in the context object: 2026-11-22T09:00:00.123Z."""
    utc = value.astimezone(_datetime.UTC) if value.tzinfo else value
    return f"{utc.strftime('%Y-%m-%dT%H:%M:%S')}.{utc.microsecond // 1000:03d}Z"


def _execution_data(original: Any) -> Callable[..., Any]:
    def execution_data(**fields: Any) -> Any:
        start = fields.get("StartTime")
        if isinstance(start, _datetime.datetime):
            fields["StartTime"] = aws_timestamp(start)
        return original(**fields)

    return execution_data


@contextmanager
def installed(hooks: Hooks) -> Iterator[None]:
    """Patch moto for the duration of the block; every original is restored on exit."""
    check_patch_points()
    originals: list[tuple[Any, str, Any]] = []

    def replace(owner: Any, attribute: str, value: Any) -> None:
        # A class's own attribute as stored (a staticmethod stays one when it is put back); _ABSENT for
        # one that moto does not have (removed on exit).
        stored = vars(owner).get(attribute) if isinstance(owner, type) else None
        originals.append((owner, attribute, stored if stored is not None else getattr(owner, attribute, _ABSENT)))
        setattr(owner, attribute, value)

    original_send = _resolve(*EVENTS_RULE)

    def invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
        # The function runs in its worker, whose own requests need the lock this Invoke holds.
        with REQUESTS.released():
            return check_step(event, *hooks.invoke_lambda(function, event))  # a rotation's failed step ends it

    def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:
        hooks.send_to_targets(rule, event, lambda *args: original_send(rule, *args, transform_input))

    def wait_interval(_function: Any, env: Any, wait_seconds: float) -> None:  # noqa: ARG001 - moto passes env by name
        hooks.clock.sleep(wait_seconds)

    def callback_wait(endpoint: Any, timeout: float | None = None) -> Any:
        return hooks.wait_for_callback(endpoint, timeout)

    replace(_resolve(*CALL_ACTION[:2]), CALL_ACTION[2], _atomic(_authorizing(_offered(_resolve(*CALL_ACTION)), hooks)))
    replace(_resolve(*EXECUTION_LOGIC[:2]), EXECUTION_LOGIC[2], _execution_logic(_resolve(*EXECUTION_LOGIC), hooks))
    replace(moto_cloudwatch.resolve(moto_cloudwatch.CLOUDWATCH_RESPONSE), "describe_alarm_history", _alarm_history(hooks))
    replace(_resolve(SAME_DIMENSIONS[0]), SAME_DIMENSIONS[1], _same_dimensions)
    statistics = moto_cloudwatch.resolve(moto_cloudwatch.STATISTICS)
    replace(statistics, "get_statistics_for_type", moto_cloudwatch.with_percentiles(statistics.get_statistics_for_type))
    replace(_resolve(*EXECUTIONS[:2]), EXECUTIONS[2], _started_executions(_resolve(*EXECUTIONS)))
    _install_versions(replace, hooks)
    replace(_resolve(*DISPATCHER[:2]), DISPATCHER[2], _backend_per_host(_resolve(*DISPATCHER)))
    threading_shim = _threading_shim()
    for module in THREADING_MODULES:
        replace(_resolve(module), "threading", threading_shim)
    for module in THREAD_MODULES:
        replace(_resolve(module), "Thread", ExecutionThread)
    replace(_resolve(*LAMBDA_FUNCTION[:2]), LAMBDA_FUNCTION[2], invoke_lambda)
    rotate = rotating(_resolve(*ROTATE_SECRET), hooks, _resolve("moto.secretsmanager.exceptions"))
    replace(_resolve(*ROTATE_SECRET[:2]), ROTATE_SECRET[2], rotate)
    transact = fast_transact_write_items(_resolve(*TRANSACT_WRITE), _resolve(TRANSACT_WRITE[0]))
    replace(_resolve(*TRANSACT_WRITE[:2]), TRANSACT_WRITE[2], transact)
    _install_dynamodb_indexes(replace)
    replace(_resolve(*EVENTS_RULE[:2]), EVENTS_RULE[2], send_to_targets)
    parse = cached_parse(_resolve(*ASL_PARSER), _resolve(*PREPROCESSOR))
    replace(_resolve(*ASL_PARSER[:2]), ASL_PARSER[2], staticmethod(parse))
    replace(_resolve(JSON_PATH_MODULE), "parse", cached_json_path(_resolve(JSON_PATH_MODULE, "parse")))
    replace(_resolve(BOTO_CLIENT_MODULE), "boto3", client_per_service(_resolve(BOTO_CLIENT_MODULE, "boto3")))
    replace(_resolve(*WAIT_FUNCTION[:2]), WAIT_FUNCTION[2], wait_interval)
    for owner, attribute, value in moto_stepfunctions.patches(_resolve, _resolve(*ACTION_RESULT)):
        replace(owner, attribute, value)
    replace(_resolve(*CALLBACK_ENDPOINT[:2]), CALLBACK_ENDPOINT[2], callback_wait)
    replace(_resolve(RETRIER_MODULE), "time", _retrier_time(hooks.clock))
    replace(_resolve(EXECUTION_DATA[0]), EXECUTION_DATA[1], _execution_data(_resolve(*EXECUTION_DATA)))
    shim = _datetime_shim(hooks.clock)
    for module in DATETIME_MODULES:
        replace(_resolve(module), "datetime", shim)
    try:
        yield
    finally:
        _restore(originals)


_ABSENT = object()


def _install_dynamodb_indexes(replace: Callable[[Any, str, Any], None]) -> None:
    """Queries start from the queried key (keel/local/moto_dynamodb.py), kept up to date by every write."""
    indexes = TableIndexes()
    replace(_resolve(*TABLE_QUERY[:2]), TABLE_QUERY[2], indexed_query(_resolve(*TABLE_QUERY), indexes))
    replace(_resolve(*TABLE_PUT[:2]), TABLE_PUT[2], tracking_put(_resolve(*TABLE_PUT), indexes))
    replace(_resolve(*TABLE_DELETE[:2]), TABLE_DELETE[2], tracking_delete(_resolve(*TABLE_DELETE), indexes))
    replace(_resolve(*BACKEND_UPDATE[:2]), BACKEND_UPDATE[2], tracking_update(_resolve(*BACKEND_UPDATE), indexes))


def _restore(originals: list[tuple[Any, str, Any]]) -> None:
    for owner, attribute, value in reversed(originals):
        if value is _ABSENT:
            delattr(owner, attribute)
        else:
            setattr(owner, attribute, value)


# Requests as services receive them, and their refusal.


def _atomic(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def atomic_action(response: Any) -> Any:
        with REQUESTS.held():
            return action(response)

    return atomic_action


def _authorizing(original_action: Callable[[Any], Any], hooks: Hooks) -> Callable[[Any], Any]:
    """call_action, answering with the service's refusal what a function's role does not allow."""

    def authorized_action(response: Any) -> Any:
        access_key = _access_key_of(response)
        if access_key is None or not hooks.evaluates(access_key):
            return original_action(response)
        denial = hooks.authorize(access_key, api_call(response))
        return original_action(response) if denial is None else _refused(response, denial)

    return authorized_action


# How AWS answers an operation an endpoint does not offer: InvalidAction in the Query protocol
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html, 400), an
# UnknownOperationException in the JSON and CBOR protocols.
QUERY_PROTOCOLS = ("query", "query-json", "ec2")


def _offered(original_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """call_action, answering an operation moto does not implement with the protocol's unknown-operation
    error (what functions/shared/adapters/alarms.py reads as "this endpoint does not offer it")."""

    def offered_action(response: Any) -> Any:
        operation = str(response._get_action() or "")
        if not operation or inspect.isfunction(getattr(type(response), _underscored(operation), None)):
            return original_action(response)
        service_model = _resolve("moto.core.responses", "get_service_model")(response.boto3_service_name)
        protocol = response.determine_response_protocol(service_model)
        code = "InvalidAction" if protocol in QUERY_PROTOCOLS else "UnknownOperationException"
        message = f"{operation} is not an operation this endpoint offers (moto {MOTO_VERSION} does not implement it)"
        return _refused(response, Denial(code, 400, message))

    return offered_action


def _underscored(operation: str) -> str:
    converted: str = _resolve("moto.core.utils", "camelcase_to_underscores")(operation)
    return converted


def _access_key_of(response: Any) -> str | None:
    """The access key a SigV4 request is signed with (Authorization: ... Credential=KEY/date/region/service/...)."""
    authorization = str(response.headers.get("Authorization") or "")
    scope = authorization.partition("Credential=")[2].partition(",")[0]
    return scope.split("/", 1)[0] or None


def api_call(response: Any) -> ApiCall:
    """The request moto's response handler is about to answer: service, operation, region, parameters."""
    scope = str(response.headers.get("Authorization") or "").partition("Credential=")[2].partition(",")[0].split("/")
    region = scope[2] if len(scope) > 3 else str(response.region)
    service = scope[3] if len(scope) > 3 else str(response.service_name)
    account = str(response.current_account)
    return ApiCall(
        service=service,
        operation=str(response._get_action()),
        region=region,
        account=account,
        parameter=response._get_param,
        secret_arn=lambda secret_id: _secret_arn(account, region, secret_id),
    )


def _refused(response: Any, denial: Denial) -> tuple[int, dict[str, Any], Any]:
    """The service's own error response for the refusal, serialized in the request's protocol."""
    exception = _service_exception()(denial.code, denial.message)
    with warnings.catch_warnings():
        # moto warns when an error code is not one of the service model's error shapes: AccessDenied
        # codes are common errors, listed in no model.
        warnings.simplefilter("ignore", UserWarning)
        _status, headers, body = response.serialized(_resolve(*ACTION_RESULT)(exception))
    headers["status"] = denial.status
    return denial.status, headers, body


_EXCEPTION_TYPES: dict[str, type] = {}


def _service_exception() -> type:
    """A ServiceException subclass outside moto's packages, so moto's serializer looks for the error
    shape in the request's service model (not in a moto package named after the exception's module)."""
    if "refused" not in _EXCEPTION_TYPES:
        _EXCEPTION_TYPES["refused"] = type("AccessRefused", (_resolve(*SERVICE_EXCEPTION),), {"__module__": __name__})
    return _EXCEPTION_TYPES["refused"]


def _secret_arn(account: str, region: str, secret_id: str) -> str | None:
    backend = _resolve("moto.secretsmanager.models", "secretsmanager_backends")[account][region]
    try:
        return str(backend.describe_secret(secret_id).arn)
    except _resolve("moto.secretsmanager.exceptions", "SecretNotFoundException"):
        return None


def configure_rotation(account: str, region: str, secret_id: str, function_arn: str, days: int) -> None:
    """A RotationSchedule deployed: its secret names the function and the period, as DescribeSecret shows."""
    backends = _resolve("moto.secretsmanager.models", "secretsmanager_backends")
    with REQUESTS.held():
        configure_schedule(backends[account][region], secret_id, function_arn, days)


def role_policies(account: str, role_arn: str) -> tuple[list[str | dict[str, Any]], str | None]:
    """The role's policy documents as moto's IAM holds them now (inline, then managed), and its
    permissions boundary's; no documents when the role does not exist."""
    partition = role_arn.split(":")[1] if role_arn.count(":") >= 5 else "aws"
    backend = _resolve("moto.iam.models", "iam_backends")[account][partition]
    role = next((role for role in backend.roles.values() if role.arn == role_arn), None)
    if role is None:
        return [], None
    identity: list[str | dict[str, Any]] = [*role.policies.values()]
    identity += [_default_document(policy) for policy in role.managed_policies.values()]
    boundary_arn = role.permissions_boundary_arn
    boundary = _default_document(backend.managed_policies[boundary_arn]) if boundary_arn in backend.managed_policies else None
    return identity, boundary


def _default_document(policy: Any) -> str:
    return str(next(version.document for version in policy.versions if version.is_default))


# Reading moto's state (private structures, same version caveat).


def lambda_function_facts(function: Any) -> dict[str, Any]:
    """What a moto LambdaFunction holds that an invocation needs."""
    return {
        "name": function.function_name,
        "qualified_arn": str(function.function_arn),
        "arn": function.function_arn,
        "handler": function.handler,
        "environment": dict(function.environment_vars or {}),
        "timeout": int(function.timeout),
        "memory": int(function.memory_size),
        "version": str(function.version),
        "log_group": function.logs_group_name,
        "role": str(function.role),
        "reserved_concurrency": None if function.reserved_concurrency is None else int(function.reserved_concurrency),
    }


def rule_facts(rule: Any) -> dict[str, Any]:
    return {
        "name": rule.name,
        "arn": rule.arn,
        "bus": rule.event_bus_name,
        "schedule": rule.scheduled_expression,
        "has_pattern": bool(rule.event_pattern.dump()),
        "enabled": rule.state == "ENABLED",
        "targets": list(rule.targets),
        "account": rule.account_id,
        "region": rule.region_name,
    }


def pattern_matches(rule: Any, event: dict[str, Any]) -> bool:
    return bool(rule.event_pattern.matches_event(event))


def rules_on_bus(account: str, region: str, bus: str) -> list[Any]:
    backends = _resolve("moto.events.models", "events_backends")
    backend = backends[account][region]
    return list(backend.describe_event_bus(bus).rules.values())


def published_messages(account: str, region: str) -> list[tuple[str, str | None, str]]:
    """(topic ARN, subject, message) of everything published to SNS topics, in order per topic: moto
    delivers to no email or HTTPS subscriber, so its record of what was sent is the only copy of a page."""
    backend = _resolve("moto.sns.models", "sns_backends")[account][region]
    return [
        (arn, subject, message)
        for arn, topic in sorted(backend.topics.items())
        for _id, message, subject, *_rest in list(topic.sent_notifications)
    ]


def _execution(account: str, region: str, execution_arn: str) -> Any:
    return _resolve("moto.stepfunctions.responses", "get_backend")(account, region).describe_execution(execution_arn)


def execution_status(account: str, region: str, execution_arn: str) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED, read from the backend: polling it through the
    API would serialize a response each time and queue behind the executions' own calls."""
    return str(_execution(account, region, execution_arn).exec_status.value)


def execution_record(account: str, region: str, execution_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An execution as DescribeExecution and GetExecutionHistory describe it (status and event types
    as strings, times as datetimes), read from the backend: moto's serializer takes about 50 ms per history."""
    execution = _execution(account, region, execution_arn)
    described = dict(execution.to_describe_output())
    described["status"] = str(described["status"].value)
    events = [
        {**event, "type": str(event["type"].value), "timestamp": _datetime.datetime.fromisoformat(event["timestamp"])}
        for event in execution.to_history_output()["events"]
    ]
    return described, events


def expire_dynamodb_items(now: float) -> int:
    """Delete the items whose TTL has passed by `now` (epoch seconds), as one atomic request would."""
    with REQUESTS.held():
        return expire_items(_resolve("moto.dynamodb.models", "dynamodb_backends"), now)


def pending_callbacks(account: str, region: str, execution_arn: str) -> list[Any]:
    """The callback endpoints (task tokens) an execution is waiting on and nobody has answered."""
    execution = _execution(account, region, execution_arn)
    env = getattr(getattr(execution, "exec_worker", None), "env", None)
    if env is None:  # not started yet, or already finished
        return []
    pool = env.callback_pool_manager._pool
    return [endpoint for endpoint in list(pool.values()) if endpoint.get_outcome() is None]


def callback_token(endpoint: Any) -> str:
    return str(endpoint.callback_id)


def wait_on(endpoint: Any) -> Any:
    """Block until the endpoint is answered or interrupted; its outcome (None when it timed out)."""
    endpoint._notify_event.wait()
    return endpoint.get_outcome()


def interrupt(endpoint: Any) -> None:
    """Wake a waiting endpoint without an outcome: moto treats that as the task timing out."""
    endpoint._notify_event.set()
