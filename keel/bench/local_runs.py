"""Automations on the local cloud: throughput, and what each run uses (for the cost per million runs).

For each automation of the catalog, one local cloud of the environment's template:
1. warm-up: every sample event once (each function's cold start happens here; not counted);
2. throughput: N events (the sample events in turn, each with a unique id), approvals answered,
   delivered in batches of 20 and driven to an end; wall time, time inside our handlers, state transitions;
3. happy path: the sample events again (at least 5 runs), one execution at a time;
4. failure path (one at a time too): the workflow's first function fails with TransientError every time (a dependency
   down), so its retries run out and the execution fails or takes its Catch.

Each execution's usage comes from its own history (transitions, the state machine's own service calls,
Lambda invocations) and from our handlers' invocations for that execution (durations measured in
their worker processes, the AWS calls they made, bytes logged: the local runtime records all three).
Injected failures never run a handler: they are priced at the module's median measured duration, as
a real failure costs about one invocation. Cold starts (a new worker's start and init phase) are
measured apart: `AutomationRun.cold_starts_ms`.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from functions.shared.domain.billing import count_transitions, integration_calls
from functions.shared.domain.costs import LambdaUse, Usage, dynamodb_units
from keel.bench.stats import median
from keel.local.cloud import LocalCloud
from keel.local.faults import FunctionFault
from keel.local.lambda_runtime import Invocation
from keel.local.template import EnvironmentTemplate

ALWAYS = 1_000_000
HAPPY_RUNS = 5
# Events delivered before the executions are driven to an end, during the throughput phase.
THROUGHPUT_BATCH = 20
FAILURE_RUNS = 3


@dataclass(frozen=True)
class BenchAutomation:
    name: str
    events: list[dict[str, Any]]
    memory_mb: dict[str, int]
    first_function: str | None
    express_allowed: bool
    express_reason: str


@dataclass
class HandlerRecord:
    module: str
    execution: str | None
    seconds: float
    log_bytes: int
    calls: list[tuple[str, int]] = field(default_factory=list)


def handler_records(invocations: list[Invocation]) -> list[HandlerRecord]:
    """The warm invocations that ran a handler (no cold start, no injected fault), as the bench counts them."""
    return [
        HandlerRecord(
            invocation.module,
            invocation.execution,
            invocation.duration_ms / 1000,
            len(invocation.log.encode()),
            list(invocation.calls),
        )
        for invocation in invocations
        if invocation.cold_start_ms is None and not invocation.injected
    ]


@dataclass(frozen=True)
class Execution:
    arn: str
    automation: str
    status: str
    events: list[dict[str, Any]]
    duration_ms: float
    trigger_source: str


@dataclass
class Phase:
    executions: list[Execution]
    records: list[HandlerRecord]
    wall_seconds: float = 0.0
    delivered: int = 0

    @property
    def handler_seconds(self) -> float:
        return sum(record.seconds for record in self.records)

    @property
    def transitions(self) -> int:
        return sum(count_transitions(execution.events) for execution in self.executions)


@dataclass(frozen=True)
class AutomationRun:
    automation: BenchAutomation
    throughput: Phase
    events: int
    happy: Usage
    failure: Usage | None
    failure_statuses: Counter[str]
    # Each new worker's start and init phase (importing the handler), in milliseconds.
    cold_starts_ms: list[float] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.events / self.throughput.wall_seconds if self.throughput.wall_seconds else 0.0


def unique_events(samples: list[dict[str, Any]], count: int, label: str) -> list[dict[str, Any]]:
    """`count` events cycling through the samples, each with its own id (so none is a duplicate)."""
    events = []
    for index in range(count):
        event = dict(samples[index % len(samples)])
        event["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"keel-bench/{label}/{index}"))
        events.append(event)
    return events


def module_of(function: str, modules: list[str]) -> str | None:
    """The module of a deployed function name or ARN (keel-dev-emit_heartbeat -> emit_heartbeat)."""
    name = function.rsplit(":", 1)[-1]
    matches = [module for module in modules if name == module or name.endswith(f"-{module}")]
    return max(matches, key=len) if matches else None


def execution_usage(execution: Execution, records: list[HandlerRecord], automation: BenchAutomation, usage: Usage) -> None:
    """Add one execution's usage to `usage` (totals)."""
    usage.transitions += count_transitions(execution.events)
    usage.execution_ms.append(execution.duration_ms)
    if not execution.trigger_source.startswith("aws."):
        usage.custom_events += 1
    invoked: Counter[str] = Counter()
    for call, count in integration_calls(execution.events).items():
        if call == "lambda:Invoke":
            continue
        _add_call(usage, call, 1, count)
    for event in execution.events:
        function = _invoked_function(event)
        module = module_of(function, list(automation.memory_mb)) if function else None
        if module is not None:
            invoked[module] += 1
    own = [record for record in records if record.execution == execution.arn]
    measured: dict[str, list[float]] = defaultdict(list)
    for record in records:
        measured[record.module].append(record.seconds * 1000)
    for record in own:
        usage.invocations.append(LambdaUse(record.module, automation.memory_mb[record.module], record.seconds * 1000))
        usage.log_bytes += record.log_bytes
        for call, items in record.calls:
            _add_call(usage, call, items, 1)
        invoked[record.module] -= 1
    for module, missing in invoked.items():  # invocations that never ran a handler (injected faults)
        typical = median(measured[module]) if measured[module] else 1.0
        usage.invocations += [LambdaUse(module, automation.memory_mb[module], typical)] * max(missing, 0)


