"""One lock around every API request moto handles, so each request is atomic, as on AWS.

moto's backends are not thread-safe: a request reads and writes shared dictionaries (a table's items,
a queue's messages) without locks. Requests come from many threads at once: moto's interpreter (one
or more threads per execution), the local cloud driving executions, and the HTTP endpoint our worker
processes call (a thread per request). Holding one lock while moto handles a request makes every
request atomic, which is also what makes a DynamoDB conditional write a real check-and-set; races
between separate requests (a read, then a write) happen as they would on AWS.

The lock is reentrant for the thread that holds it: a request can make another one in-process (a
PutEvents whose rule starts an execution, an SNS publish to a queue). The thread answering a Lambda
Invoke releases it while the function runs in its worker, whose own requests need it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RequestLock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._owner == me:  # only this thread sets the owner to its own id: no race in reading it
            self._depth += 1
        else:
            self._lock.acquire()
            self._owner, self._depth = me, 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let other threads in while the block runs, however deeply this thread holds the lock; hold it
        again, as deeply, after. A thread that does not hold it just runs the block."""
        me = threading.get_ident()
        if self._owner != me:
            yield
            return
        depth, self._depth, self._owner = self._depth, 0, None
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._owner, self._depth = me, depth

    @property
    def held_by_me(self) -> bool:
        return self._owner == threading.get_ident()
