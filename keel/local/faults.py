"""Fault injection: make functions fail, time out or be throttled N times, and event starts fail.

Faults are consumed in order: `--fail emit_heartbeat:TransientError:2` makes the next two invocations
of emit_heartbeat fail with TransientError, then the real handler runs. A function is named by its
module (emit_heartbeat: every automation's instance of it) or its deployed name
(keel-dev-platform_heartbeat-emit_heartbeat: one automation's).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Literal

from keel.local.errors import LocalCloudError
from keel.local.fake_apis import ApiFault

Kind = Literal["error", "timeout", "throttle"]
DEFAULT_ERROR = "TransientError"
ERROR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")


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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take(self, function_name: str, module: str) -> Injected | None:
        """The fault for this invocation, if one is left for the function."""
        with self._lock:
            for fault in self.functions:
                if fault.function in (function_name, module) and fault.used < fault.times:
                    fault.used += 1
                    return Injected(fault.kind, fault.error, f"attempt {fault.used} of {fault.times} injected")
        return None

    def take_failed_start(self) -> bool:
        with self._lock:
            if self.failed_starts_used < self.failed_starts:
                self.failed_starts_used += 1
                return True
        return False

    def describe(self) -> list[str]:
        lines = [fault.describe() for fault in self.functions]
        lines += [fault.describe() for fault in self.apis]
        if self.failed_starts:
            lines.append(f"StartExecution from EventBridge fails (throttled) {self.failed_starts} time(s)")
        return lines

    def unused(self) -> list[str]:
        """Faults that never fired: usually a misspelt function name."""
        return [fault.describe() for fault in self.functions if fault.used == 0] + [
            fault.describe() for fault in self.apis if fault.used == 0
        ]


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
