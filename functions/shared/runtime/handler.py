"""The one way a task handler is wrapped: logging context, metrics flush, input parsed to its model.

    @task_handler(MyInput)
    def lambda_handler(task: MyInput, context: LambdaContext) -> dict: ...

Bad input raises InvalidInputError naming the fields (parsing.py: the limits every input meets, then
its model), so the execution fails (or its Catch runs) with a reason a person can act on. Any
exception is logged with its type and re-raised unchanged: its class name is the error name the
state machine's Retry/Catch match on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.domain.context import TaskInput
from functions.shared.runtime.contract import Model
from functions.shared.runtime.observability import logger, metrics
from functions.shared.runtime.parsing import parse_task

M = TypeVar("M", bound=Model)
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# The name benchmarks and tests parse a whole task input with.
parse = parse_task


def task_handler(model: type[M]) -> Callable[[Callable[[M, Any], dict[str, Any]]], Handler]:
    def decorate(function: Callable[[M, Any], dict[str, Any]]) -> Handler:
        @wraps(function)
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            # Every invocation counts as TaskSucceeded or TaskFailed: a per-module success rate, and
            # never an empty metric set to flush.
            try:
                task = parse_task(model, event)
                if isinstance(task, TaskInput):
                    logger.append_keys(automation=task.keel.automation, event_id=task.event_id, execution=task.execution)
                    metrics.add_dimension("environment", task.keel.environment)
                    # Each automation runs its own instance of a module: its metrics are its own.
                    metrics.add_dimension("automation", task.keel.automation)
                result = function(task, context)
            except Exception as error:
                metrics.add_metric(name="TaskFailed", unit=MetricUnit.Count, value=1)
                metrics.add_metadata(key="error_type", value=type(error).__name__)
                logger.exception("task failed", extra={"error_type": type(error).__name__})
                raise
            metrics.add_metric(name="TaskSucceeded", unit=MetricUnit.Count, value=1)
            return result

        wrapped: Handler = logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(handle))
        return wrapped

    return decorate
