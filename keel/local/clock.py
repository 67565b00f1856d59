"""A virtual clock: Wait states, retry intervals and timeouts advance it instead of sleeping.

Virtual time is real time plus an offset. A 1-hour Wait adds 3600 s to the offset and returns at
once, so every timestamp the local cloud shows (execution start/stop, history events,
$$.Execution.StartTime, $$.State.EnteredTime) is virtual time. The offset is shared by every execution
of one local cloud: when one execution waits an hour, the world moves on an hour for all of them, as
it would for concurrent executions on AWS.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, tzinfo


class VirtualClock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def time(self) -> float:
        """Seconds since the epoch, virtual (like time.time())."""
        return time.time() + self._offset

    def now(self, tz: tzinfo | None = None) -> datetime:
        """Like datetime.now(tz); without tz, a naive UTC datetime (what moto's interpreter expects)."""
        aware = datetime.fromtimestamp(self.time(), tz=UTC)
        return aware.astimezone(tz) if tz is not None else aware.replace(tzinfo=None)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the virtual clock cannot go backwards")
        with self._lock:
            self._offset += seconds

    def sleep(self, seconds: float) -> None:
        """What time.sleep becomes for the interpreter: time passes, no real time is spent."""
        self.advance(max(0.0, float(seconds)))
