"""`keel local run`: deploy one environment, deliver event files, drive executions, report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from keel.local.cloud import APIS_DIR, Answered, Decision, Delivery, LocalCloud
from keel.local.eventbridge import EventFile, bus_for
from keel.local.faults import FaultPlan
from keel.local.moto_rotation import Rotation
from keel.local.report import RunReport, run_report
from keel.local.template import EnvironmentTemplate
from keel.local.world import WorldFile, apply_worlds, template_variables, worlds_for
from keel.ops.explain import explain
from keel.ops.session import OpsSession


@dataclass(frozen=True)
class EventOutcome:
    source: EventFile
    bus: str
    deliveries: list[Delivery]
    copies: int


@dataclass(frozen=True)
class LocalRun:
    template: EnvironmentTemplate
    deployed: str
    skipped: list[str]
    faults: list[str]
    unused_faults: list[str]
    events: list[EventOutcome]
    report: RunReport
    # What events/<automation>/world.yaml created before the events were delivered.
    world: str = "nothing"
    # `keel ops explain` of each execution that recorded decisions (RunOptions.explain).
    explanations: dict[str, str] = field(default_factory=dict)
    # The task tokens the run answered (--approve/--reject) or let expire.
    answered: list[Answered] = field(default_factory=list)
    # What the fake external APIs were asked, in order (keel/local/fake_apis.py Recorded.as_json).
    api_requests: list[dict[str, object]] = field(default_factory=list)
    # The secrets rotated before the events (RunOptions.rotate), done or failed.
    rotations: list[Rotation] = field(default_factory=list)

    @classmethod
    def of(cls, cloud: LocalCloud, events: list[EventOutcome]) -> LocalRun:
        """What a cloud ran for events delivered without faults (a scripted demo scenario)."""
        return cls(
            template=cloud.template,
            deployed=cloud.deployed.summary(),
            skipped=sorted(cloud.deployed.skipped),
            faults=[],
            unused_faults=[],
            events=events,
            report=run_report(cloud),
            answered=list(cloud.answered),
        )

    @property
    def succeeded(self) -> bool:
        return self.report.all_succeeded and all(rotation.done for rotation in self.rotations)

    @property
    def unmatched(self) -> list[EventOutcome]:
        return [outcome for outcome in self.events if not outcome.deliveries]


@dataclass(frozen=True)
class History:
    """Before the events are delivered as the run shows them, fresh copies of them (new ids) are delivered
    `rounds` times, `every_minutes` of world time apart, with no fault firing: the automation's past, the
    baseline its anomaly detection alarms learn (keel/local/alarm_anomaly.py)."""

    rounds: int = 0
    every_minutes: int = 60


@dataclass(frozen=True)
class RunOptions:
    faults: FaultPlan
    decision: Decision = None
    duplicate: bool = False
    bus: str | None = None
    # World files to apply first; None: the world.yaml beside each event file.
    worlds: list[WorldFile] | None = None
    explain: bool = False
    # The fake external APIs' declarations (apis/<api>.yaml); None: the repository's.
    apis_dir: Path | None = None
    # Secrets of the environment's catalog rotated (RotateSecret, through their rotation function) before the events.
    rotate: tuple[str, ...] = ()
    history: History = field(default_factory=History)


def run_events(template: EnvironmentTemplate, files: list[EventFile], options: RunOptions) -> LocalRun:
    worlds = worlds_for([source.path for source in files]) if options.worlds is None else options.worlds
    with LocalCloud(template, faults=options.faults, apis_dir=options.apis_dir or APIS_DIR) as cloud:
        world = apply_worlds(worlds, cloud.client, template_variables(template.account, template.region))
        rotations = [cloud.rotate_secret(secret) for secret in options.rotate]
        replay_history(cloud, files, options)
        outcomes = []
        copies = 2 if options.duplicate else 1
        for source in files:
            bus = options.bus or bus_for(source.event, cloud.custom_bus())
            deliveries: list[Delivery] = []
            for _ in range(copies):
                deliveries += cloud.deliver(source.event, bus)
            outcomes.append(EventOutcome(source, bus, deliveries, copies))
        cloud.drive(options.decision)
        return LocalRun(
            template=template,
            deployed=cloud.deployed.summary(),
            skipped=sorted(cloud.deployed.skipped),
            faults=options.faults.describe(),
            unused_faults=options.faults.unused(),
            events=outcomes,
            report=run_report(cloud),
            world=world.describe(),
            explanations=explanations(cloud) if options.explain else {},
            answered=list(cloud.answered),
            api_requests=[request.as_json() for request in cloud.apis.log()] if cloud.apis else [],
            rotations=rotations,
        )


def replay_history(cloud: LocalCloud, files: list[EventFile], options: RunOptions) -> None:
    """options.history's rounds: each event again with a new id (a copy is a new event, not a duplicate
    delivery), driven to an end, then the world moves on by one period."""
    for _ in range(options.history.rounds):
        with options.faults.suspended():
            for source in files:
                copy = {**source.event, "id": str(uuid.uuid4())}
                cloud.deliver(copy, options.bus or bus_for(copy, cloud.custom_bus()))
            cloud.drive(options.decision)
        cloud.clock.advance(options.history.every_minutes * 60)


def explanations(cloud: LocalCloud) -> dict[str, str]:
    """What `keel ops explain EXECUTION` tells about each execution, read from this cloud's decisions."""
    session = OpsSession(environment=cloud.template.environment, region=cloud.template.region)
    told = {}
    for arn in cloud.execution_arns():
        records = session.decisions.for_execution(arn)
        if records:
            told[arn] = explain(records)
    return told


def event_files(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for the *.json files in it, sorted."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return found
