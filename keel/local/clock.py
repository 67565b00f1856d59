"""Virtual time: Wait states, retry intervals and timeouts take no real time, and each execution keeps its own.

Two kinds of time, both real time plus an offset:

- **World time** (`world_time()`): real time plus the world's offset, which only `advance()` moves
  ("time passes for everyone": a test jumping past a cooldown or a claim's TTL). It is what our
  handlers read as "now" (datetime.now(), time.time(), in their worker processes), what the local
  cloud stamps on things outside any execution (EventBridge deliveries, dead letters, DynamoDB TTL
  expiry), and where a new execution starts.
- **Execution time**: world time plus what that execution has waited (its Wait states, its Retry
  intervals, a task token's timeout, an injected Lambda timeout). It stamps the execution's history
  ($$.Execution.StartTime, $$.State.EnteredTime, every event), so a Wait of one hour makes that
  execution one hour later and no other: an execution running alongside keeps its own durations
  (a 51 ms state stays 51 ms while its neighbour waits). Waits in parallel branches of one execution
  add up (the branches share the execution's time).

Why handlers read world time and not their execution's: limits such as a cooldown or a blast radius
compare timestamps that different executions' handlers wrote. Execution times are not one timeline
(an execution that waited an hour is an hour ahead of one that did not), so a handler in the second
would read a record of the first as written in its future. World time is one timeline shared by all
executions and processes, and it only moves forward, so whatever one handler writes, a later read
by any handler sees as the past. The price: a handler does not see its own execution's waits (after
a one-hour Wait its "now" is still the world's, not one hour later); a test that needs the world to
move on (past a cooldown, a TTL, an approval's expiry) calls `advance()`.

The worker processes read world time through time-machine (the worker moves its clock to the world
time sent with each invocation), not a clock of our own in functions/: every library a handler uses
(Powertools' idempotency expiry, boto3, logging) then reads the same time, and nothing in the
function code knows it runs locally.

Retry intervals do not let an execution overtake the executions running alongside it. A Wait of an
hour is an hour of that execution's own time: nothing else needs to happen meanwhile. A Retry backing
off (a throttle, a concurrency slot another execution holds) waits for the world to change, and on
AWS the others move on meanwhile. If the retry passed at once, an execution waiting up to 5 minutes
for a slot would try its dozen times within a second of real time, while the holder's own execution,
a few Lambda invocations from giving the slot back, is still running: it would give up where on AWS
it gets the slot. So a retry interval ends only when each execution that was running when it began
has ended, is itself waiting on something outside its own clock (a retry, a task token), or has
reached the time the retry ends. That is how a discrete-event simulation orders events, applied to
retries only (Wait states stay free, and executions started after the retry began are not waited
for, so a steady stream of new ones cannot starve it). A neighbour inside a Lambda invocation is
making progress however long the machine takes to run it (the invocation has its own timeout); a
retry stops waiting for the others only when RETRY_HOLD_SECONDS of real time pass in which none of
those it waits for caught up, ended, blocked or ran a Lambda invocation: a stuck execution slows its neighbours down but
cannot hang them, and a slow machine does not make a retry give up early. (A fixed cap did: on a
loaded 2-core machine a holder's restart took longer than the cap, its waiters used up their
retries in virtual time meanwhile and ended concurrency-limited where on AWS they get the slot.)

Which execution a thread works for is set by the threads moto's interpreter starts for an execution
(keel/local/moto_patches.py) and inherited by the threads they start; any other thread reads world time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, tzinfo

_CURRENT = threading.local()
# How long a retry interval waits for the executions running alongside when nothing changes at all
# and none of them is inside a Lambda invocation (seconds of real time).
RETRY_HOLD_SECONDS = 30.0


def current_execution() -> str | None:
    """The execution (ARN) the calling thread works for; None outside any execution."""
    execution: str | None = getattr(_CURRENT, "execution", None)
    return execution


@contextmanager
def acting_for(execution: str | None) -> Iterator[None]:
    """The calling thread works for this execution (None: for none) until the block ends."""
    outer = current_execution()
    _CURRENT.execution = execution
    try:
        yield
    finally:
        _CURRENT.execution = outer


class VirtualClock:
    def __init__(self) -> None:
        self._world = 0.0
        self._waited: dict[str, float] = {}  # execution ARN -> seconds it has waited
        self._lock = threading.Lock()
        # Told of every change that can end a retry's hold: a wait, an execution ending or blocking.
        self._changed = threading.Condition(self._lock)
        self._running: set[str] = set()
        self._blocked: dict[str, int] = {}  # execution ARN -> how many things it waits on outside its clock
        self._invoking: dict[str, int] = {}  # execution ARN -> its Lambda invocations in flight
        self._changes = 0  # how many times any execution moved, ended, blocked or invoked
        # Called with the new world time after advance() (the local cloud expires TTL items).
        self.on_advance: list[Callable[[float], object]] = []

    def _notify(self) -> None:
        """Under self._changed: something moved; wake the retries holding for it."""
        self._changes += 1
        self._changed.notify_all()

    def activity(self) -> tuple[int, bool]:
        """(changes so far, whether a Lambda invocation is in flight): what tells a driver the executions
        are still making progress, however slowly the machine runs them."""
        with self._lock:
            return self._changes, bool(self._invoking)

    @property
    def offset_seconds(self) -> float:
        """How far the world is ahead of real time."""
        return self._world

    def waited(self, execution: str) -> float:
        """How long an execution has waited (virtual seconds it is ahead of world time)."""
        with self._lock:
            return self._waited.get(execution, 0.0)

    def world_time(self) -> float:
        """Seconds since the epoch in world time (like time.time())."""
        return time.time() + self._world

    def time(self) -> float:
        """Seconds since the epoch for the calling thread: its execution's time, else world time."""
        execution = current_execution()
        return self.world_time() + (self.waited(execution) if execution is not None else 0.0)

    def now(self, tz: tzinfo | None = None) -> datetime:
        """Like datetime.now(tz) for the calling thread; without tz, a naive UTC datetime (what moto's
        interpreter expects)."""
        aware = datetime.fromtimestamp(self.time(), tz=UTC)
        return aware.astimezone(tz) if tz is not None else aware.replace(tzinfo=None)

    def advance(self, seconds: float) -> None:
        """Time passes for everyone: world time, and so every execution's time, moves on."""
        if seconds < 0:
            raise ValueError("the virtual clock cannot go backwards")
        with self._lock:
            self._world += seconds
        for observer in list(self.on_advance):
            observer(self.world_time())

    def wait(self, execution: str, seconds: float) -> None:
        """Time passes for one execution only (its Wait, retry interval or timeout)."""
        if seconds < 0:
            raise ValueError("the virtual clock cannot go backwards")
        with self._changed:
            self._waited[execution] = self._waited.get(execution, 0.0) + seconds
            self._notify()

    @contextmanager
    def running(self, execution: str) -> Iterator[None]:
        """The execution runs until the block ends (retries begun meanwhile may wait for it)."""
        with self._changed:
            self._running.add(execution)
        try:
            yield
        finally:
            with self._changed:
                self._running.discard(execution)
                self._notify()

    def blocked(self, execution: str | None) -> AbstractContextManager[None]:
        """The execution waits on something outside its own clock (a task token): nobody waits for it."""
        return self._counting(self._blocked, execution)

    def invoking(self, execution: str | None) -> AbstractContextManager[None]:
        """The execution's task is inside a Lambda invocation until the block ends: it is making progress."""
        return self._counting(self._invoking, execution)

    @contextmanager
    def _counting(self, counts: dict[str, int], execution: str | None) -> Iterator[None]:
        """The execution is counted in `counts` until the block ends (nested blocks count twice); the
        retries holding for it are told when it enters and when it leaves."""
        if execution is None:
            yield
            return
        with self._changed:
            counts[execution] = counts.get(execution, 0) + 1
            self._notify()
        try:
            yield
        finally:
            with self._changed:
                counts[execution] -= 1
                if not counts[execution]:
                    del counts[execution]
                self._notify()

    def retry_sleep(self, seconds: float) -> None:
        """What time.sleep becomes for a Retry's interval: as sleep(), once the executions running
        alongside have caught up with the time the interval ends (see the module's docstring)."""
        execution = current_execution()
        if execution is None:
            raise ValueError("only an execution's thread can wait on the virtual clock (the world moves by advance())")
        with self.blocked(execution), self._changed:
            until = self._waited.get(execution, 0.0) + max(0.0, float(seconds))
            alongside = self._running - {execution}

            def behind() -> set[str]:
                return {
                    other
                    for other in alongside
                    if other in self._running and other not in self._blocked and self._waited.get(other, 0.0) < until
                }

            progressed, last = time.monotonic(), behind()
            while laggards := behind():
                if laggards != last or laggards & self._invoking.keys():
                    progressed, last = time.monotonic(), laggards
                idle = time.monotonic() - progressed
                if idle >= RETRY_HOLD_SECONDS:
                    break  # the executions it waits for have neither moved nor run a handler for that long
                self._changed.wait(timeout=RETRY_HOLD_SECONDS - idle)
        self.wait(execution, max(0.0, float(seconds)))

    def sleep(self, seconds: float) -> None:
        """What time.sleep becomes for the interpreter: the calling thread's execution waits, no real
        time is spent. Outside any execution nothing waits: the world moves only by advance()."""
        execution = current_execution()
        if execution is None:
            raise ValueError("only an execution's thread can wait on the virtual clock (the world moves by advance())")
        self.wait(execution, max(0.0, float(seconds)))
