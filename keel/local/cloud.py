"""The local cloud: one environment's template deployed into moto, with our patches, in this process.

    with LocalCloud(load_environment(Path("cdk.out"), "dev")) as cloud:
        cloud.deliver(event)            # put on its bus, matched, delivered to targets
        cloud.drive(approve=True)       # every execution to an end (answering task tokens)
        report = cloud.report()

It always runs with fake credentials, the template's account and region, and moto intercepting every
AWS call made in the process (so nothing can reach real AWS), and restores the process on exit.
moto also answers on an endpoint on 127.0.0.1 (an ephemeral port unless one is given): our Lambda
functions run in worker processes of their own (keel/local/lambda_runtime.py) and call it. Each
function runs with its own role's credentials, and IAM refuses its calls that the role does not
allow, as on AWS (keel/local/function_roles.py says what is evaluated and what is not). Closing the
cloud stops every worker, then the endpoint.

What runs is observed as CloudWatch observes it (keel/local/observatory.py): handler logs in their
functions' log groups, execution histories in their state machines', the metrics Lambda, Step
Functions, SQS and the handlers' EMF lines publish, and every alarm evaluated on virtual time, its
state changes paging the SNS topics it names.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from infra import names
from keel.local import moto_patches, streams
from keel.local.clock import VirtualClock, acting_for, current_execution
from keel.local.deploy import Deployment, deploy_environment
from keel.local.errors import LocalCloudError
from keel.local.eventbridge import (
    NOT_RETRIED,
    bus_for,
    execution_name,
    normalized,
    rule_receives,
    target_input,
)
from keel.local.fake_apis import FakeApis, load_fakes, serving
from keel.local.faults import FaultPlan
from keel.local.function_roles import Denial, FunctionRoles
from keel.local.iam_requests import ApiCall
from keel.local.lambda_runtime import FunctionConfig, Invocation, LambdaRuntime
from keel.local.moto_rotation import Rotation
from keel.local.observatory import FunctionLogging, Observatory
from keel.local.releases import Alias, Releases
from keel.local.template import EnvironmentTemplate, StackTemplate

# The operators' code the cloud runs on its side (answering approvals).
from keel.ops.approvals import answer as answer_as_operator
from keel.ops.session import OpsSession

Decision = Literal["approve", "reject"] | None
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
# Variables that could point boto3 at real AWS or another account: removed while the cloud runs.
UNSAFE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
# Clients the cloud itself uses while executions run, made before any handler can run.
RUNTIME_CLIENTS = ("stepfunctions", "sqs", "events", "dynamodb", "sts", "sns")
NO_TIMEOUT = 99_999_999  # moto's TimeoutSeconds default for tasks that declare none
# Real seconds between two sweeps of items whose TTL has passed while executions are driven.
TTL_SWEEP_SECONDS = 5.0
MAX_START_BACKOFF_SECONDS = 180
# The fake external APIs' declarations, in the repository beside automations/.
APIS_DIR = Path(__file__).resolve().parents[2] / "apis"
APPROVED_OUTPUT = {"approved": True, "decided_by": "keel-local", "comment": "approved with keel local run --approve"}
REJECTED = ("Rejected", "rejected with keel local run --reject")


@dataclass(frozen=True)
class Delivery:
    event_id: str
    rule: str
    target: str
    execution_arn: str | None


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    rule_arn: str
    target_arn: str
    queue_arn: str | None
    error_code: str
    error_message: str
    exhausted_retry_condition: str
    retry_attempts: int

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "rule_arn": self.rule_arn,
            "target_arn": self.target_arn,
            "queue_arn": self.queue_arn,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "exhausted_retry_condition": self.exhausted_retry_condition,
            "retry_attempts": self.retry_attempts,
        }


@dataclass(frozen=True)
class Page:
    """A message published to an SNS topic (an on-call route, an approval request)."""

    topic_arn: str
    subject: str | None
    message: str

    @property
    def route(self) -> str:
        return self.topic_arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Answered:
    """A task token the run answered: through an approval request (as `keel ops approve|reject` does),
    or directly; `expired` when its timeout passed instead."""

    execution_arn: str
    decision: Literal["approve", "reject", "expired"]
    approval_id: str | None = None


@dataclass
class _Waiting:
    endpoint: Any
    timeout: float | None


@dataclass
class LocalCloud:
    template: EnvironmentTemplate
    faults: FaultPlan = field(default_factory=FaultPlan)
    clock: VirtualClock = field(default_factory=VirtualClock)
    # Real seconds `drive` waits without any progress (no execution moved, ended, or ran a handler)
    # before reporting the executions left as still running: a slow machine is not a stuck one.
    drive_limit_seconds: float = 120.0
    # The port of the cloud's endpoint on 127.0.0.1 (0: any free port).
    port: int = 0
    # Seeds the draw of each execution's version when an alias routes to several: same shares every run.
    routing_seed: int = 0
    # Where the fake external APIs are declared (apis/<api>.yaml), for environments that declare APIs.
    apis_dir: Path = APIS_DIR

    def __post_init__(self) -> None:
        self.deployment: Deployment | None = None
        self.deliveries: list[Delivery] = []
        self.dead_letters: list[DeadLetter] = []
        self.blocked: dict[str, str] = {}  # execution ARN -> why it cannot go on
        self._ended: set[str] = set()  # executions seen ended: drive never looks at them again
        self._observed: set[str] = set()  # executions whose end the observatory has recorded (metrics, logs, alarms)
        self.answered: list[Answered] = []
        # Secret rotations that ended, done or failed (keel/local/moto_rotation.py), in order.
        self.rotations: list[Rotation] = []
        self._rotated_at: dict[str, float] = {}  # secret name -> world time of its last rotation (or the start)
        self._waiting: dict[str, _Waiting] = {}
        self._lock = threading.RLock()
        self._sequence = 0
        self._stack: ExitStack | None = None
        self._closing = False
        self._clients: dict[str, Any] = {}
        self._server: Any = None
        self.endpoint: str | None = None
        # The fake external APIs, when the environment's functions call any (keel/local/fake_apis.py).
        self.apis: FakeApis | None = None
        self.roles = FunctionRoles(self._assume_role, self._role_policies)
        self.releases = Releases(self.routing_seed, self._alarm_state, self._publish_alias)
        self.observatory = Observatory(self.template.account, self.template.region, self._publish)
        self.runtime = LambdaRuntime(
            clock=self.clock,
            base_environment=self.aws_environment(),
            faults=self.faults,
            credentials=lambda function: self.roles.session_for(function).environment(),
            observer=self,
        )

    # Life cycle.

    def aws_environment(self) -> dict[str, str]:
        region = self.template.region
        return {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "MOTO_ACCOUNT_ID": self.template.account}

    def __enter__(self) -> LocalCloud:
        from moto import mock_aws

        stack = ExitStack()
        self._closing = False
        try:
            stack.enter_context(_process_environment(self.aws_environment()))
            stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
            stack.enter_context(moto_patches.installed(self))
            stack.enter_context(_quiet_interpreter())
            self.deployment = deploy_environment(self.template, self.client, self.releases, self.clock.world_time)
            self.observatory.machine_logging = {
                arn: machine.logging for arn, machine in self.deployment.state_machines.items() if machine.logging
            }
            self.observatory.start(self.clock.world_time())
            for service in RUNTIME_CLIENTS:
                self.client(service)
            self._serve_fake_apis(stack)
            # Served once deployed: a client that finds the port open finds the environment there.
            self.endpoint = stack.enter_context(_endpoint(self.port))
            self.runtime.endpoint = self.endpoint
            stack.callback(self.runtime.close)
            self.streams = stack.enter_context(
                streams.delivering(self.deployment.stream_mappings, self.client, self.template.region)
            )
            self.clock.on_advance.append(moto_patches.expire_dynamodb_items)
            stack.callback(self.clock.on_advance.remove, moto_patches.expire_dynamodb_items)
            # When the world moves on, every alarm is evaluated at the new time.
            self.clock.on_advance.append(self.observatory.evaluate_all)
            stack.callback(self.clock.on_advance.remove, self.observatory.evaluate_all)
            # Then every alias shifting a rollout moves on, or back when its alarms fire.
            self.clock.on_advance.append(self.releases.evaluate)
            stack.callback(self.clock.on_advance.remove, self.releases.evaluate)
            # And every secret whose rotation schedule has come round is rotated.
            self._rotated_at = dict.fromkeys(self.deployment.rotations, self.clock.world_time())
            self.clock.on_advance.append(self.rotate_due)
            stack.callback(self.clock.on_advance.remove, self.rotate_due)
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def _serve_fake_apis(self, stack: ExitStack) -> None:
        """Serve the APIs the functions call, and give their secrets the declared local credentials."""
        declared = deployed_apis(self.template)
        if not declared:
            return
        fakes = load_fakes(self.apis_dir, declared)
        self.apis = stack.enter_context(serving(FakeApis(fakes, self.clock.world_time, self.faults.apis)))
        self.runtime.api_settings = {
            "KEEL_API_ENDPOINTS": json.dumps(self.apis.base_urls(), sort_keys=True),
            "KEEL_API_CA_BUNDLE": self.apis.ca_bundle,
        }
        for name, fake in fakes.items():
            self._put_api_secret(name, fake.secret_value())

    def _put_api_secret(self, api: str, value: str) -> None:
        assert self.apis is not None
        secret = names.secret(self.template.environment, self.apis.fakes[api].settings["secret"])
        self.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=value)

    def rotate_secret(self, name: str) -> Rotation:
        """RotateSecret on one of the environment's secrets (its catalog name), as Secrets Manager runs it:
        the rotation function its schedule names, for its four steps, in its worker."""
        secret = names.secret(self.template.environment, name)
        if secret not in self.deployed.rotations:
            known = ", ".join(sorted(rotated.rsplit("/", 1)[-1] for rotated in self.deployed.rotations)) or "none"
            raise LocalCloudError(f"secret '{name}' has no rotation schedule in this environment (rotated: {known})")
        from botocore.exceptions import ClientError

        ended = len(self.rotations)
        try:
            self.client("secretsmanager").rotate_secret(SecretId=secret)
        except ClientError as error:  # e.g. a schedule naming a function this environment does not deploy
            raise LocalCloudError(f"RotateSecret of '{name}': {error.response['Error'].get('Message', error)}") from None
        return next(rotation for rotation in reversed(self.rotations[ended:]) if rotation.secret == secret)

    def rotate_due(self, now: float) -> list[Rotation]:
        """Rotate every secret whose schedule has come round by `now` (world time), as Secrets Manager does
        `every_days` after the last rotation."""
        due = [
            schedule.secret
            for schedule in self.deployed.rotations.values()
            if now >= self._rotated_at.get(schedule.secret, now) + schedule.every_days * 86_400
        ]
        return [self.rotate_secret(secret.rsplit("/", 1)[-1]) for secret in sorted(due)]

    def rotation_ended(self, rotation: Rotation) -> None:
        """moto_patches.Hooks: a rotation ended (done or failed), at world time now."""
        stamped = Rotation(rotation.secret, rotation.version, self.clock.world_time(), rotation.failed_step, rotation.error)
        with self._lock:
            self.rotations.append(stamped)
            self._rotated_at[rotation.secret] = stamped.at

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            waiting = list(self._waiting.values())
        for wait in waiting:  # let executions blocked on task tokens finish before moto is torn down
            moto_patches.interrupt(wait.endpoint)
        if self._stack is not None:  # workers stop, then the endpoint, then moto and the patches
            self._stack.close()
            self._stack = None
            self._clients.clear()

    def deploy(self, stack: StackTemplate) -> None:
        """`cdk deploy` of one stack onto the running cloud: created, or updated as CloudFormation
        updates it (keel/local/deploy.py). An execution already running keeps its version's code."""
        from keel.local.deploy import Deployer

        with self._lock:
            Deployer(stack, self.client, self.deployed).deploy()
        self.observatory.machine_logging = {
            arn: machine.logging for arn, machine in self.deployed.state_machines.items() if machine.logging
        }

    def _alarm_state(self, name: str) -> str:
        alarms = self.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return str(alarms[0]["StateValue"]) if alarms else "OK"  # CloudWatch: an alarm that does not exist is OK

    def _publish_alias(self, alias: Alias) -> None:
        routing = [{"stateMachineVersionArn": version, "weight": weight} for version, weight in sorted(alias.routing.items())]
        stepfunctions = self.client("stepfunctions")
        machine = alias.arn.rsplit(":", 1)[0]
        if any(
            known["stateMachineAliasArn"] == alias.arn
            for known in stepfunctions.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"]
        ):
            stepfunctions.update_state_machine_alias(stateMachineAliasArn=alias.arn, routingConfiguration=routing)
        else:
            stepfunctions.create_state_machine_alias(name=alias.arn.rsplit(":", 1)[-1], routingConfiguration=routing)

    def qualified(self, state_machine_arn: str) -> tuple[str | None, str | None]:
        """moto_patches.Hooks: the version an execution starts on, and the alias that chose it."""
        last = state_machine_arn.rsplit(":", 1)[-1]
        if last.isdigit() and state_machine_arn.count(":") == 7:
            return state_machine_arn, None
        if self.releases.get(state_machine_arn) is not None:
            return self.releases.route(state_machine_arn, self.clock.world_time()), state_machine_arn
        return None, None

    def alias_updated(self, alias_arn: str, routing: dict[str, int]) -> None:
        """moto_patches.Hooks: UpdateStateMachineAlias (an operator's rollback or promote) routes from now on."""
        self.releases.set_routing(alias_arn, routing)

    def execution_version(self, execution_arn: str) -> tuple[str | None, str | None]:
        return moto_patches.execution_version(self.template.account, self.template.region, execution_arn)

    def client(self, service: str) -> Any:
        """A boto3 client on this cloud, made once and reused."""
        import boto3

        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=self.template.region)
            return self._clients[service]

    @property
    def deployed(self) -> Deployment:
        if self.deployment is None:
            raise LocalCloudError("the local cloud is not running (use it as a context manager)")
        return self.deployment

    # Events in.

    def custom_bus(self) -> str | None:
        buses = self.deployed.buses
        return buses[0] if len(buses) == 1 else None

    def deliver(self, event: dict[str, Any], bus: str | None = None) -> list[Delivery]:
        """Deliver one event (as EventBridge does, keeping its id) to every rule on its bus it reaches."""
        bus = bus or bus_for(event, self.custom_bus())
        before = len(self.deliveries)
        for rule in moto_patches.rules_on_bus(self.template.account, self.template.region, bus):
            rule.send_to_targets(dict(event))
        with self._lock:
            return self.deliveries[before:]

    # moto_patches.Hooks

    def invoke_lambda(self, function: Any, event: Any) -> tuple[str, bool, str]:
        facts = moto_patches.lambda_function_facts(function)
        facts["log_group"] = self.deployed.function_log_groups.get(facts["name"], facts["log_group"])
        facts["code_root"] = self.deployed.version_code_roots.get(facts["qualified_arn"], "")
        return self.runtime.invoke(FunctionConfig(**facts), event)

    def execution_started(self, execution_arn: str) -> None:
        self.observatory.execution_started(execution_arn, self.clock.time())

    def execution_ended(self, execution_arn: str) -> None:
        try:
            # An execution still running when the cloud closes ends after moto's state is gone:
            # there is nothing left to observe it in.
            if not self._closing:
                self.observatory.execution_ended(execution_arn)
        finally:
            with self._lock:
                self._observed.add(execution_arn)

    def alarm_history(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        return self.observatory.alarm_history(parameters)

    # keel.local.lambda_runtime.InvocationObserver

    def invoked(self, config: FunctionConfig, invocation: Invocation) -> None:
        logging = FunctionLogging(config.log_group, config.memory, config.version)
        self.observatory.invoked(config.name, logging, invocation, invocation.log_stream)

    def throttled(self, config: FunctionConfig, at: float) -> None:
        self.observatory.throttled(config.name, at)

    def _publish(self, topic_arn: str, subject: str, message: str) -> None:
        self.client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=message)

    def evaluates(self, access_key_id: str) -> bool:
        return self.roles.evaluates(access_key_id)

    def authorize(self, access_key_id: str, call: ApiCall) -> Denial | None:
        return self.roles.authorize(access_key_id, call)

    def _assume_role(self, role_arn: str, session_name: str) -> dict[str, Any]:
        """What Lambda does at a cold start: a session of the function's role, named after the function."""
        assumed: dict[str, Any] = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
        return assumed

    def _role_policies(self, role_arn: str) -> tuple[list[str | dict[str, Any]], str | None]:
        return moto_patches.role_policies(self.template.account, role_arn)

    def send_to_targets(self, rule: Any, event: dict[str, Any], original: Callable[..., None]) -> None:
        facts = moto_patches.rule_facts(rule)
        delivered = normalized(event)
        if not rule_receives(facts, delivered, facts["has_pattern"] and moto_patches.pattern_matches(rule, delivered)):
            return
        others = []
        for target in facts["targets"]:
            if target["Arn"].startswith("arn:aws:states:"):
                self._start_execution(facts, target, delivered)
            else:
                others.append(target)
                self._record(Delivery(delivered["id"], facts["name"], target["Arn"], None))
        if others:
            self._deliver_natively(rule, others, event, original)

    def _deliver_natively(
        self, rule: Any, targets: list[dict[str, Any]], event: dict[str, Any], original: Callable[..., None]
    ) -> None:
        """Targets moto delivers itself (SQS, logs, buses): it expects `time` as epoch seconds."""
        native = dict(event)
        if isinstance(native.get("time"), str):
            native["time"] = self.clock.time()
        native.setdefault("ingestion-time", self.clock.time())
        with self._lock:
            saved, rule.targets = rule.targets, targets
            try:
                original(native)
            finally:
                rule.targets = saved

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)

    def _start_execution(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any]) -> None:
        """StartExecution with EventBridge's retry policy; when it gives up, the event goes to the DLQ."""
        retry = target.get("RetryPolicy", {})
        max_attempts = int(retry.get("MaximumRetryAttempts", 185))
        max_age = int(retry.get("MaximumEventAgeInSeconds", 86_400))
        # The event's own delay (virtual seconds of backoff so far): it postpones this event's
        # execution, not the world.
        delayed = 0.0
        attempt = 0
        while True:
            outcome = self._try_start(target, event, rule, delayed)
            if isinstance(outcome, str):
                # Started through an alias or a version: the execution is the state machine's.
                self._record(Delivery(event["id"], rule["name"], unqualified(target["Arn"]), outcome))
                return
            code, message = outcome
            delay = min(2**attempt, MAX_START_BACKOFF_SECONDS)
            if code in NOT_RETRIED or attempt >= max_attempts:
                condition = "MaximumRetryAttemptsExhausted"
            elif delayed + delay > max_age:
                condition = "MaximumEventAgeExceeded"
            else:
                delayed += delay
                attempt += 1
                continue
            self._dead_letter(rule, target, event, (code, message, condition), attempt)
            return

    def _try_start(
        self, target: dict[str, Any], event: dict[str, Any], rule: dict[str, Any], delayed: float
    ) -> str | tuple[str, str]:
        from botocore.exceptions import ClientError

        if self.faults.take_failed_start():
            return "ThrottlingException", "Rate exceeded (injected by keel local: StartExecution throttled)"
        with self._lock:
            self._sequence += 1
            name = execution_name(event["id"], self._sequence)
        # The execution starts `delayed` seconds after the event arrived, on its own clock.
        # A version's or alias's execution is the state machine's (its ARN is unqualified).
        execution = unqualified(target["Arn"]).replace(":stateMachine:", ":execution:", 1) + f":{name}"
        self.clock.wait(execution, delayed)
        try:
            with acting_for(execution):
                started = self.client("stepfunctions").start_execution(
                    stateMachineArn=target["Arn"], name=name, input=target_input(target, event, rule)
                )
        except ClientError as error:
            return error.response["Error"]["Code"], error.response["Error"].get("Message", "")
        arn: str = started["executionArn"]
        return arn

    def _dead_letter(
        self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any], failure: tuple[str, str, str], retries: int
    ) -> None:
        code, message, condition = failure
        queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
        if queue_arn is not None:
            attributes = {
                "RULE_ARN": rule["arn"],
                "TARGET_ARN": target["Arn"],
                "ERROR_CODE": code,
                "ERROR_MESSAGE": message,
                "EXHAUSTED_RETRY_CONDITION": condition,
                "RETRY_ATTEMPTS": str(retries),
            }
            self.client("sqs").send_message(
                QueueUrl=self._queue_url(queue_arn),
                MessageBody=json.dumps(event),
                MessageAttributes={key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()},
            )
        letter = DeadLetter(event["id"], rule["arn"], target["Arn"], queue_arn, code, message, condition, retries)
        with self._lock:
            self.dead_letters.append(letter)
            self.deliveries.append(Delivery(event["id"], rule["name"], target["Arn"], None))

    def _queue_url(self, queue_arn: str) -> str:
        known = self.deployed.queues.get(queue_arn)
        if known is not None:
            return known
        url: str = self.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        return url

    # Task tokens.

    def wait_for_callback(self, endpoint: Any, timeout: float | None) -> Any:
        token = moto_patches.callback_token(endpoint)
        with self._lock:
            self._waiting[token] = _Waiting(endpoint, None if timeout is None or timeout >= NO_TIMEOUT else timeout)
        try:
            # Waiting on a person (or a timeout) is waiting outside the execution's clock.
            with self.clock.blocked(current_execution()):
                return moto_patches.wait_on(endpoint)
        finally:
            with self._lock:
                self._waiting.pop(token, None)

    def waiting_tokens(self, execution_arn: str) -> list[tuple[str, float | None]]:
        """The task tokens this execution is waiting on now, with their timeouts."""
        with self._lock:
            if not self._waiting:
                return []
        tokens = {
            moto_patches.callback_token(endpoint)
            for endpoint in moto_patches.pending_callbacks(self.template.account, self.template.region, execution_arn)
        }
        with self._lock:
            return [(token, wait.timeout) for token, wait in self._waiting.items() if token in tokens]

    def _answer(self, execution_arn: str, decision: Decision, *, expire_waits: bool = True) -> bool:
        """Answer or time out what the execution waits on; False when it must wait for someone else."""
        stepfunctions = self.client("stepfunctions")
        for token, timeout in self.waiting_tokens(execution_arn):
            if decision is not None and self._answer_approval(execution_arn, token, decision):
                continue
            if decision == "approve":
                stepfunctions.send_task_success(taskToken=token, output=json.dumps(APPROVED_OUTPUT))
                self._answered(Answered(execution_arn, decision))
            elif decision == "reject":
                stepfunctions.send_task_failure(taskToken=token, error=REJECTED[0], cause=REJECTED[1])
                self._answered(Answered(execution_arn, decision))
            elif timeout is not None and expire_waits:
                self._expire(execution_arn, token, timeout)
                self._answered(Answered(execution_arn, "expired"))
            elif timeout is not None:
                self.blocked[execution_arn] = "waiting for a task token (left waiting: answer it, or drive again to expire it)"
                return False
            else:
                self.blocked[execution_arn] = "waiting for a task token with no timeout (answer with --approve or --reject)"
                return False
        return True

    def operator(self) -> OpsSession:
        """`keel ops` on this cloud, with this cloud's clients."""
        clients = {service: self.client(service) for service in RUNTIME_CLIENTS}
        return OpsSession(environment=self.template.environment, region=self.template.region, clients=clients)

    def _answer_approval(self, execution_arn: str, token: str, decision: Literal["approve", "reject"]) -> bool:
        """A request_approval wait is answered the way an operator answers it (`keel ops approve`):
        recorded in the approvals table and the decision record. False for other token waits."""
        table = names.table(self.template.environment, "approvals")
        declared = (resource.get("Properties", {}).get("TableName") for resource in self.template.resources.values())
        if table not in declared:
            return False
        session = self.operator()
        request = next(
            (
                pending
                for pending in session.approvals.pending()
                if pending.execution_arn == execution_arn and session.approvals.get(pending.approval_id)[1] == token
            ),
            None,
        )
        if request is None:
            return False
        reason = f"{decision}d with keel local run --{decision}"
        answer_as_operator(session, request.approval_id, approved=decision == "approve", reason=reason)
        self._answered(Answered(execution_arn, decision, request.approval_id))
        return True

    def _answered(self, answer: Answered) -> None:
        with self._lock:
            self.answered.append(answer)

    def _expire(self, execution_arn: str, token: str, timeout: float) -> None:
        """The task token's timeout passes: on the waiting execution's clock only."""
        with self._lock:
            wait = self._waiting.get(token)
        if wait is not None:
            self.clock.wait(execution_arn, timeout)
            moto_patches.interrupt(wait.endpoint)

    # Driving executions.

    def execution_arns(self) -> list[str]:
        with self._lock:
            return [delivery.execution_arn for delivery in self.deliveries if delivery.execution_arn]

    def pages(self) -> list[Page]:
        """Everything published to this cloud's topics so far (by topic, oldest first)."""
        return [Page(*published) for published in moto_patches.published_messages(self.template.account, self.template.region)]

    def _has_observed(self, execution_arn: str) -> bool:
        with self._lock:
            return execution_arn in self._observed

    def execution_status(self, execution_arn: str) -> str:
        return moto_patches.execution_status(self.template.account, self.template.region, execution_arn)

    def execution_record(self, execution_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """DescribeExecution and GetExecutionHistory of one execution, without the API's serializer."""
        return moto_patches.execution_record(self.template.account, self.template.region, execution_arn)

    def _newly_started(self, considered: set[str]) -> set[str]:
        """Executions not yet ended and not in `considered` (which they join), their blocked reason cleared."""
        new = {arn for arn in self.execution_arns() if arn not in considered and arn not in self._ended}
        considered |= new
        for arn in new:
            self.blocked.pop(arn, None)
        return new

    def drive(self, decision: Decision = None, *, expire_waits: bool = True) -> None:
        """Run every started execution to an end: answer task tokens, expire their timeouts.

        With expire_waits=False, executions waiting for a task token are left waiting (for an
        operator's `keel ops approve`, say) and drive returns once nothing else can move."""
        deadline = time.monotonic() + self.drive_limit_seconds
        running: set[str] = set()
        considered: set[str] = set()
        swept, seen = 0.0, self.clock.activity()
        while time.monotonic() < deadline:
            # Executions started meanwhile (by an event a workflow put on the bus) are driven too.
            running |= self._newly_started(considered)
            if not running:
                break
            changes, invoking = self.clock.activity()
            if invoking or changes != seen[0]:
                deadline, seen = time.monotonic() + self.drive_limit_seconds, (changes, invoking)
            if time.monotonic() - swept > TTL_SWEEP_SECONDS:
                moto_patches.expire_dynamodb_items(self.clock.world_time())
                swept = time.monotonic()
            for arn in sorted(running):
                finished = self.execution_status(arn) != "RUNNING" and self._has_observed(arn)
                if finished:
                    self._ended.add(arn)
                if finished or not self._answer(arn, decision, expire_waits=expire_waits):
                    running.discard(arn)
            if running:
                time.sleep(0.002)
        for arn in running:
            self.blocked[arn] = f"still running, no progress for {self.drive_limit_seconds:.0f} s of real time"
        self.observatory.evaluate_all(self.clock.world_time())


def unqualified(state_machine_arn: str) -> str:
    """arn:aws:states:REGION:ACCOUNT:stateMachine:NAME, without a version or alias after it."""
    return ":".join(state_machine_arn.split(":")[:7])


@contextmanager
def _endpoint(port: int) -> Iterator[str]:
    """moto's endpoint on 127.0.0.1 for the duration of the block (an ephemeral port for 0)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        host, bound = server.get_host_and_port()
        yield f"http://{host}:{bound}"
    finally:
        server.stop()


# moto's interpreter logs every task failure, caught or not (the run's report shows them instead); the
# endpoint's web server logs every request our workers make.
QUIET_LOGGERS = {"moto.stepfunctions.parser": logging.CRITICAL, "werkzeug": logging.WARNING}


@contextmanager
def _quiet_interpreter() -> Iterator[None]:
    loggers = {name: logging.getLogger(name) for name in QUIET_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(QUIET_LOGGERS[name])
    try:
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


@contextmanager
def _process_environment(values: dict[str, str]) -> Iterator[None]:
    """Fake credentials, the template's region and account; unsafe variables removed; all restored on exit."""
    changed = [*UNSAFE_VARIABLES, *values]
    saved = {name: os.environ.get(name) for name in changed}
    for name in UNSAFE_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def deployed_apis(template: EnvironmentTemplate) -> dict[str, dict[str, Any]]:
    """The external APIs the environment's functions call, as their KEEL_APIS declare them."""
    apis: dict[str, dict[str, Any]] = {}
    for resource in template.resources.values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if isinstance(variables.get("KEEL_APIS"), str):
            apis.update(json.loads(variables["KEEL_APIS"]))
    return apis
