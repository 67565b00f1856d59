"""What a soak delivers: the automations' sample events with faults mixed in, batch by batch.

Each batch of 20 deliveries holds mostly fresh copies of the samples (each with its own id), and,
in turn: an event delivered a second time with the same id (EventBridge delivers at least once), a
malformed event that still matches its rule, a burst of copies of one alarm (debounced per alarm),
an event whose StartExecution is throttled until EventBridge gives up and dead-letters it, and
function faults (transient errors, throttles, timeouts; now and then more failures than the
workflow's retries absorb). Seeded: the same count and seed deliver the same events and faults.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from keel.local.faults import FunctionFault

BATCH = 20
Kind = Literal["fresh", "duplicate", "malformed", "burst", "start_failure"]
# EventBridge retries StartExecution `retry_attempts` times (automations/alarm_remediation.yaml: 8);
# one more throttled start than that dead-letters the event.
ALARM_START_ATTEMPTS = 9
BURST = 4
# Modules every remediation runs, and ticket_triage's: where function faults land.
FAULTED = ("match_runbook", "check_guardrails", "record_decision", "triage_ticket", "route_ticket")
# More failures in a row than a workflow's Retry absorbs (its failure path runs: failed with reason).
EXHAUSTING = 12


@dataclass(frozen=True)
class Delivery:
    kind: Kind
    event: dict[str, Any]


@dataclass
class Batch:
    deliveries: list[Delivery] = field(default_factory=list)
    faults: list[FunctionFault] = field(default_factory=list)
    failed_starts: int = 0


def malformed(samples: dict[str, dict[str, Any]], number: int) -> dict[str, Any]:
    """Shapes external events take that their rule still matches: a string where an object belongs,
    a list where a number belongs, a ticket without its fields."""
    shapes = ("alarm configuration", "finding severity", "ticket")
    shape = shapes[number % len(shapes)]
    if shape == "alarm configuration":
        event = copy.deepcopy(samples["api-5xx-restart"])
        event["detail"]["configuration"] = "not an object"
    elif shape == "finding severity":
        event = copy.deepcopy(samples["backdoor-isolate"])
        event["detail"]["severity"] = [8]
    else:
        event = copy.deepcopy(samples["05-malformed"])
    return event


class SoakPlan:
    """`count` deliveries in batches; `samples` by file stem."""

    def __init__(self, samples: dict[str, dict[str, Any]], count: int, seed: int) -> None:
        self.samples = samples
        self.fresh = [name for name in sorted(samples) if name != "05-malformed"]
        self.count = count
        self.random = random.Random(seed)  # noqa: S311 - reproducible events, not security
        self.delivered: list[dict[str, Any]] = []

    def batches(self) -> list[Batch]:
        batches: list[Batch] = []
        left = self.count
        while left > 0:
            batch = self._batch(len(batches), min(BATCH, left))
            batches.append(batch)
            left -= len(batch.deliveries)
        return batches

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def _event(self, kind: Kind, event: dict[str, Any]) -> Delivery:
        if kind != "duplicate":
            event = {**event, "id": self._new_id()}
        self.delivered.append(event)
        return Delivery(kind, event)

    def _batch(self, number: int, size: int) -> Batch:
        batch = Batch(faults=self._faults(number))
        specials: list[Delivery] = []
        if self.delivered:
            specials.append(self._event("duplicate", self.random.choice(self.delivered)))
        specials.append(self._event("malformed", malformed(self.samples, number)))
        if number % 5 == 4:
            alarm = self.samples["api-5xx-restart"]
            specials += [self._event("burst", alarm) for _ in range(BURST)]
        if number % 10 == 4:
            # Delivered first in its batch, so the throttled starts are this event's own.
            batch.failed_starts = ALARM_START_ATTEMPTS
            specials.insert(0, self._event("start_failure", self.samples["payments-cpu-scale-out"]))
        specials = specials[:size]
        fresh = [
            self._event("fresh", self.samples[self.fresh[(number * BATCH + index) % len(self.fresh)]])
            for index in range(size - len(specials))
        ]
        batch.deliveries = specials[:1] + fresh + specials[1:] if batch.failed_starts else fresh + specials
        return batch

    def _faults(self, number: int) -> list[FunctionFault]:
        faults = [
            FunctionFault(self.random.choice(FAULTED), "error", 1),
            FunctionFault(self.random.choice(FAULTED), "throttle", 1),
            FunctionFault(self.random.choice(FAULTED), "timeout", 1),
        ]
        if number % 10 == 9:
            faults.append(FunctionFault(self.random.choice(FAULTED), "error", EXHAUSTING))
        return faults
