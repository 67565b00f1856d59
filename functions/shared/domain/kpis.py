"""KPIs of automations over a period, with their trend: pure, shared by `keel ops report|review` and the
monthly review function.

Execution figures come from Step Functions' CloudWatch metrics (namespace AWS/States, dimension
StateMachineArn: ExecutionsStarted, -Succeeded, -Failed, -TimedOut, -Aborted as Sum, ExecutionTime as
p50/p90, https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html) and the
dead-letter queue's depth from AWS/SQS (ApproximateNumberOfMessagesVisible, Maximum); what was decided
comes from the decisions table (functions/shared/domain/decisions.py).

GetMetricData takes at most 500 metrics per request and returns at most 100,800 data points
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html), so the
queries of many automations go in batches of 500, 8 per automation: 62 automations per call, five
calls for 300. A 30-day report asks 8 x (5 weekly points + 2 whole-period points) per automation.

Times are aligned so CloudWatch's rounding changes nothing: StartTime within 15 days is rounded down
to the minute, 15 to 63 days back to 5 minutes, older to the hour, and a period reaching that far
must be a multiple of 300 or 3600 seconds (same page). The window's end is rounded up to the next 5
minutes (the hour, for a window going back more than 63 days), its length to the same step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STATES = "AWS/States"
SQS = "AWS/SQS"
MAX_METRICS_PER_CALL = 500
# The retention steps of CloudWatch (seconds back -> the alignment a start time and a period need).
FINE_DAYS, COARSE_DAYS = 15, 63
HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
# (key, namespace, metric, statistic) read for every automation.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("runs", STATES, "ExecutionsStarted", "Sum"),
    ("succeeded", STATES, "ExecutionsSucceeded", "Sum"),
    ("failed", STATES, "ExecutionsFailed", "Sum"),
    ("timed_out", STATES, "ExecutionsTimedOut", "Sum"),
    ("aborted", STATES, "ExecutionsAborted", "Sum"),
    ("p50_ms", STATES, "ExecutionTime", "p50"),
    ("p90_ms", STATES, "ExecutionTime", "p90"),
    ("dead_lettered", SQS, "ApproximateNumberOfMessagesVisible", "Maximum"),
)
COUNTS = ("runs", "succeeded", "failed", "timed_out", "aborted")


class KpiInputError(ValueError):
    """A period KPIs cannot be computed for."""


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def period_ending(now: datetime, length: timedelta) -> Period:
    """The `length` up to now, aligned for CloudWatch (module docstring)."""
    if length <= timedelta(0):
        raise KpiInputError(f"a period must be longer than zero, not {length}")
    step = HOUR if 2 * length > timedelta(days=COARSE_DAYS) else 300
    end_epoch = math.ceil(now.astimezone(UTC).timestamp() / step) * step
    seconds = math.ceil(length.total_seconds() / step) * step
    end = datetime.fromtimestamp(end_epoch, UTC)
    return Period(end - timedelta(seconds=seconds), end)


def bucket_seconds(period: Period) -> int:
    """The trend's step: hourly over a day, daily up to two weeks, weekly beyond."""
    if period.seconds <= DAY:
        return HOUR
    return DAY if period.seconds <= 14 * DAY else WEEK


def buckets(period: Period) -> list[Period]:
    step = timedelta(seconds=bucket_seconds(period))
    count = math.ceil(period.seconds / step.total_seconds())
    return [Period(period.start + i * step, min(period.start + (i + 1) * step, period.end)) for i in range(count)]


@dataclass(frozen=True)
class Watched:
    """What CloudWatch knows an automation by."""

    automation: str
    state_machine_arn: str
    dead_letter_queue: str


@dataclass(frozen=True)
class MetricRequest:
    """One GetMetricData call: its queries, the time range and the period of each point."""

    start: datetime
    end: datetime
    period_seconds: int
    queries: list[dict[str, Any]]


# The whole-period points and the trend's are asked under different ids: the trend's first point and
# the current period's share a start time.
WHOLE, TREND = "w", "t"


def query_id(kind: str, index: int, key: str) -> str:
    # An Id starts with a lower-case letter and holds letters, digits and underscores only.
    return f"{kind}{index}_{key}"


def metric_requests(watched: Sequence[Watched], period: Period) -> list[MetricRequest]:
    """The calls that read every automation's figures: the whole period beside the previous one (one
    point each), then the trend (one point per bucket), each in batches of MAX_METRICS_PER_CALL."""
    whole = Period(period.previous().start, period.end)
    requests = []
    for kind, window, step in ((WHOLE, whole, period.seconds), (TREND, period, bucket_seconds(period))):
        queries = [
            _query(query_id(kind, index, key), key, item, step) for index, item in enumerate(watched) for key, *_ in METRICS
        ]
        for first in range(0, len(queries), MAX_METRICS_PER_CALL):
            requests.append(MetricRequest(window.start, window.end, step, queries[first : first + MAX_METRICS_PER_CALL]))
    return requests


