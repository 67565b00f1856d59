"""State machine aliases as the local cloud routes them: weighted, shifting, rolled back by alarms.

moto keeps aliases and versions but routes nothing (StartExecution on an alias ARN fails there) and
has no deployment preferences. Here an alias is a routing table of versions and weights; each
execution started through it draws its version from a seeded random generator, so a test's share of
events per version is the same on every run. An alias created or updated with a DeploymentPreference
shifts as CloudFormation shifts it
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-stepfunctions-statemachinealias-deploymentpreference.html):
ALL_AT_ONCE at once; CANARY `Percentage` to the new version, then all of it after `Interval` minutes;
LINEAR `Percentage` more every `Interval` minutes. Time is the local cloud's virtual time: the shift
moves on when the world does (keel/local/clock.py). While it shifts, any of its `Alarms` in ALARM
sends it back to the version it came from, all of it, as CloudFormation's rollback does.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["stable", "shifting", "rolled_back", "completed"]


@dataclass
class Shift:
    """A DeploymentPreference under way: from `source` to `target`."""

    source: str
    target: str
    strategy: str
    percent: int
    interval_seconds: float
    alarms: list[str]
    started_at: float

    def weight_at(self, now: float) -> int:
        """The target's share at `now` (0-100)."""
        if self.strategy == "ALL_AT_ONCE":
            return 100
        steps = int((now - self.started_at) // self.interval_seconds)
        if self.strategy == "CANARY":
            return self.percent if steps < 1 else 100
        return min(100, self.percent * (steps + 1))


@dataclass
class Alias:
    arn: str
    routing: dict[str, int]  # version ARN -> weight
    shift: Shift | None = None
    status: Status = "stable"
    history: list[str] = field(default_factory=list)


class Releases:
    """Every alias of the local cloud. `alarm_state(name)` reads an alarm's state; `publish(alias)`
    tells moto the alias's routing, so DescribeStateMachineAlias shows it."""

    def __init__(self, seed: int, alarm_state: Callable[[str], str], publish: Callable[[Alias], None]) -> None:
        self._random = random.Random(seed)  # noqa: S311 - a reproducible draw of shares, not a secret
        self._aliases: dict[str, Alias] = {}
        self._lock = threading.Lock()
        self._alarm_state = alarm_state
        self._publish = publish

    def get(self, arn: str) -> Alias | None:
        with self._lock:
            return self._aliases.get(arn)

    def route(self, arn: str, now: float) -> str:
        """The version an execution started through the alias runs on."""
        self.evaluate(now)
        with self._lock:
            alias = self._aliases[arn]
            versions = sorted(alias.routing)
            weights = [alias.routing[version] for version in versions]
            return self._random.choices(versions, weights)[0]

    def deploy(self, arn: str, preference: dict[str, Any] | None, routing: list[dict[str, Any]] | None, now: float) -> Alias:
        """The alias as a template declares it: created, or updated (which may start a shift)."""
        with self._lock:
            alias = self._aliases.get(arn)
            if preference is None:
                weights = {str(entry["StateMachineVersionArn"]): int(entry["Weight"]) for entry in routing or []}
                alias = Alias(arn, weights) if alias is None else alias
                alias.routing, alias.shift, alias.status = weights, None, "stable"
            elif alias is None or set(alias.routing) == {preference["StateMachineVersionArn"]}:
                # A new alias points at its version at once (there is nothing to shift from).
                alias = alias or Alias(arn, {})
                alias.routing, alias.shift, alias.status = {str(preference["StateMachineVersionArn"]): 100}, None, "stable"
            else:
                alias.shift = Shift(
                    source=max(alias.routing, key=lambda version: alias.routing[version]),
                    target=str(preference["StateMachineVersionArn"]),
                    strategy=str(preference["Type"]),
                    percent=int(preference.get("Percentage", 100)),
                    interval_seconds=60.0 * int(preference.get("Interval", 1)),
                    alarms=[str(name) for name in preference.get("Alarms", [])],
                    started_at=now,
                )
                alias.status = "shifting"
                alias.history.append(f"shifting {alias.shift.source} -> {alias.shift.target} ({alias.shift.strategy})")
            self._aliases[arn] = alias
        self._publish(alias)
        self.evaluate(now)
        return alias

    def set_routing(self, arn: str, routing: dict[str, int]) -> None:
        """UpdateStateMachineAlias from outside (an operator's rollback or promote): the routing it sets,
        any shift under way ended. The local cloud's own updates (the same routing) change nothing."""
        with self._lock:
            alias = self._aliases.get(arn)
            if alias is None or alias.routing == routing:
                return
            alias.routing, alias.shift, alias.status = dict(routing), None, "stable"
            alias.history.append(f"routed by UpdateStateMachineAlias: {routing}")

    def evaluate(self, now: float) -> None:
        """Move every shifting alias on to `now`: back to its source if one of its alarms fires."""
        with self._lock:
            shifting = [alias for alias in self._aliases.values() if alias.shift is not None]
        for alias in shifting:
            self._move(alias, now)

    def _move(self, alias: Alias, now: float) -> None:
        shift = alias.shift
        assert shift is not None
        firing = [name for name in shift.alarms if self._alarm_state(name) == "ALARM"]
        with self._lock:
            if firing:
                alias.routing, alias.shift, alias.status = {shift.source: 100}, None, "rolled_back"
                alias.history.append(f"rolled back to {shift.source}: {', '.join(sorted(firing))} in ALARM")
            else:
                weight = shift.weight_at(now)
                alias.routing = {shift.target: 100} if weight >= 100 else {shift.source: 100 - weight, shift.target: weight}
                if weight >= 100:
                    alias.shift, alias.status = None, "completed"
                    alias.history.append(f"completed: {shift.target}")
        self._publish(alias)
