"""The local cloud's CloudWatch: what ran becomes metrics and logs, and alarms are evaluated on them.

- Each Lambda invocation writes its log to the function's log group (keel/local/log_records.py), its
  EMF lines become metrics (keel/local/emf.py), and Lambda's own invocation metrics are published
  (keel/local/service_metrics.py); each execution publishes Step Functions' metrics when it starts
  and ends, and its history to its state machine's log group as its LoggingConfiguration says. Every
  datapoint carries the virtual time of what it measures: an invocation's start, an execution's
  start or stop, on that execution's clock (keel/local/clock.py).
- SQS queue depths are sampled whenever the alarms are all evaluated: at least once a virtual
  minute, and whenever a queue's depth changed.
- Every alarm of the cloud (the template's, and any a client puts) is evaluated as CloudWatch does
  (keel/local/alarm_evaluation.py; anomaly detection bands by a rolling baseline,
  keel/local/alarm_anomaly.py): the alarms on a metric when a datapoint of it arrives, at that
  datapoint's time, and all of them at world time when the local cloud says so (after driving
  executions, when the world clock moves, on `keel local up`'s ticks). Each alarm's evaluations only
  move forward in time. A state change is recorded (DescribeAlarmHistory) and notifies the SNS
  topics among its actions with the message CloudWatch sends (keel/local/alarm_messages.py).
  Actions of other kinds (EC2, Auto Scaling, Systems Manager, Lambda) are recorded as not executed.

Not done locally: CloudWatch's alarm state-change events on EventBridge (on AWS they reach the
default bus, where alarm_remediation listens for alarms entering ALARM: a local run only runs what
its events start); composite alarms and metric math outside an anomaly band are listed as not evaluated.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from keel.local import emf, log_records, moto_cloudwatch, service_metrics
from keel.local.alarm_anomaly import AnomalyRule, evaluate_anomaly
from keel.local.alarm_evaluation import EXTRA_PERIODS, AlarmRule, MetricKey, Sample, Verdict, evaluate, metric_key
from keel.local.alarm_messages import notification
from keel.local.alarm_model import AlarmDefinition
from keel.local.deploy import MachineLogging
from keel.local.moto_patches import REQUESTS, execution_record

# Virtual seconds between two samples of a queue whose depth has not changed.
QUEUE_SAMPLE_SECONDS = 60.0
INITIAL_REASON = "Unchecked: Initial alarm creation"
MAX_HISTORY_RECORDS = 100


@dataclass(frozen=True)
class AlarmChange:
    """An alarm's state change, and the SNS topics it notified."""

    alarm: str
    old: str
    new: str
    reason: str
    at: float
    notified: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "alarm": self.alarm,
            "old_state": self.old,
            "new_state": self.new,
            "reason": self.reason,
            "time": datetime.fromtimestamp(self.at, tz=UTC).isoformat(),
            "notified": list(self.notified),
        }


@dataclass(frozen=True)
class FunctionLogging:
    log_group: str
    memory_mb: int
    version: str


@dataclass
class _Watched:
    definition: AlarmDefinition
    rule: AlarmRule | AnomalyRule | None
    problem: str | None
    since: float
    evaluated_at: float = 0.0


@dataclass(frozen=True)
class _Note:
    topic: str
    subject: str
    message: str


Publish = Callable[[str, str, str], None]


