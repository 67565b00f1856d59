"""What Keel fills in to a workflow so its author writes only the decisions.

For every task that invokes one of the automation's modules (`"FunctionName": "${module}"`), and
only where the author has not written it:

- the payload header every module reads (event id, execution, `$.keel` context, the state's name,
  and the task token for `.waitForTaskToken` tasks);
- the standard Retry: our own transient and throttling errors and Lambda's service errors, with
  full jitter; function timeouts and ConflictError too, but only for modules whose function.yaml
  declares them read-only or idempotent (a timed-out action may have acted);
- a catch-all Catch to the automation's failure path.

SNS publish tasks get SNS's transient errors as their Retry and the same Catch. The failure path is
Keel's own unless the manifest names one (`workflow.failure.state`): it records the failure with
record_decision, tells the owner's on-call (or escalation) route (saying whether the record was
made), marks the event's claim failed so a re-delivery or `keel ops redrive` can run it again, and
fails the execution with the original error. Each step runs whether the one before it worked.
Each of the author's own top-level Fail states (a compensation's end) gets the same claim release in
front of it.

An author opts out per state by writing the field: `"Retry": []` retries nothing, a Catch list that
matches States.ALL itself keeps it, `"Payload.$"` passes a payload of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from infra import asl, function_spec
from infra.function_spec import Effects

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
WAIT_FOR_TASK_TOKEN = f"{LAMBDA_INVOKE}.waitForTaskToken"
SNS_PUBLISH = "arn:aws:states:::sns:publish"

RECORD_FAILURE = "KeelRecordFailure"
NOTIFY_FAILURE = "KeelNotifyFailure"
NOTIFY_UNRECORDED = "KeelNotifyUnrecordedFailure"
RELEASE_CLAIM = "KeelReleaseClaim"
FAILED = "KeelFailed"
FAILURE_STATES = (RECORD_FAILURE, NOTIFY_FAILURE, NOTIFY_UNRECORDED, RELEASE_CLAIM, FAILED)
# The decision writer (infra/function_spec.py): Keel's failure path records every failure through it.
DECISION_WRITER = function_spec.DECISION_WRITER
PAYLOAD_HEADER = {
    "event_id.$": "$.id",
    "execution.$": "$$.Execution.Id",
    "keel.$": "$.keel",
    "step.$": "$$.State.Name",
}
TASK_TOKEN = {"task_token.$": "$$.Task.Token"}

# Lambda's transient service errors, as Step Functions' best practice lists them
# (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html), its
# throttle, and the project's own TransientError/ThrottledError (functions/shared/runtime/errors.py).
LAMBDA_TRANSIENT = (
    "TransientError",
    "ThrottledError",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# A function timeout: Sandbox.Timedout in the error output; Lambda.Unknown is how Step Functions
# reports unhandled runtime failures, timeouts included (same page).
LAMBDA_TIMEOUTS = ("Sandbox.Timedout", "Lambda.Unknown")
# Retried only for modules whose function.yaml says a repeat is safe (read_only or idempotent): a
# timeout, and ConflictError, which a decision-chain append raises when it lost every race of its
# bounded backoff (functions/shared/domain/decisions.py). An action module may have acted before it
# recorded, so a repeat of it could act twice: its conflicts go to the failure path.
REPEATABLE_ONLY = (*LAMBDA_TIMEOUTS, "ConflictError")
SNS_TRANSIENT = ("SNS.ThrottledException", "SNS.InternalErrorException", "SNS.KMSThrottlingException", "SNS.SdkClientException")
# DynamoDB's transient errors as Step Functions names them for its service integration.
DYNAMODB_TRANSIENT = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.RequestLimitExceeded",
)
BACKOFF = {"IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 2.0, "JitterStrategy": "FULL"}
CATCH_ALL = "States.ALL"

Route = Literal["oncall", "escalation"]
TOPICS: dict[Route, str] = {"oncall": "KeelOncallTopic", "escalation": "KeelEscalationTopic"}


@dataclass(frozen=True)
class WorkflowPlan:
    """How one automation's workflow is completed."""

    # Module name -> what its function.yaml says about repeating it.
    modules: Mapping[str, Effects]
    # The author's failure path, or None for Keel's.
    failure_state: str | None
    notify: Route


def bind(definition: dict[str, Any], substitutions: Mapping[str, str]) -> dict[str, Any]:
    """A shared workflow with this automation's names: `${act}` -> `${remediate_service}`."""
    if not substitutions:
        return definition
    placeholders = {f"${{{name}}}": f"${{{module}}}" for name, module in substitutions.items()}

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            for placeholder, module in placeholders.items():
                value = value.replace(placeholder, module)
            return value
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rename(item) for item in value]
        return value

    bound: dict[str, Any] = rename(definition)
    return bound


