"""Hand a decision to the automation's one writer: its record_decision function, invoked synchronously.

Only record_decision may append to the decisions table, and only to its own automation's items
(infra/constructs/function.py). Every other module records through this adapter: its role may invoke
its own automation's writer and nothing else of the decision record, so a module that handles
customer text cannot edit, delete or overwrite a decision, nor write another automation's.

The writer's errors come back by name (Lambda's error payload), and are raised here as the same
project exceptions, so the workflows' Retry and Catch treat them as if the module had raised them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.domain.decisions import HANDED, Decision, DecisionRecord
from functions.shared.runtime import errors
from functions.shared.runtime.errors import DependencyError, KeelError, TransientError

# Lambda's own failures of the writer's execution environment: worth another try.
RUNTIME_FAILURES = ("Sandbox.Timedout", "Runtime.ExitError", "Runtime.Unknown", "Lambda.Unknown")


# The project's exceptions by name (functions/shared/runtime/errors.py): what a writer's error is raised as.
PROJECT_ERRORS: dict[str, type[KeelError]] = {
    name: value for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, KeelError)
}


class DecisionWriter:
    """A Recorder (functions/shared/domain/decisions.py) that appends through the automation's writer."""

    def __init__(self, function_name: str, lambda_client: Any | None = None) -> None:
        self.function_name = function_name
        self._lambda = lambda_client

    @property
    def lambda_client(self) -> Any:
        if self._lambda is None:
            self._lambda = client("lambda")
        return self._lambda

    def record(self, decision: Decision) -> DecisionRecord:
        return self.record_all([decision])[0]

    def record_all(self, decisions: Sequence[Decision]) -> list[DecisionRecord]:
        """One invocation, one append: the writer takes the chain's head once for all of them."""
        payload = json.dumps({HANDED: [decision.model_dump(mode="json") for decision in decisions]}).encode()
        with aws_errors(f"Invoke {self.function_name}"):
            response = self.lambda_client.invoke(FunctionName=self.function_name, Payload=payload)
            answer = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise _writer_error(self.function_name, answer)
        return [DecisionRecord.model_validate(record) for record in answer["records"]]


def _writer_error(function_name: str, answer: Any) -> KeelError:
    answer = answer if isinstance(answer, dict) else {}
    name, message = str(answer.get("errorType", "")), str(answer.get("errorMessage", ""))
    text = f"{function_name}: {name}: {message}" if message else f"{function_name}: {name or 'unknown error'}"
    if name in PROJECT_ERRORS:
        return PROJECT_ERRORS[name](text)
    if name in RUNTIME_FAILURES:
        return TransientError(text)
    return DependencyError(text)
