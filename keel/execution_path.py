"""An execution's path through its states, read from its Step Functions history: each state visited,
in order, with its attempts (retries), errors and how it ended. The same on AWS and on the local cloud:
`keel ops show`, `keel local run` and the execution graph read it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_ERROR_EVENTS = ("TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskSubmitFailed")
_ATTEMPT_EVENTS = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")
_ENDINGS = ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


@dataclass
class StateVisit:
    name: str
    type: str
    entered: datetime
    exited: datetime | None = None
    attempts: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    failed: bool = False
    input: Any = None
    output: Any = None

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
    def retries(self) -> int:
        return max(self.attempts - 1, 0)

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


def state_path(events: list[dict[str, Any]], execution_status: str | None = None) -> list[StateVisit]:
    """The states an execution went through, in order, with attempts and errors (retries, catches).

    With the execution's status, a state it never left is `failed` once the execution ended otherwise
    than SUCCEEDED (a Fail state, a timeout, an abort)."""
    visits: list[StateVisit] = []
    open_visits: list[StateVisit] = []
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            visit = StateVisit(
                details["name"], kind.removesuffix("StateEntered"), event["timestamp"], input=parsed_json(details.get("input"))
            )
            visits.append(visit)
            open_visits.append(visit)
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            exited = next((candidate for candidate in reversed(open_visits) if candidate.name == details["name"]), None)
            if exited is not None:
                exited.exited, exited.output = event["timestamp"], parsed_json(details.get("output"))
                open_visits.remove(exited)
        elif open_visits:
            _task_event(open_visits[-1], kind, event)
    if execution_status not in (None, "RUNNING", "SUCCEEDED"):
        for visit in visits:
            visit.failed = visit.failed or visit.exited is None
    return visits


def _task_event(visit: StateVisit, kind: str, event: dict[str, Any]) -> None:
    if kind in _ATTEMPT_EVENTS:
        visit.attempts += 1
    elif kind in _ERROR_EVENTS:
        details: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        visit.errors.append({"error": details.get("error", kind), "cause": details.get("cause", "")})
    elif kind in _ENDINGS:
        visit.failed = True


def parsed_json(text: str | None) -> Any:
    """A JSON document from Step Functions (input, output, cause) parsed; text that is not JSON as it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
