"""Keel's limit states: what a manifest's `limits.concurrency` and `trigger.debounce` add to a workflow.

Both are decided by conditional writes in Lambda modules (functions/limit_slots, functions/debounce_event)
and both are declared, never guessed, so the synthesized definition (what the console shows and the
tests read) holds every state that runs.

Concurrency: `KeelAcquireConcurrency` takes a slot in front of the section's first state (default:
the workflow's StartAt, so the whole workflow after the claim and the debounce). Over the limit it
raises ConcurrencyLimitReached, which its Retry backs off on for at most the declared wait; then the
execution records the refusal (`KeelRecordConcurrencyLimited`), pages the owner's on-call route and
ends as `concurrency_limited`. Every way out of the section gives the slot back first: the transition
after its last state, every Choice, Catch or Next that leaves it, every end inside it, and every
failure (a catch-all on its tasks leads to Keel's failure path through a release). A release never
fails the workflow: if it cannot run, the slot's lease (the workflow's timeout) frees it.

Debounce: `KeelDebounce` registers the event under its key, `KeelDebounceWait` waits as long as it
says, `KeelDebounceSettle` decides; the latest event of the burst goes on to the workflow, every
other one is recorded as debounced (`KeelRecordDebounced`) and ends as `debounced`.

These states are added before Keel fills in its defaults (infra/workflow_defaults.py), so their
tasks get the standard payload header; they carry their own Retry and Catch where the defaults would
be wrong.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import workflow_defaults
from infra.errors import KeelConfigError
from infra.manifest import Concurrency, Debounce, Manifest

SLOTS_MODULE = "limit_slots"
DEBOUNCE_MODULE = "debounce_event"

ACQUIRE = "KeelAcquireConcurrency"
RELEASE = "KeelReleaseConcurrency"
SECTION_END = "KeelSectionEnd"
LIMITED_RECORD = "KeelRecordConcurrencyLimited"
LIMITED_NOTIFY = "KeelNotifyConcurrencyLimited"
LIMITED = "KeelConcurrencyLimited"
DEBOUNCE = "KeelDebounce"
DEBOUNCE_WAIT = "KeelDebounceWait"
DEBOUNCE_SETTLE = "KeelDebounceSettle"
DEBOUNCE_LATEST = "KeelDebounceLatest"
DEBOUNCE_RECORD = "KeelRecordDebounced"
DEBOUNCED = "KeelDebounced"
# Where the workflow keeps what it holds and what the debounce said.
SLOT_PATH = "$.keel_concurrency"
DEBOUNCE_PATH = "$.keel_debounce"
LIMIT_ERROR = "ConcurrencyLimitReached"
TERMINAL = ("Succeed", "Fail")
# Waiting for a slot: from 5 s, doubling, at most a minute between tries, full jitter.
WAIT_FIRST_SECONDS, WAIT_BACKOFF, WAIT_MAX_DELAY_SECONDS = 5, 2.0, 60
STATE_NAME_CHARS = 80


@dataclass(frozen=True)
class Edge:
    """One transition of a top-level state: its field (Next, Default, Choices[i], Catch[i]) and target."""

    source: str
    holder: dict[str, Any]
    field: str
    target: str


def modules_for(manifest: Manifest) -> list[str]:
    """The modules the limit states invoke, beyond the manifest's own (they are added to it)."""
    needed = []
    if any(limits.concurrency is not None for limits in _all_limits(manifest)):
        needed.append(SLOTS_MODULE)
    if manifest.trigger.debounce is not None:
        needed.append(DEBOUNCE_MODULE)
    if needed:
        needed.append(workflow_defaults.DECISION_WRITER)
    return needed


