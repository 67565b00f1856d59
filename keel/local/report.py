"""What happened in a local run: each execution's path through its states, from its history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keel.local.cloud import DeadLetter, LocalCloud

_ERROR_EVENTS = ("TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskSubmitFailed")
_ATTEMPT_EVENTS = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")


@dataclass
class StateVisit:
    name: str
    type: str
    entered: datetime
    exited: datetime | None = None
    attempts: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    failed: bool = False

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.exited is None:
            return "running"
        if not self.errors:
            return "succeeded"
        return "retried" if self.attempts > len(self.errors) else "caught"

    @property
    def duration_ms(self) -> int | None:
        return None if self.exited is None else round((self.exited - self.entered).total_seconds() * 1000)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "entered": self.entered.isoformat(),
            "exited": self.exited.isoformat() if self.exited else None,
            "duration_ms": self.duration_ms,
            "attempts": self.attempts,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class ExecutionReport:
    automation: str
    execution_arn: str
    status: str
    states: list[StateVisit]
    output: Any
    error: str | None
    cause: str | None
    started: datetime
    stopped: datetime | None

    @property
    def name(self) -> str:
        return self.execution_arn.rsplit(":", 1)[-1]

    @property
    def duplicate(self) -> bool:
        return isinstance(self.output, dict) and self.output.get("duplicate") is True

    @property
    def duration_seconds(self) -> float | None:
        return None if self.stopped is None else (self.stopped - self.started).total_seconds()

    def as_json(self) -> dict[str, Any]:
        return {
            "automation": self.automation,
            "execution_arn": self.execution_arn,
            "status": self.status,
            "states": [state.as_json() for state in self.states],
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
        }


@dataclass(frozen=True)
class RunReport:
    executions: list[ExecutionReport]
    dead_letters: list[DeadLetter]

    def as_json(self) -> dict[str, Any]:
        return {
            "executions": [execution.as_json() for execution in self.executions],
            "dead_letters": [letter.as_json() for letter in self.dead_letters],
        }

    @property
    def all_succeeded(self) -> bool:
        return not self.dead_letters and all(execution.status == "SUCCEEDED" for execution in self.executions)


def state_path(events: list[dict[str, Any]]) -> list[StateVisit]:
    """The states an execution went through, in order, with attempts and errors (retries, catches)."""
    visits: list[StateVisit] = []
    open_visits: list[StateVisit] = []
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            visit = StateVisit(event["stateEnteredEventDetails"]["name"], kind.removesuffix("StateEntered"), event["timestamp"])
            visits.append(visit)
            open_visits.append(visit)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            exited = next((candidate for candidate in reversed(open_visits) if candidate.name == name), None)
            if exited is not None:
                exited.exited = event["timestamp"]
                open_visits.remove(exited)
        elif open_visits:
            _task_event(open_visits[-1], kind, event)
    return visits


def _task_event(visit: StateVisit, kind: str, event: dict[str, Any]) -> None:
    if kind in _ATTEMPT_EVENTS:
        visit.attempts += 1
    elif kind in _ERROR_EVENTS:
        details: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        visit.errors.append({"error": details.get("error", kind), "cause": details.get("cause", "")})
    elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
        visit.failed = True


def execution_report(cloud: LocalCloud, arn: str) -> ExecutionReport:
    described, events = cloud.execution_record(arn)
    states = state_path(events)
    if described["status"] != "RUNNING":
        for visit in states:
            visit.failed = visit.failed or (visit.exited is None and described["status"] != "SUCCEEDED")
    output = described.get("output")
    return ExecutionReport(
        automation=cloud.deployed.automation_of(described["stateMachineArn"]),
        execution_arn=arn,
        status=described["status"],
        states=states,
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause") or cloud.blocked.get(arn),
        started=described["startDate"],
        stopped=described.get("stopDate"),
    )


def run_report(cloud: LocalCloud) -> RunReport:
    return RunReport(
        executions=[execution_report(cloud, arn) for arn in cloud.execution_arns()],
        dead_letters=list(cloud.dead_letters),
    )
