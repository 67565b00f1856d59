"""Watch the live advisor of a triage automation for drift, and say so once when it is confirmed.

Each run reads the decisions recorded since the last run (feed.py), turns them into observations of
the advisor's confidence and of reviewers' agreement with it (signals.py), and feeds them in order to
one Page-Hinkley detector per signal (page_hinkley.py) whose state waits in the limits table between
runs (state.py). A confirmed drift is recorded on the watch's own decision chain (signal, detector,
levels before and after, observations) and returned, and the workflow puts "Advisor Drift Detected"
on the bus. A drift of a model already reported is not reported again until the live model changes
(a new model starts the detectors afresh) or the cooldown has passed; it counts as a metric instead.
At most one drift is reported per run: the first confirmed; the others of that run fall under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from functions.advisor_drift_watch.config import WatchConfig
from functions.advisor_drift_watch.feed import Recorded
from functions.advisor_drift_watch.page_hinkley import PageHinkley
from functions.advisor_drift_watch.signals import Observation, observations
from functions.advisor_drift_watch.state import SignalState, WatchState
from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Decision, Recorder, decision_in, digest
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import Field

DETECTOR = "PageHinkley"


class WatchInput(TaskInput):
    step: str = Field(min_length=1)


class Feed(Protocol):
    def head_seq(self, automation: str) -> int: ...

    def after(self, automation: str, seq: int, limit: int) -> Iterable[Recorded]: ...


class Store(Protocol):
    def load(self, automation: str) -> WatchState: ...

    def save(self, state: WatchState, now: datetime) -> None: ...


class MetricSink(Protocol):
    def add(self, name: str, value: float, unit: str) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    config: WatchConfig
    feed: Feed
    store: Store
    log: Recorder
    metrics: MetricSink
    clock: Clock
    code_version: str


@dataclass(frozen=True)
class Drift:
    signal: str
    model_version: str
    observations: int
    mean_before: float
    mean_after: float
    # The decision record whose observation confirmed it.
    seq: int

    @property
    def drift_id(self) -> str:
        return f"{self.model_version}:{self.signal}:seq-{self.seq}"

    def detail(self, automation: str, detected_at: datetime) -> dict[str, Any]:
        """The event's detail (functions/shared/contracts/advisor_drift_detected.py)."""
        return {
            "automation": automation,
            "model_version": self.model_version,
            "signal": self.signal,
            "detector": DETECTOR,
            "detected_at": detected_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "observations": self.observations,
            "mean_before": round(self.mean_before, 4),
            "mean_after": round(self.mean_after, 4),
            "drift_id": f"{automation}:{self.drift_id}",
        }


def watch(task: WatchInput, deps: Dependencies) -> dict[str, Any]:
    config, now = deps.config, deps.clock()
    state = deps.store.load(config.automation)
    if state.last_execution == task.execution and state.last_result is not None:
        return state.last_result  # a retry of a run that saved: the same answer
    start = state.after_seq
    if start is None:
        start = max(0, deps.feed.head_seq(config.automation) - config.first_run_backfill)
    read, drifts = 0, []
    state.after_seq = start
    for record in deps.feed.after(config.automation, start, config.max_records_per_run):
        read += 1
        state.after_seq = record.seq
        drifts += [drift for found in observations(record.body) if (drift := _observe(state, found, record.seq, config))]
    reported = _to_report(state, drifts, now, config)
    result: dict[str, Any] = {
        "automation": config.automation,
        "records_read": read,
        "read_up_to_seq": state.after_seq,
        "model_version": state.model_version,
        "drifts_confirmed": len(drifts),
        "drift_found": reported is not None,
    }
    if reported is not None:
        result["drift"] = reported.detail(config.automation, now)
        deps.log.record(_decision(task, reported, result["drift"], deps.code_version))
        state.reported = {"drift_id": reported.drift_id, "model_version": reported.model_version, "at": now.isoformat()}
    state.last_execution, state.last_result = task.execution, result
    deps.store.save(state, now)
    _emit(deps.metrics, read, drifts, reported)
    return result


def _observe(state: WatchState, observation: Observation, seq: int, config: WatchConfig) -> Drift | None:
    if observation.model_version != state.model_version:
        # Another live model: what the detectors learnt of the old one says nothing about it.
        state.model_version, state.signals = observation.model_version, {}
    signal = state.signals.setdefault(observation.signal, SignalState())
    parameters = getattr(config.signals, observation.signal).parameters()
    detector = PageHinkley.restored(parameters, signal.detector)
    if detector.drift_detected:
        # The last observation confirmed a drift: the detector starts again, and so do its levels.
        signal.recent, signal.count, signal.total = [], 0, 0.0
    confirmed = detector.update(observation.value)
    signal.detector = detector.state()
    signal.count += 1
    signal.total += observation.value
    signal.recent = [*signal.recent, observation.value][-config.recent :]
    if not confirmed:
        return None
    after = signal.recent[-max(1, min(len(signal.recent), signal.count // 2)) :]
    before_count = signal.count - len(after)
    before = (signal.total - sum(after)) / before_count
    return Drift(observation.signal, observation.model_version, signal.count, before, sum(after) / len(after), seq)


def _to_report(state: WatchState, drifts: list[Drift], now: datetime, config: WatchConfig) -> Drift | None:
    """The first drift confirmed, unless a drift of its model was reported within the cooldown."""
    if not drifts:
        return None
    first, last = drifts[0], state.reported
    cooling = last is not None and now < datetime.fromisoformat(last["at"]) + timedelta(hours=config.cooldown_hours)
    if last is not None and cooling and last["model_version"] == first.model_version:
        return None
    return first


def _decision(task: WatchInput, drift: Drift, detail: dict[str, Any], code_version: str) -> Decision:
    reason = (
        f"{drift.signal} of {detail['automation']}'s advisor {drift.model_version} fell from {detail['mean_before']} "
        f"to {detail['mean_after']} ({DETECTOR}, {drift.observations} observations): drift confirmed"
    )
    return decision_in(
        task,
        step=task.step,
        action="report_advisor_drift",
        outcome="taken",
        reason=reason,
        rule=f"{DETECTOR.lower()}:{drift.signal}",
        resource=f"advisor/{detail['automation']}/{drift.model_version}",
        trigger=f"scheduled drift watch of {detail['automation']}",
        input_digest=digest(detail),
        code_version=code_version,
        versions={"model": drift.model_version},
        details={**detail, "confirmed_at_seq": drift.seq},
    )


def _emit(metrics: MetricSink, read: int, drifts: list[Drift], reported: Drift | None) -> None:
    metrics.add("DriftWatchRecordsRead", read, "Count")
    metrics.add("AdvisorDriftReported", 1 if reported is not None else 0, "Count")
    # Confirmed but not reported: already reported for this model, or reported together with another.
    metrics.add("AdvisorDriftSuppressed", len(drifts) - (1 if reported is not None else 0), "Count")
