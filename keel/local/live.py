"""`keel local up`: the served local cloud's clock runs on its own, and its schedules fire on it.

In `keel local run` nothing happens unless an event file says so and time moves only when something
waits (keel/local/clock.py). A served cloud lives on: its world time follows real time, `speed` times
as fast (`keel local up --speed 60`: a virtual minute a second; every waiting and timed thing,
handlers' "now" included, sees the same world time), and on each tick (every real second, or every
virtual minute when that comes sooner):

- every enabled schedule rule whose time has come fires its Scheduled Event through its targets, as
  EventBridge does (keel/local/schedules.py): the heartbeat's rate(5 minutes) runs every five
  virtual minutes, the first five minutes after the cloud came up;
- items whose DynamoDB TTL has passed are deleted;
- every alarm is evaluated at the new world time (keel/local/observatory.py), so an alarm on missing
  data (the heartbeat's dead man's switch) goes to ALARM when nothing comes.

A rule that was due many times within one tick (the world jumped ahead) fires its latest
MAX_CATCH_UP occurrences, and says how many it skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from keel.local import moto_patches
from keel.local.cloud import LocalCloud
from keel.local.errors import LocalCloudError
from keel.local.schedules import ScheduledRule, ScheduleError, parse_schedule, scheduled_event

# Real seconds between two ticks: one a second, or one a virtual minute when the clock runs faster
# (CloudWatch evaluates alarms every minute).
TICK_SECONDS = 1.0
VIRTUAL_SECONDS_PER_TICK = 60.0
TTL_SWEEP_SECONDS = 5.0
MAX_CATCH_UP = 10


def schedule_rules(cloud: LocalCloud, created: float) -> list[ScheduledRule]:
    """The cloud's enabled schedule rules, each due one interval (or its next cron time) after `created`."""
    template = cloud.template
    found = []
    for bus in ["default", *cloud.deployed.buses]:
        for rule in moto_patches.rules_on_bus(template.account, template.region, bus):
            facts = moto_patches.rule_facts(rule)
            if not facts["schedule"] or not facts["enabled"]:
                continue
            try:
                schedule = parse_schedule(facts["schedule"], created)
            except ScheduleError as error:
                raise LocalCloudError(f"schedule rule {facts['name']}: {error}") from None
            found.append(ScheduledRule(facts["name"], facts["arn"], bus, schedule, schedule.next_after(created)))
    return found


class LiveClock:
    """A thread that moves the cloud's world on, fires its schedules and evaluates its alarms."""

    def __init__(self, cloud: LocalCloud, speed: float = 1.0, say: Callable[[str], None] = print) -> None:
        if speed < 1:
            raise LocalCloudError(f"--speed must be 1 or more (times real time), not {speed:g}")
        self.cloud = cloud
        self.speed = speed
        self._say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keel-local-clock", daemon=True)
        self.rules = schedule_rules(cloud, cloud.clock.world_time())
        self.fired: list[tuple[str, float]] = []  # (rule name, when it was due)

    @classmethod
    def of_automation(cls, cloud: LocalCloud, automation: str, say: Callable[[str], None] = print) -> LiveClock:
        """A clock firing `automation`'s schedules alone: a scripted scenario runs one schedule, not every
        heartbeat of the environment."""
        clock = cls(cloud, say=say)
        clock.rules = [rule for rule in clock.rules if automation in rule.name]
        if not clock.rules:
            raise LocalCloudError(f"{automation} has no enabled schedule in environment {cloud.template.environment}")
        return clock

    def fire_after(self, seconds: float) -> list[str]:
        """Moves the world on by `seconds`, fires what is then due and runs what that started (to the end,
        or to a wait): the ARNs of the executions started meanwhile."""
        before = set(self.cloud.execution_arns())
        self.cloud.clock.advance(seconds)
        self.tick()
        self.cloud.drive()
        return [arn for arn in self.cloud.execution_arns() if arn not in before]

    def __enter__(self) -> LiveClock:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last = swept = time.monotonic()
        interval = min(TICK_SECONDS, VIRTUAL_SECONDS_PER_TICK / self.speed)
        while not self._stop.wait(interval):
            now = time.monotonic()
            if self.speed > 1:
                self.cloud.clock.advance((self.speed - 1) * (now - last))  # alarms are evaluated as it moves
            last = now
            self.tick()
            if now - swept >= TTL_SWEEP_SECONDS:
                moto_patches.expire_dynamodb_items(self.cloud.clock.world_time())
                swept = now

    def tick(self) -> None:
        """Fire what is due at the world's time, then evaluate every alarm."""
        world = self.cloud.clock.world_time()
        for rule in self.rules:
            due = rule.take_due(world)
            if len(due) > MAX_CATCH_UP:
                self._say(f"keel local: {rule.name} was due {len(due)} times at once; firing the last {MAX_CATCH_UP}")
                due = due[-MAX_CATCH_UP:]
            for moment in due:
                event = scheduled_event(rule.arn, self.cloud.template.account, self.cloud.template.region, moment)
                self.cloud.deliver(event, rule.bus)
                self.fired.append((rule.name, moment))
        self.cloud.observatory.evaluate_all(world)
