"""What happened in a local run: each execution's path through its states, from its history, with the
invocations its tasks made (and their logs); the alarms that changed state; the pages sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra import names
from keel.execution_path import StateVisit, state_path
from keel.local.cloud import DeadLetter, LocalCloud, Page
from keel.local.lambda_runtime import Invocation
from keel.local.observatory import AlarmChange


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
    # Its tasks' Lambda invocations, in the order they ran, each with its log.
    invocations: list[Invocation] = field(default_factory=list, repr=False, compare=False)

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
            "logs": [invocation_json(invocation) for invocation in self.invocations],
        }


def invocation_json(invocation: Invocation) -> dict[str, Any]:
    return {
        "state": invocation.step,
        "function": invocation.function,
        "request_id": invocation.request_id,
        "log_stream": invocation.log_stream,
        "errored": invocation.errored,
        "error_type": invocation.error_type,
        "lines": invocation.log.splitlines(),
    }


@dataclass(frozen=True)
class SentPage:
    """A message published to an on-call route's topic: an alarm, an approval request, a failure notice."""

    route: str
    subject: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"route": self.route, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class RunReport:
    executions: list[ExecutionReport]
    dead_letters: list[DeadLetter]
    pages: list[SentPage] = field(default_factory=list)
    # Every alarm state change, oldest first (INSUFFICIENT_DATA -> OK included).
    alarms: list[AlarmChange] = field(default_factory=list)
    # Why some metrics or alarms are not what the template asks (an EMF line ignored, an alarm not evaluated).
    observability: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "executions": [execution.as_json() for execution in self.executions],
            "dead_letters": [letter.as_json() for letter in self.dead_letters],
            "alarms": [change.as_json() for change in self.alarms],
            "pages": [page.as_json() for page in self.pages],
        }

    @property
    def fired(self) -> list[AlarmChange]:
        """The changes into ALARM, and out of it."""
        return [change for change in self.alarms if "ALARM" in (change.old, change.new)]

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
        invocations=[invocation for invocation in list(cloud.runtime.invocations) if invocation.execution == arn],
    )


def _definition(cloud: LocalCloud, state_machine_arn: str) -> dict[str, Any]:
    described = cloud.client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn)
    definition: dict[str, Any] = json.loads(described["definition"])
    return definition


def pages(cloud: LocalCloud) -> list[SentPage]:
    """What was published to the environment's on-call topics (keel-<env>-oncall-<route>)."""
    prefix = names.oncall_topic(cloud.template.environment, "")
    return [_sent(page, prefix) for page in cloud.pages() if page.route.startswith(prefix)]


def _sent(page: Page, prefix: str) -> SentPage:
    return SentPage(page.route.removeprefix(prefix), page.subject, page.message)


def run_report(cloud: LocalCloud) -> RunReport:
    not_evaluated = [f"alarm {name} is not evaluated: {why}" for name, why in sorted(cloud.observatory.not_evaluated().items())]
    return RunReport(
        executions=[execution_report(cloud, arn) for arn in cloud.execution_arns()],
        dead_letters=list(cloud.dead_letters),
        pages=pages(cloud),
        alarms=list(cloud.observatory.changes),
        observability=[*not_evaluated, *cloud.observatory.problems],
    )
