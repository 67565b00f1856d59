"""What happened in a local run: each execution's path through its states, from its history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keel.execution_path import StateVisit, state_path
from keel.local.cloud import DeadLetter, LocalCloud


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
    # The state machine's definition as deployed (Keel's prologue and failure path included): what
    # `keel local run --graph` draws the path on.
    definition: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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


def execution_report(cloud: LocalCloud, arn: str) -> ExecutionReport:
    described, events = cloud.execution_record(arn)
    states = state_path(events, described["status"])
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
        definition=_definition(cloud, described["stateMachineArn"]),
    )


def _definition(cloud: LocalCloud, state_machine_arn: str) -> dict[str, Any]:
    described = cloud.client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn)
    definition: dict[str, Any] = json.loads(described["definition"])
    return definition


def run_report(cloud: LocalCloud) -> RunReport:
    return RunReport(
        executions=[execution_report(cloud, arn) for arn in cloud.execution_arns()],
        dead_letters=list(cloud.dead_letters),
    )