def _add_call(usage: Usage, call: str, items: int, times: int) -> None:
    service, _, operation = call.partition(":")
    if service == "dynamodb":
        writes, reads = dynamodb_units(operation, items)
        usage.write_units += writes * times
        usage.read_units += reads * times
    usage.calls[call] += (items if call == "events:PutEvents" else 1) * times


def _invoked_function(event: dict[str, Any]) -> str | None:
    import json

    if event["type"] == "LambdaFunctionScheduled":
        return str(event.get("lambdaFunctionScheduledEventDetails", {}).get("resource", ""))
    details = event.get("taskScheduledEventDetails", {})
    if event["type"] != "TaskScheduled" or details.get("resourceType") != "lambda":
        return None
    parameters = json.loads(details.get("parameters") or "{}")
    return str(parameters.get("FunctionName", ""))


def usage_of(phase: Phase, automation: BenchAutomation, succeeded_only: bool) -> Usage:
    executions = [
        execution
        for execution in phase.executions
        if execution.automation == automation.name and (execution.status == "SUCCEEDED" or not succeeded_only)
    ]
    usage = Usage(runs=len(executions))
    for execution in executions:
        execution_usage(execution, phase.records, automation, usage)
    return usage


class _Bench:
    def __init__(self, template: EnvironmentTemplate, automation: BenchAutomation) -> None:
        self.automation = automation
        # Function credentials and IAM evaluated, as `keel local run` runs.
        self.cloud = LocalCloud(template, drive_limit_seconds=600.0)

    def phase(self, events: list[dict[str, Any]], *, batch: int = THROUGHPUT_BATCH, budget: float | None = None) -> Phase:
        """Deliver the events and drive their executions to an end, `batch` events at a time (1: an
        execution alone in the cloud, its duration not stretched by others' work and waits)."""
        first_delivery, first_invocation = len(self.cloud.deliveries), len(self.cloud.runtime.invocations)
        started = time.perf_counter()
        delivered = 0
        for event in events:
            if budget is not None and delivered % batch == 0 and time.perf_counter() - started > budget:
                break  # out of time: the report says how many events ran
            self.cloud.deliver(event)
            delivered += 1
            if delivered % batch == 0:
                self.cloud.drive("approve")
        self.cloud.drive("approve")
        wall = time.perf_counter() - started
        arns = [delivery.execution_arn for delivery in self.cloud.deliveries[first_delivery:] if delivery.execution_arn]
        records = handler_records(self.cloud.runtime.invocations[first_invocation:])
        return Phase([self._execution(arn) for arn in arns], records, wall, delivered)

    def cold_starts_ms(self) -> list[float]:
        return [invocation.cold_start_ms for invocation in self.cloud.runtime.invocations if invocation.cold_start_ms is not None]

    def _execution(self, arn: str) -> Execution:
        import json

        described, events = self.cloud.execution_record(arn)
        stopped = described.get("stopDate") or described["startDate"]
        source = str(json.loads(described.get("input") or "{}").get("source", ""))
        return Execution(
            arn=arn,
            automation=self.cloud.deployed.automation_of(described["stateMachineArn"]),
            status=described["status"],
            events=events,
            duration_ms=(stopped - described["startDate"]).total_seconds() * 1000,
            trigger_source=source,
        )


def run_automation(
    template: EnvironmentTemplate, automation: BenchAutomation, events: int, budget: float | None = None
) -> AutomationRun:
    bench = _Bench(template, automation)
    with bench.cloud:
        bench.phase(unique_events(automation.events, len(automation.events), f"{automation.name}/warm-up"))
        throughput = bench.phase(unique_events(automation.events, events, f"{automation.name}/throughput"), budget=budget)
        runs = max(HAPPY_RUNS, len(automation.events))
        happy_phase = bench.phase(unique_events(automation.events, runs, f"{automation.name}/happy"), batch=1)
        happy = usage_of(happy_phase, automation, succeeded_only=True)
        failure, statuses = None, Counter[str]()
        if automation.first_function is not None:
            bench.cloud.faults.functions.append(FunctionFault(automation.first_function, "error", ALWAYS))
            failure_events = unique_events(automation.events[:1], FAILURE_RUNS, f"{automation.name}/failure")
            failed = bench.phase(failure_events, batch=1)
            failure = _failure_usage(failed, happy_phase, automation)
            statuses = Counter(execution.status for execution in failed.executions if execution.automation == automation.name)
        cold_starts = bench.cold_starts_ms()
    return AutomationRun(automation, throughput, throughput.delivered, happy, failure, statuses, cold_starts)


def _failure_usage(failed: Phase, happy: Phase, automation: BenchAutomation) -> Usage:
    """Injected failures run no handler: their duration is the module's median on the happy path."""
    combined = Phase(failed.executions, failed.records + [_typical(record) for record in happy.records])
    return usage_of(combined, automation, succeeded_only=False)


def _typical(record: HandlerRecord) -> HandlerRecord:
    return HandlerRecord(record.module, None, record.seconds, 0, [])
