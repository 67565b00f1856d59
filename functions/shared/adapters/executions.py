"""Which state machine version and alias an execution runs on: DescribeExecution's
stateMachineVersionArn and stateMachineAliasArn, absent for an execution started on the state
machine's unqualified ARN (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
An execution's version never changes, so each is asked once per execution environment."""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_errors, client

# Executions this environment asked about: a workflow records several decisions per execution.
KEPT = 256


class ExecutionVersions:
    def __init__(self, states_client: Any | None = None) -> None:
        self._states = states_client
        self._known: dict[str, tuple[str | None, str | None]] = {}

    def of(self, execution_arn: str) -> tuple[str | None, str | None]:
        """(version ARN, alias ARN) the execution runs on."""
        if execution_arn not in self._known:
            if self._states is None:
                self._states = client("stepfunctions")
            with aws_errors(f"DescribeExecution {execution_arn}"):
                described = self._states.describe_execution(executionArn=execution_arn)
            if len(self._known) >= KEPT:
                self._known.clear()
            self._known[execution_arn] = (described.get("stateMachineVersionArn"), described.get("stateMachineAliasArn"))
        return self._known[execution_arn]