def with_defaults(definition: dict[str, Any], plan: WorkflowPlan) -> dict[str, Any]:
    """The definition as it runs: defaults filled in, Keel's failure path added where used."""
    completed = copy.deepcopy(definition)
    failure = plan.failure_state or RECORD_FAILURE
    # The author's failure path must not catch into itself: a failure there would loop.
    on_failure_path = reachable(completed["States"], plan.failure_state) if plan.failure_state else set()
    for name, state, top_level in _task_states(completed):
        _complete(state, plan, failure if top_level and name not in on_failure_path else None)
    # A Catch, or a state that hands a failure on itself (the confidential seal's KeelSealFailed), leads to it.
    caught = any(
        RECORD_FAILURE in (state.get("Next"), *(catcher.get("Next") for catcher in state.get("Catch", [])))
        for state in completed["States"].values()
    )
    # Step Functions refuses unreachable states: Keel's path only where a Catch leads to it.
    if plan.failure_state is None and caught:
        completed["States"].update(failure_path(plan.modules, plan.notify))
    release_before_fail_states(completed)
    return completed


def invoked_module(state: Mapping[str, Any], modules: Mapping[str, Effects]) -> str | None:
    """The module a Lambda task invokes through its `${module}` substitution, if any."""
    if state.get("Resource") not in (LAMBDA_INVOKE, WAIT_FOR_TASK_TOKEN):
        return None
    match = asl.SUBSTITUTION.fullmatch(str(state.get("Parameters", {}).get("FunctionName", "")))
    return match.group(1) if match and match.group(1) in modules else None


def failure_path(modules: Mapping[str, Effects], notify: Route) -> dict[str, dict[str, Any]]:
    """Record the failure, tell the route, fail with the original error; each step survives the one before failing."""
    if DECISION_WRITER not in modules:
        raise ValueError(f"Keel's failure path records with {DECISION_WRITER}: it must be one of the modules")
    record: dict[str, Any] = {
        "Type": "Task",
        "Comment": "Keel failure path: record why the workflow failed.",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": f"${{{DECISION_WRITER}}}",
            "Payload": {"action": "workflow", "outcome": "failed", "failure.$": "$.error", "evidence.$": "$.error"},
        },
        "ResultSelector": {"seq.$": "$.Payload.seq", "reason.$": "$.Payload.reason"},
        "ResultPath": "$.recorded",
        "Catch": [{"ErrorEquals": [CATCH_ALL], "ResultPath": "$.record_error", "Next": NOTIFY_UNRECORDED}],
        "Next": NOTIFY_FAILURE,
    }
    _complete(record, WorkflowPlan(modules=modules, failure_state=None, notify=notify), None)
    # The recorded reason is the error's message (record_decision reads a Lambda error's JSON cause);
    # unrecorded, the page carries the raw cause, says the record is missing, and points at the
    # execution's own history (`keel ops explain` has nothing to tell). Both say how to run it again.
    told = {
        NOTIFY_FAILURE: ("failed: {}", "$.recorded.reason", "Explain: `keel ops explain"),
        NOTIFY_UNRECORDED: (
            "failed, and the failure could not be recorded: {}: {}",
            "$.error.Error, $.error.Cause",
            "What happened: `keel ops show",
        ),
    }
    path: dict[str, dict[str, Any]] = {RECORD_FAILURE: record}
    for name, (what, values, look) in told.items():
        where = "--env {} --region {}"
        message = (
            f"States.Format('{{}} {{}} ({{}}) {what}\\nEvent: {{}}\\n{look} {{}} {where}`\\n"
            f"Once fixed, run it again: `keel ops redrive {{}} --failed {where}`', "
            f"$.keel.automation, $.keel.version, $.keel.environment, {values}, $.id, $$.Execution.Id, $.keel.environment, "
            "$.keel.region, $.keel.automation, $.keel.environment, $.keel.region)"
        )
        path[name] = {
            "Type": "Task",
            "Comment": f"Keel failure path: tell the automation's {notify} route.",
            "Resource": SNS_PUBLISH,
            "Parameters": {
                "TopicArn": f"${{{TOPICS[notify]}}}",
                "Subject.$": "States.Format('Keel: {} failed ({})', $.keel.automation, $.keel.environment)",
                "Message.$": message,
            },
            "ResultPath": None,
            "Retry": [_retry(SNS_TRANSIENT)],
            "Catch": [{"ErrorEquals": [CATCH_ALL], "ResultPath": "$.notify_error", "Next": RELEASE_CLAIM}],
            "Next": RELEASE_CLAIM,
        }
    path[RELEASE_CLAIM] = release_claim()
    path[FAILED] = {
        "Type": "Fail",
        "Comment": "Keel failure path: the original error.",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    return path


def release_claim(then: str = FAILED) -> dict[str, Any]:
    """Mark the event's claim failed, only while this execution holds it: a later delivery may run it."""
    return {
        "Type": "Task",
        "Comment": "Keel failure path: this event may run again (a re-delivery, keel ops redrive --failed).",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": "${KeelIdempotencyTable}",
            # The execution's own input: a workflow that reshaped its state (a compensation's records)
            # still releases; the scope is the automation's or its shadow's (asl.with_prologue fills it).
            "Key": {"id": {"S.$": f"States.Format('claim#{asl.CLAIM_SCOPE}#{{}}', $$.Execution.Input.id)"}},
            "UpdateExpression": "SET #status = :failed, failed_at = :at",
            # Never another execution's claim: one that took this event over after this one's claim expired.
            "ConditionExpression": "#execution = :me",
            "ExpressionAttributeNames": {"#status": "status", "#execution": "execution"},
            "ExpressionAttributeValues": {
                ":failed": {"S": asl.CLAIM_FAILED},
                ":at": {"S.$": "$$.State.EnteredTime"},
                ":me": {"S.$": "$$.Execution.Id"},
            },
        },
        "ResultPath": None,
        "Retry": [_retry(DYNAMODB_TRANSIENT)],
        "Catch": [{"ErrorEquals": [CATCH_ALL], "ResultPath": "$.release_error", "Next": then}],
        "Next": then,
    }