def with_limit_states(path: Path, manifest: Manifest, definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with the states the manifest's concurrency limit and debounce need."""
    _check_environments(path, manifest)
    completed = copy.deepcopy(definition)
    concurrency = manifest.limits.concurrency
    if concurrency is not None:
        failure = manifest.workflow.failure.state or workflow_defaults.RECORD_FAILURE
        _insert_concurrency(path, completed, concurrency, manifest.workflow.timeout_seconds, failure)
    if manifest.trigger.debounce is not None:
        _insert_debounce(completed, manifest.trigger.debounce)
    return completed


def _all_limits(manifest: Manifest) -> list[Any]:
    return [manifest.limits] + [manifest.resolved_for(name).limits for name in manifest.environments]


def _check_environments(path: Path, manifest: Manifest) -> None:
    """An environment may change a concurrency limit's max, not its shape: the states are the same in all."""
    base = manifest.limits.concurrency
    for name in manifest.environments:
        theirs = manifest.resolved_for(name).limits.concurrency
        same_shape = (base is None) == (theirs is None) and (
            base is None or theirs is None or base.model_copy(update={"max": theirs.max}) == theirs
        )
        if not same_shape:
            raise KeelConfigError(
                path,
                f"environments.{name}.limits.concurrency",
                "an environment may change concurrency.max only; its key, section and wait are the workflow's "
                "(declare them in limits.concurrency)",
            )


# --- Concurrency ------------------------------------------------------------------------------


def _insert_concurrency(path: Path, definition: dict[str, Any], limit: Concurrency, lease: int, failure: str) -> None:
    states = definition["States"]
    start = limit.section.start if limit.section else definition["StartAt"]
    end = limit.section.end if limit.section else None
    section = _section(path, states, start, end)
    for edge in _edges(states):
        if edge.target == start and edge.source not in section:
            _retarget(edge, ACQUIRE)
        elif edge.target in section and edge.source not in section and edge.target != start:
            raise KeelConfigError(
                path,
                "limits.concurrency.section",
                f"state '{edge.source}' leads into the section at '{edge.target}'; a section is entered only at its "
                f"start '{start}', where the slot is taken",
            )
    if definition["StartAt"] == start:
        definition["StartAt"] = ACQUIRE
    insertion = _Insertion(path, states, section, start, end, failure)
    for name in sorted(section):
        _release_on_exits(insertion, name)
    states.update(insertion.releases)
    states[ACQUIRE] = _acquire(limit, lease, start)
    states.update(_limited_path())


def _section(path: Path, states: dict[str, Any], start: str, end: str | None) -> set[str]:
    for field, name in (("from", start), ("to", end)):
        if name is not None and name not in states:
            raise KeelConfigError(
                path, f"limits.concurrency.section.{field}", f"'{name}' is not a top-level state of the workflow"
            )
        if name is not None and states[name].get("Type") in TERMINAL:
            raise KeelConfigError(
                path, f"limits.concurrency.section.{field}", f"'{name}' is a {states[name]['Type']} state: nothing runs there"
            )
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen or states[name].get("Type") in TERMINAL:
            continue
        seen.add(name)
        if name != end:
            pending.extend(target for target in _targets(states[name]) if target in states)
    if end is not None and end not in seen:
        raise KeelConfigError(path, "limits.concurrency.section.to", f"'{end}' cannot be reached from '{start}'")
    return seen


@dataclass
class _Insertion:
    """One section being fenced: the workflow's states, the section's, and the releases added so far."""

    path: Path
    states: dict[str, Any]
    section: set[str]
    start: str
    end: str | None
    failure: str
    releases: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def _release_on_exits(insertion: _Insertion, name: str) -> None:
    """Every transition of `name` that leaves the section goes through a release first."""
    section, releases, failure = insertion, insertion.releases, insertion.failure
    state = insertion.states[name]
    for edge in _edges({name: state}):
        if name != section.end and edge.target in section.section:
            continue
        if edge.target in section.section and edge.target != section.start:
            raise KeelConfigError(
                insertion.path,
                "limits.concurrency.section.to",
                f"'{name}' ends the section but leads back into it at '{edge.target}', not at its start '{section.start}'",
            )
        # Back to the start: the slot is given back, then taken again like any other entry.
        target = ACQUIRE if edge.target == section.start else edge.target
        release = _release_name(f"Before{edge.target}")
        releases.setdefault(release, _release(target, f"before {edge.target}"))
        _retarget(edge, release)
    if state.get("End"):
        release = _release_name(f"After{name}")
        del state["End"]
        state["Next"] = release
        releases[release] = _release(SECTION_END, f"after {name}, the end of the workflow")
        releases[SECTION_END] = {
            "Type": "Pass",
            "Comment": "Keel: the end of a workflow whose last states held a concurrency slot (given back).",
            "End": True,
        }
    if state.get("Type") in ("Task", "Map", "Parallel") and not _catches_all(state):
        # A failure leaves the section too: give the slot back, then Keel's (or the author's) failure path.
        release = _release_name(f"Before{failure}")
        state.setdefault("Catch", []).append(
            {"ErrorEquals": [workflow_defaults.CATCH_ALL], "ResultPath": "$.error", "Next": release}
        )
        releases.setdefault(release, _release(failure, "on the way to the failure path"))


def _acquire(limit: Concurrency, lease: int, start: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "operation": "acquire",
        "limit": {"max.$": "$.keel.limits.max_concurrency", "lease_seconds": lease},
    }
    if limit.key is not None:
        payload["limit"]["key.$"] = limit.key
    retries = [
        {
            "ErrorEquals": [LIMIT_ERROR],
            "IntervalSeconds": WAIT_FIRST_SECONDS,
            "BackoffRate": WAIT_BACKOFF,
            "MaxDelaySeconds": WAIT_MAX_DELAY_SECONDS,
            "MaxAttempts": wait_attempts(limit.max_wait_seconds),
            "JitterStrategy": "FULL",
        },
        {
            "ErrorEquals": list(workflow_defaults.LAMBDA_TRANSIENT + workflow_defaults.LAMBDA_TIMEOUTS),
            **workflow_defaults.BACKOFF,
        },
    ]
    if retries[0]["MaxAttempts"] == 0:
        retries = retries[1:]
    return {
        "Type": "Task",
        "Comment": f"Keel: take a concurrency slot (limits.concurrency, at most {limit.max_wait_seconds} s of waiting).",
        "Resource": workflow_defaults.LAMBDA_INVOKE,
        "Parameters": {"FunctionName": f"${{{SLOTS_MODULE}}}", "Payload": payload},
        "ResultSelector": {"pk.$": "$.Payload.pk", "sk.$": "$.Payload.sk"},
        "ResultPath": SLOT_PATH,
        "Retry": retries,
        "Catch": [{"ErrorEquals": [LIMIT_ERROR], "ResultPath": "$.error", "Next": LIMITED_RECORD}],
        "Next": start,
    }


def wait_attempts(max_wait_seconds: int) -> int:
    """Retries whose nominal delays (5 s doubling, at most 60 s each) add up to no more than the wait."""
    attempts, waited, delay = 0, 0.0, float(WAIT_FIRST_SECONDS)
    while waited + min(delay, WAIT_MAX_DELAY_SECONDS) <= max_wait_seconds:
        waited += min(delay, WAIT_MAX_DELAY_SECONDS)
        delay *= WAIT_BACKOFF
        attempts += 1
    return attempts


def _release(target: str, where: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": f"Keel: give the concurrency slot back {where}.",
        "Resource": workflow_defaults.LAMBDA_INVOKE,
        "Parameters": {"FunctionName": f"${{{SLOTS_MODULE}}}", "Payload": {"operation": "release", "lease.$": SLOT_PATH}},
        "ResultPath": None,
        # If the slot cannot be given back, its lease frees it: the workflow goes on either way.
        "Catch": [{"ErrorEquals": [workflow_defaults.CATCH_ALL], "ResultPath": None, "Next": target}],
        "Next": target,
    }


def _release_name(where: str) -> str:
    name = f"{RELEASE}{where}"
    if len(name) <= STATE_NAME_CHARS:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: STATE_NAME_CHARS - 9]}-{digest}"


