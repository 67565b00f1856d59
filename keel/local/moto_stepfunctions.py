"""Step Functions operations moto 5.2.5 answers unlike AWS, answered as AWS does.

- StartExecution without a name: AWS names the execution with a UUID
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html, `name`);
  moto builds the ARN from `None`.
- ValidateStateMachineDefinition: not implemented by moto. Answered with the checks synth runs
  (statelint, infra/asl_validation.py), in the API's shape: `result` OK or FAIL and a diagnostic per
  problem (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html).
  The codes are the API's error codes; AWS's own checks may word a problem differently or find
  others (its WARNING diagnostics, for instance, are not produced here).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from infra.asl_validation import definition_problems

START_EXECUTION = ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend", "start_execution")
RESPONSE = ("moto.stepfunctions.responses", "StepFunctionResponse")
VALIDATE = "validate_state_machine_definition"
# The API's default and largest maxResults.
MAX_DIAGNOSTICS = 100


def patches(resolve: Callable[..., Any], action_result: Callable[[dict[str, Any]], Any]) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for each of the operations above."""
    module, owner, attribute = START_EXECUTION
    return [
        (resolve(module, owner), attribute, named_start(resolve(module, owner, attribute))),
        (resolve(*RESPONSE), VALIDATE, validation(action_result)),
    ]


def named_start(original: Callable[..., Any]) -> Callable[..., Any]:
    """The backend's start_execution, naming an unnamed execution with a UUID as AWS does."""

    def start_execution(backend: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return original(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


def validation(action_result: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    """A ValidateStateMachineDefinition handler for moto's Step Functions responses."""

    def validate_state_machine_definition(response: Any) -> Any:
        diagnostics = diagnostics_of(response._get_param("definition"))
        limit = int(response._get_param("maxResults") or MAX_DIAGNOSTICS)
        return action_result(
            {
                "result": "FAIL" if diagnostics else "OK",
                "diagnostics": diagnostics[:limit],
                "truncated": len(diagnostics) > limit,
            }
        )

    return validate_state_machine_definition


def diagnostics_of(definition: str | None) -> list[dict[str, str]]:
    """The API's diagnostics for a definition: empty when Step Functions would take it."""
    if not definition or not definition.strip():
        return [_error("MISSING_DESCRIPTION", "The definition is empty.")]
    try:
        parsed = json.loads(definition)
    except json.JSONDecodeError as error:
        return [_error("INVALID_JSON_DESCRIPTION", f"{error.msg} at line {error.lineno}, column {error.colno}.")]
    if not isinstance(parsed, dict):
        return [_error("SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object.")]
    return [_error("SCHEMA_VALIDATION_FAILED", problem) for problem in definition_problems(parsed)]


def _error(code: str, message: str) -> dict[str, str]:
    return {"severity": "ERROR", "code": code, "message": message}
