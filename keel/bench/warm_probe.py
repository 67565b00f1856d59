"""Run in a fresh interpreter by keel.bench.warm: per-invocation cost of the platform's handler wrapping.

Prints one JSON object: microseconds per call (median over batches) of a bare handler, of parsing
the task input alone, of Logger's and Metrics' decorators alone, and of the full `task_handler`.
Powertools writes its EMF metrics line to stdout on every invocation: stdout goes to /dev/null
while timing, so that write is counted, as on Lambda.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from keel.bench.stats import median

BATCHES = 25
CALLS_PER_BATCH = 400
EVENT: dict[str, Any] = {
    "event_id": "5b9cacca-5e26-47bd-9e80-f952a9755f16",
    "execution": "arn:aws:states:us-east-1:111111111111:execution:keel-dev-bench:5b9cacca-5e26-47bd-9e80-f952a9755f16-1",
    "keel": {
        "automation": "bench",
        "version": "1.0.0",
        "environment": "dev",
        "region": "us-east-1",
        "owner": "platform-team",
        "data_classification": "internal",
        "dry_run": False,
        "approval_required": None,
        "approval_from_risk": "never",
        "approval_timeout_seconds": 3600,
        "oncall": "platform-oncall",
        "escalation": "platform-oncall",
        "approvers": ["platform-oncall"],
        "definition_hash": "sha256:" + "0" * 64,
        "limits": {"max_concurrency": 1, "max_actions_per_window": 20, "window_minutes": 60},
    },
}


class Context:
    function_name = "keel-dev-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:keel-dev-bench"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/keel-dev-bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def per_call_us(handler: Callable[[dict[str, Any], Any], Any], context: Any) -> float:
    for _ in range(CALLS_PER_BATCH):
        handler(EVENT, context)
    batches = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(CALLS_PER_BATCH):
            handler(EVENT, context)
        batches.append((time.perf_counter() - started) / CALLS_PER_BATCH * 1e6)
    return median(batches)


def main() -> None:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "keel-bench")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Keel")
    from aws_lambda_powertools.metrics import MetricUnit

    from functions.shared.domain.context import TaskInput
    from functions.shared.runtime.handler import parse, task_handler
    from functions.shared.runtime.observability import logger, metrics

    def bare(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        return {"ok": True, "event_id": event["event_id"]}

    def parsed(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        return {"ok": True, "event_id": parse(TaskInput, event).event_id}

    def counted(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(name="TaskSucceeded", unit=MetricUnit.Count, value=1)
        return bare(event, context)

    @task_handler(TaskInput)
    def wrapped(task: TaskInput, _context: Any) -> dict[str, Any]:
        return {"ok": True, "event_id": task.event_id}

    variants: dict[str, Callable[[dict[str, Any], Any], Any]] = {
        "bare": bare,
        "parse": parsed,
        "logger": logger.inject_lambda_context(clear_state=True)(bare),
        "metrics": metrics.log_metrics(counted),
        "task_handler": wrapped,
    }
    context = Context()
    stdout = sys.stdout
    results = {}
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            for name, handler in variants.items():
                results[name] = per_call_us(handler, context)
        finally:
            sys.stdout = stdout
    print(json.dumps(results))


if __name__ == "__main__":
    main()