def _limited_path() -> dict[str, dict[str, Any]]:
    message = (
        "States.Format('{} {} ({}): every concurrency slot stayed held for as long as the manifest lets an execution "
        "wait; this event was not run.\\n{}\\nEvent: {}\\nExplain: keel ops explain {} --env {} --region {}', "
        "$.keel.automation, $.keel.version, $.keel.environment, $.recorded.reason, $.id, $$.Execution.Id, "
        "$.keel.environment, $.keel.region)"
    )
    return {
        LIMITED_RECORD: {
            "Type": "Task",
            "Comment": "Keel: record that the concurrency limit kept this event from running.",
            "Resource": workflow_defaults.LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": f"${{{workflow_defaults.DECISION_WRITER}}}",
                "Payload": {"action": "limit:concurrency", "outcome": "refused", "failure.$": "$.error", "evidence.$": "$.error"},
            },
            "ResultSelector": {"seq.$": "$.Payload.seq", "reason.$": "$.Payload.reason"},
            "ResultPath": "$.recorded",
            "Next": LIMITED_NOTIFY,
        },
        LIMITED_NOTIFY: {
            "Type": "Task",
            "Comment": "Keel: tell the owner's on-call route that an event was not run.",
            "Resource": workflow_defaults.SNS_PUBLISH,
            "Parameters": {
                "TopicArn": "${KeelOncallTopic}",
                "Subject.$": "States.Format('Keel: {} concurrency limit reached ({})', $.keel.automation, $.keel.environment)",
                "Message.$": message,
            },
            "ResultPath": None,
            "Next": LIMITED,
        },
        LIMITED: {
            "Type": "Pass",
            "Comment": "Keel: not run, because the concurrency limit stayed full; recorded and paged.",
            "Parameters": {"outcome": "concurrency_limited", "reason.$": "$.recorded.reason", "event_id.$": "$.id"},
            "End": True,
        },
    }


