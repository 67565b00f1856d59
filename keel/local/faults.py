"""Fault injection: make functions fail, time out, be throttled or run slower, and event starts fail.

Faults are consumed in order: `--fail emit_heartbeat:TransientError:2` makes the next two invocations
of emit_heartbeat fail with TransientError, then the real handler runs. A function is named by its
module (emit_heartbeat: every automation's instance of it) or its deployed name
(keel-dev-platform_heartbeat-emit_heartbeat: one automation's).

A slowdown (`--slow verify_remediation:120`) lets the real handler run, but the invocation takes that
many seconds longer on its execution's virtual clock, as a dependency that answers slowly would make
it: the execution's duration (Step Functions' ExecutionTime) and the invocation's Lambda Duration
grow by as much, and a slowdown reaching the function's timeout times the invocation out.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from keel.local.errors import LocalCloudError
from keel.local.fake_apis import ApiFault

Kind = Literal["error", "timeout", "throttle"]
DEFAULT_ERROR = "TransientError"
ERROR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
# Lambda's longest timeout: a slowdown beyond it cannot be told from a timeout.
MAX_SLOWDOWN_SECONDS = 900


@dataclass
class FunctionFault:
    function: str
    kind: Kind
    times: int
    error: str = DEFAULT_ERROR
    used: int = 0

    def describe(self) -> str:
        what = {"error": f"fails with {self.error}", "timeout": "times out", "throttle": "is throttled"}[self.kind]
        return f"{self.function} {what} {self.times} time(s)"


@dataclass
class Slowdown:
    """The function's next `times` invocations (None: every one) take `seconds` longer."""

    function: str
    seconds: float
    times: int | None = None
    used: int = 0

    def describe(self) -> str:
        often = "every invocation" if self.times is None else f"{self.times} invocation(s)"
        return f"{self.function} runs {self.seconds:g} s slower, {often}"


@dataclass(frozen=True)
class Injected:
    kind: Kind
    error: str
    note: str


@dataclass
class FaultPlan:
    functions: list[FunctionFault] = field(default_factory=list)
    # Scripted answers of the fake external APIs (keel/local/fake_apis.py), consumed by their requests.
    apis: list[ApiFault] = field(default_factory=list)
    # StartExecution calls from EventBridge targets that fail (throttled) before one succeeds.
    failed_starts: int = 0
    failed_starts_used: int = 0
    slowdowns: list[Slowdown] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _suspended: bool = field(default=False, repr=False, compare=False)

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """No fault fires inside the block (a run's history, before the faults it shows)."""
        with self._lock:
            self._suspended, apis = True, list(self.apis)
            # The fake APIs hold this very list: emptied, they find no scripted answer.
            self.apis.clear()
        try:
            yield
        finally:
            with self._lock:
                self._suspended = False
                self.apis[:0] = apis

    def take_slowdown(self, function_name: str, module: str) -> float:
        """How many seconds longer this invocation takes (0: none)."""
        with self._lock:
            if self._suspended:
                return 0.0
            for slowdown in self.slowdowns:
                if slowdown.function in (function_name, module) and (slowdown.times is None or slowdown.used < slowdown.times):
                    slowdown.used += 1
                    return slowdown.seconds
        return 0.0

    def take(self, function_name: str, module: str) -> Injected | None:
        """The fault for this invocation, if one is left for the function."""
        with self._lock:
            if self._suspended:
                return None
            for fault in self.functions:
                if fault.function in (function_name, module) and fault.used < fault.times:
                    fault.used += 1
                    return Injected(fault.kind, fault.error, f"attempt {fault.used} of {fault.times} injected")
        return None

    def take_failed_start(self) -> bool:
        with self._lock:
            if not self._suspended and self.failed_starts_used < self.failed_starts:
                self.failed_starts_used += 1
                return True
        return False

    def describe(self) -> list[str]:
        lines = [fault.describe() for fault in self.functions]
        lines += [slowdown.describe() for slowdown in self.slowdowns]
        lines += [fault.describe() for fault in self.apis]
        if self.failed_starts:
            lines.append(f"StartExecution from EventBridge fails (throttled) {self.failed_starts} time(s)")
        return lines

    def unused(self) -> list[str]:
        """Faults that never fired: usually a misspelt function name."""
        return (
            [fault.describe() for fault in self.functions if fault.used == 0]
            + [slowdown.describe() for slowdown in self.slowdowns if slowdown.used == 0]
            + [fault.describe() for fault in self.apis if fault.used == 0]
        )


def parse_fault(spec: str, kind: Kind) -> FunctionFault:
    """FUNCTION[:ERROR][:N] for errors, FUNCTION[:N] for timeouts and throttles."""
    parts = spec.split(":")
    function = parts[0]
    if not function:
        raise LocalCloudError(f"fault '{spec}': name the function (module or deployed name)")
    error = DEFAULT_ERROR
    rest = parts[1:]
    if kind == "error" and rest and not rest[0].isdigit():
        error, rest = rest[0], rest[1:]
    if not ERROR_NAME.fullmatch(error) or len(rest) > 1 or (rest and not rest[0].isdigit()) or (rest and int(rest[0]) < 1):
        expected = "FUNCTION[:ERROR][:N]" if kind == "error" else "FUNCTION[:N]"
        raise LocalCloudError(f"fault '{spec}': expected {expected} with N a positive number")
    times = int(rest[0]) if rest else 1
    return FunctionFault(function=function, kind=kind, times=times, error=error)


def parse_slowdown(spec: str) -> Slowdown:
    """FUNCTION:SECONDS[:N]: the function's next N invocations (default: every one) take SECONDS longer."""
    parts = spec.split(":")
    expected = f"slowdown '{spec}': expected FUNCTION:SECONDS[:N] with SECONDS a positive number of seconds, N a positive number"
    if len(parts) not in (2, 3) or not parts[0]:
        raise LocalCloudError(expected)
    try:
        seconds = float(parts[1])
    except ValueError:
        raise LocalCloudError(expected) from None
    times = parts[2] if len(parts) == 3 else None
    if not 0 < seconds <= MAX_SLOWDOWN_SECONDS or (times is not None and (not times.isdigit() or int(times) < 1)):
        raise LocalCloudError(expected + f" (at most {MAX_SLOWDOWN_SECONDS} s)")
    return Slowdown(function=parts[0], seconds=seconds, times=None if times is None else int(times))