def release_before_fail_states(definition: dict[str, Any]) -> None:
    """Put a claim release in front of each of the author's top-level Fail states (a compensation's end,
    a failure path of its own), so an execution that ends there lets a re-delivery or `keel ops redrive
    --failed` run the event again, as Keel's own failure path does."""
    states = definition["States"]
    releases = {
        name: (RELEASE_CLAIM + name)[: asl.MAX_STATE_NAME]
        for name, state in states.items()
        if state.get("Type") == "Fail" and name != FAILED
    }
    for name, release in releases.items():
        if release in states:
            raise ValueError(f"state name '{release}' is reserved for the claim release before '{name}'")
    if definition["StartAt"] in releases:
        definition["StartAt"] = releases[definition["StartAt"]]
    for state in states.values():
        for holder in (state, *state.get("Choices", []), *state.get("Catch", [])):
            for key in ("Next", "Default"):
                if holder.get(key) in releases:
                    holder[key] = releases[holder[key]]
    states.update({release: release_claim(then=name) for name, release in releases.items()})


def reachable(states: Mapping[str, Any], start: str) -> set[str]:
    """The top-level states a run can reach from `start` (Next, Default, Choices, Catch)."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        state = states[name]
        targets = [state.get("Next"), state.get("Default")]
        targets += [choice.get("Next") for choice in state.get("Choices", [])]
        targets += [catcher.get("Next") for catcher in state.get("Catch", [])]
        pending.extend(target for target in targets if isinstance(target, str))
    return seen


def _task_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Every state that may get defaults, and whether it is at the top level (where the failure path is)."""
    top = definition.get("States", {})
    for name, state in asl.iter_states(definition):
        if state.get("Type") in ("Task", "Map", "Parallel"):
            # A nested state may share a top-level state's name; identity tells them apart.
            yield name, state, top.get(name) is state


def _complete(state: dict[str, Any], plan: WorkflowPlan, failure: str | None) -> None:
    module = invoked_module(state, plan.modules)
    if module is not None:
        _add_payload_header(state)
        errors = LAMBDA_TRANSIENT + (REPEATABLE_ONLY if plan.modules[module] != "not_idempotent" else ())
        state.setdefault("Retry", [_retry(errors)])
    elif state.get("Resource") == SNS_PUBLISH:
        state.setdefault("Retry", [_retry(SNS_TRANSIENT)])
    if failure is not None:
        catchers = state.setdefault("Catch", [])
        if not any(CATCH_ALL in catcher.get("ErrorEquals", []) for catcher in catchers):
            catchers.append({"ErrorEquals": [CATCH_ALL], "ResultPath": "$.error", "Next": failure})


def _add_payload_header(state: dict[str, Any]) -> None:
    parameters = state.setdefault("Parameters", {})
    if "Payload.$" in parameters:
        return
    payload = parameters.setdefault("Payload", {})
    header = PAYLOAD_HEADER | (TASK_TOKEN if state["Resource"] == WAIT_FOR_TASK_TOKEN else {})
    for key, path in header.items():
        if key not in payload and key.removesuffix(".$") not in payload:
            payload[key] = path
    # The header first, as authors wrote it before Keel filled it in.
    first = [key for name in header for key in (name, name.removesuffix(".$")) if key in payload]
    parameters["Payload"] = {key: payload[key] for key in first} | {
        key: value for key, value in payload.items() if key not in first
    }


def _retry(errors: tuple[str, ...]) -> dict[str, Any]:
    return {"ErrorEquals": list(errors), **BACKOFF}