class Observatory:
    def __init__(self, account: str, region: str, publish: Publish) -> None:
        self.account = account
        self.region = region
        self._publish = publish
        self._lock = threading.Lock()
        self._cursor = 0
        self._samples: dict[MetricKey, list[Sample]] = {}
        self._alarms: dict[str, _Watched] = {}
        self._by_metric: dict[MetricKey, set[str]] = {}
        self._queues: dict[str, tuple[int, float]] = {}  # name -> (depth, when sampled)
        self._history: list[dict[str, Any]] = []
        self.changes: list[AlarmChange] = []
        self.problems: list[str] = []
        self.machine_logging: dict[str, MachineLogging] = {}

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The request lock, then the observatory's, always in that order: a request's own handling reaches
        the observatory holding the request lock (DescribeAlarmHistory, a StartExecution's metrics), so a
        thread taking the observatory's lock first and then a request's would deadlock with it."""
        with REQUESTS.held(), self._lock:
            yield

    # What ran.

    def invoked(self, function: str, logging: FunctionLogging, invocation: Any, stream: str) -> None:
        """One invocation that ran (a keel.local Invocation): its log, Lambda's metrics, its EMF metrics."""
        events = log_records.lambda_events(invocation, logging.memory_mb, logging.version)
        with REQUESTS.held():
            moto_cloudwatch.put_log_events(self.account, self.region, (logging.log_group, stream), events)
        points = service_metrics.invocation(function, invocation.errored, invocation.duration_ms, invocation.started_at)
        extracted, problems = emf.extract(invocation.log, invocation.started_at)
        with self._exclusive():
            self.problems += [f"{function}: EMF line ignored ({problem.reason}): {problem.line[:120]}" for problem in problems]
        self.put(points + extracted)

    def throttled(self, function: str, at: float) -> None:
        self.put(service_metrics.throttle(function, at))

    def execution_started(self, execution_arn: str, at: float) -> None:
        self.put(service_metrics.execution_started(state_machine_of(execution_arn), at))

    def execution_ended(self, execution_arn: str) -> None:
        with REQUESTS.held():
            described, history = execution_record(self.account, self.region, execution_arn)
        machine = described["stateMachineArn"]
        started, stopped = _seconds(described["startDate"]), _seconds(described["stopDate"])
        logging = self.machine_logging.get(machine)
        if logging is not None and logging.level != "OFF":
            events = log_records.execution_events(execution_arn, history, logging.level, logging.include_data)
            stream = log_records.execution_stream(machine.rsplit(":", 1)[-1], started, execution_arn.rsplit(":", 1)[-1])
            if events:
                with REQUESTS.held():
                    moto_cloudwatch.put_log_events(self.account, self.region, (logging.log_group, stream), events)
        self.put(service_metrics.execution_ended(machine, described["status"], started, stopped))

    def put(self, datapoints: list[emf.Datapoint]) -> None:
        """PutMetricData, then the alarms on those metrics evaluated at the datapoints' time."""
        if not datapoints:
            return
        with self._exclusive():
            with REQUESTS.held():
                moto_cloudwatch.put_metric_data(self.account, self.region, datapoints)
            keys = {metric_key(point.namespace, point.name, list(point.dimensions)) for point in datapoints}
            names = {name for key in keys for name in self._by_metric.get(key, ())}
            notes = self._evaluate(names, max(point.timestamp for point in datapoints))
        self._notify(notes)

    # Alarms.

    def start(self, now: float) -> None:
        """The alarms deployed so far exist from `now`, INSUFFICIENT_DATA as CloudWatch creates them."""
        with self._exclusive():
            self._refresh(now)

    def evaluate_all(self, now: float) -> None:
        """Sample the queues, then evaluate every alarm at `now` (world time)."""
        with self._exclusive():
            self._refresh(now)
            self._sample_queues(now)
            notes = self._evaluate(set(self._alarms), now)
        self._notify(notes)

    def not_evaluated(self) -> dict[str, str]:
        """Alarm name -> why the local cloud does not evaluate it."""
        with self._exclusive():
            return {name: watched.problem for name, watched in self._alarms.items() if watched.problem is not None}

    def states(self) -> dict[str, str]:
        with self._exclusive():
            return {name: watched.definition.state for name, watched in self._alarms.items()}

    def alarm_history(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        """DescribeAlarmHistory: AlarmName, HistoryItemType, StartDate, EndDate, MaxRecords, ScanBy."""
        start, end = (_seconds(parameters.get(key)) if parameters.get(key) else None for key in ("StartDate", "EndDate"))
        with self._exclusive():
            items = [
                item
                for item in self._history
                if parameters.get("AlarmName") in (None, item["AlarmName"])
                and parameters.get("HistoryItemType") in (None, item["HistoryItemType"])
                and (start is None or item["Timestamp"].timestamp() >= start)
                and (end is None or item["Timestamp"].timestamp() <= end)
            ]
        items.sort(key=lambda item: item["Timestamp"], reverse=parameters.get("ScanBy") != "TimestampAscending")
        return items[: int(parameters.get("MaxRecords") or MAX_HISTORY_RECORDS)]

    def _refresh(self, now: float) -> None:
        with REQUESTS.held():
            definitions = moto_cloudwatch.alarm_definitions(self.account, self.region)
        seen = set()
        for definition in definitions:
            seen.add(definition.name)
            known = self._alarms.get(definition.name)
            if known is not None and known.definition.updated == definition.updated:
                known.definition = definition  # its state may have been set by a client
                continue
            rule = definition.rule()
            problem = rule if isinstance(rule, str) else None
            watched = _Watched(definition, None if isinstance(rule, str) else rule, problem, since=now, evaluated_at=now)
            self._alarms[definition.name] = watched
            self._record(definition.name, "ConfigurationUpdate", f'Alarm "{definition.name}" created', {}, now)
            reason = INITIAL_REASON if problem is None else f"keel local: {problem}"
            self._set_state(watched, ("INSUFFICIENT_DATA", reason, "{}"), now, created=True)
        for name in set(self._alarms) - seen:
            del self._alarms[name]
        self._by_metric = {}
        for name, watched in self._alarms.items():
            for metric in _metrics_of(watched.rule):
                self._by_metric.setdefault(metric, set()).add(name)

    def _sample_queues(self, now: float) -> None:
        with REQUESTS.held():
            depths = moto_cloudwatch.queue_depths(self.account, self.region)
        points = []
        for name, depth in sorted(depths.items()):
            last = self._queues.get(name)
            if last is None or last[0] != depth or now - last[1] >= QUEUE_SAMPLE_SECONDS:
                points.append(service_metrics.queue_depth(name, depth, now))
                self._queues[name] = (depth, now)
        if points:
            with REQUESTS.held():
                moto_cloudwatch.put_metric_data(self.account, self.region, points)

    def _ingest(self) -> None:
        with REQUESTS.held():
            found, self._cursor = moto_cloudwatch.metric_samples(self.account, self.region, self._cursor)
        for key, sample in found:
            bisect.insort(self._samples.setdefault(key, []), sample, key=lambda item: item.timestamp)

    def _window(self, rule: AlarmRule, at: float) -> list[Sample]:
        samples = self._samples.get(rule.metric, [])
        earliest = at - rule.period * (rule.evaluation_periods + EXTRA_PERIODS + 1)
        first = bisect.bisect_left(samples, earliest, key=lambda item: item.timestamp)
        last = bisect.bisect_right(samples, at, key=lambda item: item.timestamp)
        return samples[first:last]

    def _between(self, metric: MetricKey, start: float, end: float) -> list[Sample]:
        """A metric's samples stamped from `start` to `end` (an anomaly band's training window)."""
        samples = self._samples.get(metric, [])
        first = bisect.bisect_left(samples, start, key=lambda item: item.timestamp)
        return samples[first : bisect.bisect_right(samples, end, key=lambda item: item.timestamp)]

    def _verdict(self, watched: _Watched, moment: float) -> Verdict | None:
        rule = watched.rule
        if isinstance(rule, AnomalyRule):
            return evaluate_anomaly(rule, self._between, moment, watched.since)
        assert rule is not None
        return evaluate(rule, self._window(rule, moment), moment, watched.since)

    def _evaluate(self, names: set[str], at: float) -> list[_Note]:
        self._ingest()
        notes: list[_Note] = []
        for name in sorted(names):
            watched = self._alarms.get(name)
            if watched is None or watched.rule is None:
                continue
            moment = max(at, watched.evaluated_at)
            watched.evaluated_at = moment
            state = watched.definition.state
            verdict = self._verdict(watched, moment)
            if verdict is None or verdict.state == state:
                continue
            notes += self._change(watched, (verdict.state, verdict.reason, json.dumps(verdict.reason_data)), moment)
        return notes

    def _change(self, watched: _Watched, new: tuple[str, str, str], at: float) -> list[_Note]:
        definition = watched.definition
        old = definition.state
        self._set_state(watched, new, at)
        topics = tuple(action for action in definition.actions_for(new[0]) if action.startswith("arn:aws:sns:"))
        notes = []
        for action in definition.actions_for(new[0]):
            if action in topics:
                subject, message = notification(definition, (old, new[0]), new[1], at)
                notes.append(_Note(action, subject, message))
                done = {"actionState": "Succeeded", "notificationResource": action}
                self._record(definition.name, "Action", f"Successfully executed action {action}", done, at)
            else:
                failed = {"actionState": "Failed", "error": "keel local executes SNS actions only"}
                self._record(definition.name, "Action", f"Failed to execute action {action}", failed, at)
        self.changes.append(AlarmChange(definition.name, old, new[0], new[1], at, topics))
        return notes

    def _set_state(self, watched: _Watched, new: tuple[str, str, str], at: float, *, created: bool = False) -> None:
        old = watched.definition.state
        with REQUESTS.held():
            moto_cloudwatch.set_alarm_state(self.account, self.region, watched.definition.name, new, at)
        watched.definition = replace(watched.definition, state=new[0])
        if old != new[0] and not created:
            data = {
                "version": "1.0",
                "oldState": {"stateValue": old},
                "newState": {"stateValue": new[0], "stateReason": new[1], "stateReasonData": json.loads(new[2] or "{}")},
            }
            self._record(watched.definition.name, "StateUpdate", f"Alarm updated from {old} to {new[0]}", data, at)

    def _record(self, alarm: str, kind: str, summary: str, data: dict[str, Any], at: float) -> None:
        self._history.append(
            {
                "AlarmName": alarm,
                "AlarmType": "MetricAlarm",
                "Timestamp": datetime.fromtimestamp(at, tz=UTC),
                "HistoryItemType": kind,
                "HistorySummary": summary,
                "HistoryData": json.dumps(data),
            }
        )

    def _notify(self, notes: list[_Note]) -> None:
        for note in notes:
            self._publish(note.topic, note.subject, note.message)


def _metrics_of(rule: AlarmRule | AnomalyRule | None) -> frozenset[MetricKey]:
    if isinstance(rule, AnomalyRule):
        return rule.metrics
    return frozenset() if rule is None else frozenset({rule.metric})


def state_machine_of(execution_arn: str) -> str:
    """arn:aws:states:r:a:execution:<machine>:<name> -> arn:aws:states:r:a:stateMachine:<machine>."""
    head, machine, _name = execution_arn.rsplit(":", 2)
    return head.removesuffix(":execution") + f":stateMachine:{machine}"


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return moto_cloudwatch.epoch(value)
    if isinstance(value, int | float):
        return float(value)
    return moto_cloudwatch.epoch(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