def _query(identifier: str, key: str, item: Watched, period_seconds: int) -> dict[str, Any]:
    _, namespace, metric, statistic = next(row for row in METRICS if row[0] == key)
    dimension = (
        {"Name": "QueueName", "Value": item.dead_letter_queue}
        if namespace == SQS
        else {"Name": "StateMachineArn", "Value": item.state_machine_arn}
    )
    return {
        "Id": identifier,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": [dimension]},
            "Period": period_seconds,
            "Stat": statistic,
        },
        "ReturnData": True,
    }


@dataclass(frozen=True)
class Points:
    """GetMetricData's answer, by query id: (timestamp, value) pairs."""

    by_id: Mapping[str, Sequence[tuple[datetime, float]]]

    def value_at(self, query: str, start: datetime) -> float | None:
        for moment, value in self.by_id.get(query, ()):
            if moment.astimezone(UTC) == start:
                return value
        return None


def points_of(results: Iterable[Mapping[str, Any]]) -> Points:
    """MetricDataResults of every call (and page), merged by query id."""
    merged: dict[str, list[tuple[datetime, float]]] = {}
    for result in results:
        pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=True)
        merged.setdefault(str(result["Id"]), []).extend((moment, float(value)) for moment, value in pairs)
    return Points(merged)


@dataclass(frozen=True)
class Executions:
    """Execution figures of one automation over one period."""

    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    aborted: int = 0
    p50_s: float | None = None
    p90_s: float | None = None
    dead_lettered: int = 0

    @property
    def ended(self) -> int:
        return self.succeeded + self.failed + self.timed_out + self.aborted

    @property
    def success_rate(self) -> float | None:
        return round(100 * self.succeeded / self.ended, 2) if self.ended else None


def executions_at(points: Points, kind: str, index: int, start: datetime) -> Executions:
    """One automation's figures for the period (WHOLE) or trend bucket (TREND) starting at `start`."""
    counts = {key: int(points.value_at(query_id(kind, index, key), start) or 0) for key in COUNTS}
    p50, p90 = (points.value_at(query_id(kind, index, key), start) for key in ("p50_ms", "p90_ms"))
    depth = points.value_at(query_id(kind, index, "dead_lettered"), start)
    return Executions(
        **counts,
        p50_s=None if p50 is None else round(p50 / 1000, 3),
        p90_s=None if p90 is None else round(p90 / 1000, 3),
        dead_lettered=int(depth or 0),
    )


@dataclass(frozen=True)
class Recorded:
    """What a KPI needs of one decision record."""

    recorded_at: datetime
    execution_arn: str
    step: str
    action: str
    outcome: str
    dry_run: bool
    rule: str | None
    approval_id: str | None
    approved_by: str | None
    reason: str


@dataclass(frozen=True)
class Waited:
    """An approval request: when it was asked and, once answered, when."""

    requested_at: datetime
    decided_at: datetime | None


@dataclass
class Decisions:
    """Decision figures of one automation over one period."""

    actions_taken: int = 0
    refused: int = 0
    dry_runs: int = 0
    approvals_asked: int = 0
    approvals_answered: int = 0
    approval_wait_p50_s: float | None = None
    approval_wait_max_s: float | None = None
    refusals: dict[str, int] = field(default_factory=dict)
    rules_fired: dict[str, int] = field(default_factory=dict)


def decisions_in(records: Iterable[Recorded], period: Period, waits: Mapping[str, Waited]) -> Decisions:
    """Counts of what was decided in `period`: actions taken (not dry runs), guardrail refusals by
    guardrail, dry runs, approvals asked (requests seen in the record) and how long people took to answer
    (requested -> decided, from `waits`), and the rules that decided."""
    result = Decisions()
    asked: set[str] = set()
    for record in records:
        if not period.contains(record.recorded_at):
            continue
        if record.outcome == "taken" and not record.dry_run:
            result.actions_taken += 1
        if record.outcome == "refused":
            result.refused += 1
            guardrail = record.action.removeprefix("guardrail:")
            result.refusals[guardrail] = result.refusals.get(guardrail, 0) + 1
        if record.dry_run and record.outcome == "planned":
            result.dry_runs += 1
        if record.approval_id:
            asked.add(record.approval_id)
        if record.rule:
            result.rules_fired[record.rule] = result.rules_fired.get(record.rule, 0) + 1
    taken = sorted(
        (wait.decided_at - wait.requested_at).total_seconds()
        for approval, wait in waits.items()
        if approval in asked and wait.decided_at is not None
    )
    result.approvals_asked, result.approvals_answered = len(asked), len(taken)
    result.approval_wait_p50_s = percentile(taken, 50)
    result.approval_wait_max_s = taken[-1] if taken else None
    return result


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted values, as CloudWatch reports pNN."""
    if not values:
        return None
    rank = max(1, math.ceil(len(values) * pct / 100))
    return values[rank - 1]


def change(now: float | None, before: float | None) -> float | None:
    """The change against the previous period, in percent (None when there is nothing to compare with)."""
    if now is None or before is None or before == 0:
        return None
    return round(100 * (now - before) / before, 1)


@dataclass(frozen=True)
class OverrideChange:
    """An operator's override (keel ops disable|enable) changed in the period, and who changed it."""

    scope: str
    state: str
    changed_by: str
    changed_at: datetime
    reason: str


