"""Waiting for something another process or thread does, bounded: a test never sleeps a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.02


def eventually(condition: Callable[[], bool], what: str, seconds: float = DEADLINE_SECONDS) -> None:
    """Return once `condition()` holds; fail naming `what` if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        time.sleep(POLL_SECONDS)
