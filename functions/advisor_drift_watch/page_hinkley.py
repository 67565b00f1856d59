"""The Page-Hinkley change detector, with its state as plain JSON so it can wait between runs.

The same test as river's `river.drift.PageHinkley` (river 0.22.0, river/drift/page_hinkley.py): a
running mean, two cumulative sums of the deviations from it (each with the tolerance `delta` and the
forgetting factor `alpha`), and a drift when a sum moves more than `threshold` away from its extreme.
tests/unit/test_advisor_drift_detector.py feeds both the same streams and asserts they flag the same
observations. river itself is not bundled for Lambda: `river.drift` imports scipy and pandas at import
(measured, median of 11 fresh processes on a loaded machine: 17.2 s with boto3, 7.6 times a boto3-only
handler; README "Advisor drift"), and river
0.22.0 with the numpy, scipy and pandas wheels the python3.11 runtime can load (manylinux2014: it runs on
Amazon Linux 2, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html) is 320 MB unzipped,
over Lambda's 250 MB for a function and its layers
(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). Its detectors also keep
their state in Python objects that only pickle could carry from one run to the next; this one's is JSON.

After a drift the detector starts again from the next observation, as river's does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["up", "down", "both"]


@dataclass(frozen=True)
class Parameters:
    # Observations before a drift may be declared.
    min_instances: int = 30
    # The change in the mean that is tolerated (in the signal's own unit).
    delta: float = 0.005
    # How far a cumulative sum must move from its extreme to be a drift (lambda).
    threshold: float = 50.0
    # Forgetting factor of the cumulative sums.
    alpha: float = 1 - 0.0001
    # Which changes count: increases, decreases, or both.
    mode: Mode = "both"


@dataclass
class PageHinkley:
    parameters: Parameters = field(default_factory=Parameters)
    n: int = 0
    mean: float = 0.0
    sum_increase: float = 0.0
    sum_decrease: float = 0.0
    min_increase: float = float("inf")
    # river starts the maximum at -1, not at minus infinity; kept, so both flag the same observations.
    max_decrease: float = -1.0
    drift_detected: bool = False

    def update(self, x: float) -> bool:
        """Add an observation; True when it confirms a drift."""
        if self.drift_detected:
            self._reset()
        p = self.parameters
        self.n += 1
        self.mean += (x - self.mean) / self.n
        deviation = x - self.mean
        self.sum_increase = p.alpha * self.sum_increase + deviation - p.delta
        self.sum_decrease = p.alpha * self.sum_decrease + deviation + p.delta
        self.min_increase = min(self.min_increase, self.sum_increase)
        self.max_decrease = max(self.max_decrease, self.sum_decrease)
        if self.n >= p.min_instances:
            increase = self.sum_increase - self.min_increase
            decrease = self.max_decrease - self.sum_decrease
            up, down = increase > p.threshold, decrease > p.threshold
            self.drift_detected = {"up": up, "down": down, "both": up or down}[p.mode]
        return self.drift_detected

    def _reset(self) -> None:
        fresh = PageHinkley(self.parameters)
        self.__dict__.update({name: value for name, value in vars(fresh).items() if name != "parameters"})

    def state(self) -> dict[str, Any]:
        """Everything but the parameters (those come from the configuration), JSON-safe."""
        values = asdict(self)
        values.pop("parameters")
        # JSON and DynamoDB have no infinity: an untouched minimum is stored as null.
        values["min_increase"] = None if self.min_increase == float("inf") else self.min_increase
        return values

    @classmethod
    def restored(cls, parameters: Parameters, state: dict[str, Any] | None) -> PageHinkley:
        if not state:
            return cls(parameters)
        minimum = state["min_increase"]
        return cls(
            parameters,
            n=int(state["n"]),
            mean=float(state["mean"]),
            sum_increase=float(state["sum_increase"]),
            sum_decrease=float(state["sum_decrease"]),
            min_increase=float("inf") if minimum is None else float(minimum),
            max_decrease=float(state["max_decrease"]),
            drift_detected=bool(state["drift_detected"]),
        )