# --- Debounce ---------------------------------------------------------------------------------


def _insert_debounce(definition: dict[str, Any], debounce: Debounce) -> None:
    first = definition["StartAt"]
    payload = {"key.$": debounce.key, "window_seconds": debounce.window_seconds, "max_wait_seconds": debounce.max_wait_seconds}

    def task(phase: str, selector: dict[str, str], comment: str, next_state: str) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Comment": comment,
            "Resource": workflow_defaults.LAMBDA_INVOKE,
            "Parameters": {"FunctionName": f"${{{DEBOUNCE_MODULE}}}", "Payload": {"phase": phase, **payload}},
            "ResultSelector": selector,
            "ResultPath": DEBOUNCE_PATH,
            "Next": next_state,
        }

    definition["States"].update(
        {
            DEBOUNCE: task(
                "register",
                {"wait_seconds.$": "$.Payload.wait_seconds"},
                f"Keel: this event is the latest for its key {debounce.key} (trigger.debounce).",
                DEBOUNCE_WAIT,
            ),
            DEBOUNCE_WAIT: {
                "Type": "Wait",
                "Comment": f"Keel: wait for newer events with the same key (up to {debounce.window_seconds} s).",
                "SecondsPath": f"{DEBOUNCE_PATH}.wait_seconds",
                "Next": DEBOUNCE_SETTLE,
            },
            DEBOUNCE_SETTLE: task(
                "settle",
                {"run.$": "$.Payload.run", "superseded_by.$": "$.Payload.superseded_by", "reason.$": "$.Payload.reason"},
                "Keel: run if this is still the latest event of its burst.",
                DEBOUNCE_LATEST,
            ),
            DEBOUNCE_LATEST: {
                "Type": "Choice",
                "Choices": [{"Variable": f"{DEBOUNCE_PATH}.run", "BooleanEquals": True, "Next": first}],
                "Default": DEBOUNCE_RECORD,
            },
            DEBOUNCE_RECORD: {
                "Type": "Task",
                "Comment": "Keel: record that a newer event for the same key runs instead.",
                "Resource": workflow_defaults.LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": f"${{{workflow_defaults.DECISION_WRITER}}}",
                    "Payload": {"action": "debounce", "outcome": "debounced", "reason.$": f"{DEBOUNCE_PATH}.reason"},
                },
                "ResultSelector": {"seq.$": "$.Payload.seq"},
                "ResultPath": "$.recorded",
                "Next": DEBOUNCED,
            },
            DEBOUNCED: {
                "Type": "Pass",
                "Comment": "Keel: a newer event with the same key runs instead of this one.",
                "Parameters": {
                    "outcome": "debounced",
                    "superseded_by.$": f"{DEBOUNCE_PATH}.superseded_by",
                    "reason.$": f"{DEBOUNCE_PATH}.reason",
                },
                "End": True,
            },
        }
    )
    definition["StartAt"] = DEBOUNCE


# --- Transitions ------------------------------------------------------------------------------


def _edges(states: dict[str, Any]) -> Iterator[Edge]:
    for name, state in states.items():
        for field in ("Next", "Default"):
            if isinstance(state.get(field), str):
                yield Edge(name, state, field, state[field])
        for key in ("Choices", "Catch"):
            for item in state.get(key, []):
                if isinstance(item.get("Next"), str):
                    yield Edge(name, item, "Next", item["Next"])


def _targets(state: dict[str, Any]) -> list[str]:
    return [edge.target for edge in _edges({"": state})]


def _retarget(edge: Edge, target: str) -> None:
    edge.holder[edge.field] = target


def _catches_all(state: dict[str, Any]) -> bool:
    return any(workflow_defaults.CATCH_ALL in catcher.get("ErrorEquals", []) for catcher in state.get("Catch", []))
