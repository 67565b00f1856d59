"""Cost per one million runs of an automation, from what its local executions used.

A `Usage` holds totals over `runs` executions of one scenario (happy path, failure path): state
transitions and service integration calls from the executions' histories, Lambda invocations with
their configured memory and measured durations, the AWS calls our handlers made, the bytes they
logged. `cost_per_million` prices them with `Prices` for a Standard or an Express workflow.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from functions.shared.domain.prices import Prices

WorkflowType = Literal["standard", "express"]
MILLION = 1_000_000
GB = 1024**3

# DynamoDB request units per item for each write/read operation (items of at most 1 KB / 4 KB,
# strongly consistent reads); transactions cost twice.
WRITE_UNITS = {"PutItem": 1.0, "UpdateItem": 1.0, "DeleteItem": 1.0, "BatchWriteItem": 1.0, "TransactWriteItems": 2.0}
READ_UNITS = {"GetItem": 1.0, "Query": 1.0, "Scan": 1.0, "BatchGetItem": 1.0, "TransactGetItems": 2.0}


def dynamodb_units(operation: str, items: int = 1) -> tuple[float, float]:
    """(write units, read units) of one DynamoDB call touching `items` items."""
    return WRITE_UNITS.get(operation, 0.0) * items, READ_UNITS.get(operation, 0.0) * items


@dataclass(frozen=True)
class LambdaUse:
    module: str
    memory_mb: int
    duration_ms: float


@dataclass
class Usage:
    """Totals over `runs` executions."""

    runs: int
    transitions: int = 0
    invocations: list[LambdaUse] = field(default_factory=list)
    # AWS calls by "service:Operation", from the state machine and from our handlers (Lambda excluded).
    calls: Counter[str] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    custom_events: int = 0
    log_bytes: int = 0
    execution_ms: list[float] = field(default_factory=list)

    def per_run(self, value: float) -> float:
        return value / self.runs if self.runs else 0.0


@dataclass(frozen=True)
class Cost:
    """USD per one million runs, by what is paid for."""

    workflow: float
    lambda_requests: float
    lambda_compute: float
    dynamodb: float
    events: float
    other_calls: float
    logs: float

    @property
    def total(self) -> float:
        compute = self.workflow + self.lambda_requests + self.lambda_compute
        return compute + self.dynamodb + self.events + self.other_calls + self.logs


def billed(duration_ms: float, granularity_ms: int) -> float:
    """Milliseconds billed: rounded up to the granularity, at least one unit of it."""
    step = max(granularity_ms, 1)
    return max(step, math.ceil(duration_ms / step) * step)


def lambda_gb_seconds(invocation: LambdaUse, prices: Prices) -> float:
    return billed(invocation.duration_ms, prices.lambda_granularity_ms) / 1000 * invocation.memory_mb / 1024


def workflow_cost(usage: Usage, prices: Prices, workflow: WorkflowType) -> float:
    """USD for all `usage.runs` executions' workflow charges."""
    if workflow == "standard":
        return usage.transitions * prices.standard_per_transition
    gb = prices.express_memory_mb / 1024
    seconds = sum(billed(ms, prices.express_granularity_ms) / 1000 for ms in usage.execution_ms)
    return usage.runs * prices.express_per_request + seconds * gb * prices.express_per_gb_second


def unpriced_calls(usage: Usage, prices: Prices) -> list[str]:
    """Calls the price file has no price for (DynamoDB is priced by request units)."""
    return sorted(call for call in usage.calls if not call.startswith("dynamodb:") and call not in prices.api_calls)


def cost_per_million(usage: Usage, prices: Prices, workflow: WorkflowType) -> Cost:
    if usage.runs <= 0:
        raise ValueError("a cost per run needs at least one run")
    scale = MILLION / usage.runs
    other = sum(count * prices.api_calls[call] for call, count in usage.calls.items() if call in prices.api_calls)
    return Cost(
        workflow=workflow_cost(usage, prices, workflow) * scale,
        lambda_requests=len(usage.invocations) * prices.lambda_per_request * scale,
        lambda_compute=sum(lambda_gb_seconds(use, prices) for use in usage.invocations) * prices.lambda_per_gb_second * scale,
        dynamodb=(usage.write_units * prices.dynamodb_per_wru + usage.read_units * prices.dynamodb_per_rru) * scale,
        events=usage.custom_events * prices.per_custom_event * scale,
        other_calls=other * scale,
        logs=usage.log_bytes / GB * prices.logs_per_gb * scale,
    )


def cheaper(standard: Cost, express: Cost | None) -> WorkflowType:
    return "express" if express is not None and express.total < standard.total else "standard"


def cost_per_run(usage: Usage, prices: Prices, workflow: WorkflowType) -> float:
    """USD for one run, on average over `usage.runs`."""
    return round(cost_per_million(usage, prices, workflow).total / MILLION, 9)