@dataclass(frozen=True)
class Sources:
    """Everything read for one automation, besides the metrics."""

    records: Sequence[Recorded]
    waits: Mapping[str, Waited]
    overrides: Sequence[OverrideChange]
    # USD per run, from the price model and a sampled execution; None when nothing ran to sample.
    cost_per_run: float | None


@dataclass(frozen=True)
class AutomationKpis:
    automation: str
    period: Period
    executions: Executions
    previous: Executions
    decisions: Decisions
    overrides: Sequence[OverrideChange]
    cost_per_run: float | None
    trend: Sequence[tuple[Period, Executions, Decisions]]

    def as_json(self) -> dict[str, Any]:
        now, before = self.executions, self.previous
        return {
            "automation": self.automation,
            **_execution_json(now),
            **_decision_json(self.decisions),
            "overrides": [_override_json(change) for change in self.overrides],
            "estimated_cost_per_run_usd": self.cost_per_run,
            "change_percent": {
                "runs": change(now.runs, before.runs),
                "success_rate": change(now.success_rate, before.success_rate),
                "p90_s": change(now.p90_s, before.p90_s),
            },
            "previous": _execution_json(before),
            "trend": [
                {"start": _iso(bucket.start), **_execution_json(figures), **_decision_json(decided)}
                for bucket, figures, decided in self.trend
            ],
        }


def automation_kpis(automation: str, index: int, points: Points, period: Period, sources: Sources) -> AutomationKpis:
    """The automation at `index` of the metric requests, over `period`, beside the period before."""
    return AutomationKpis(
        automation=automation,
        period=period,
        executions=executions_at(points, WHOLE, index, period.start),
        previous=executions_at(points, WHOLE, index, period.previous().start),
        decisions=decisions_in(sources.records, period, sources.waits),
        overrides=[override for override in sources.overrides if period.contains(override.changed_at)],
        cost_per_run=sources.cost_per_run,
        trend=[
            (bucket, executions_at(points, TREND, index, bucket.start), decisions_in(sources.records, bucket, sources.waits))
            for bucket in buckets(period)
        ],
    )


def team_total(kpis: Sequence[AutomationKpis]) -> dict[str, Any]:
    """The team's sums (counts add up; durations and waits do not: the worst p90 is given instead)."""
    ran = [item.executions for item in kpis]
    succeeded, ended = sum(e.succeeded for e in ran), sum(e.ended for e in ran)
    p90s = [e.p90_s for e in ran if e.p90_s is not None]
    costs = [(item.cost_per_run or 0.0) * item.executions.runs for item in kpis]
    return {
        "automations": len(kpis),
        "runs": sum(e.runs for e in ran),
        "succeeded": succeeded,
        "failed": sum(e.failed + e.timed_out + e.aborted for e in ran),
        "success_rate": round(100 * succeeded / ended, 2) if ended else None,
        "worst_p90_s": max(p90s) if p90s else None,
        "dead_lettered": sum(e.dead_lettered for e in ran),
        "actions_taken": sum(item.decisions.actions_taken for item in kpis),
        "refused": sum(item.decisions.refused for item in kpis),
        "dry_runs": sum(item.decisions.dry_runs for item in kpis),
        "approvals_asked": sum(item.decisions.approvals_asked for item in kpis),
        "overrides": sum(len(item.overrides) for item in kpis),
        "estimated_cost_usd": round(sum(costs), 6),
    }


def _execution_json(figures: Executions) -> dict[str, Any]:
    return {
        "runs": figures.runs,
        "succeeded": figures.succeeded,
        "failed": figures.failed + figures.timed_out + figures.aborted,
        "success_rate": figures.success_rate,
        "p50_s": figures.p50_s,
        "p90_s": figures.p90_s,
        "dead_lettered": figures.dead_lettered,
    }


def _decision_json(decided: Decisions) -> dict[str, Any]:
    return {
        "actions_taken": decided.actions_taken,
        "refused": decided.refused,
        "dry_runs": decided.dry_runs,
        "approvals_asked": decided.approvals_asked,
        "approval_wait_p50_s": decided.approval_wait_p50_s,
        "approval_wait_max_s": decided.approval_wait_max_s,
    }


def _override_json(override: OverrideChange) -> dict[str, Any]:
    return {
        "scope": override.scope,
        "state": override.state,
        "changed_by": override.changed_by,
        "changed_at": _iso(override.changed_at),
        "reason": override.reason,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
