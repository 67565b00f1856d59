"""Each external API's rate limit and circuit breaker, shared by every execution and Lambda instance.

Both are items of the limits table (keel-<env>-limits, functions/shared/domain/limits.py), decided by
conditional writes, never by reading what others did and writing afterwards:

  api#<api>#rate / s#<epoch second>   calls granted in that second of world time: one UpdateItem adds
                                      one only while fewer than the limit were granted
  api#<api>#breaker / state           consecutive failures, `opened_until` (epoch ms) while open, and
                                      `probe_until` while the one half-open probe is in flight

A call is granted only in the first half of a second (GRANT_WINDOW): a request granted late in a second
and delayed on its way (a busy host, the network) would otherwise arrive in the next second and count
against that one at the API. The limit per second is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from functions.shared.adapters.dynamodb import Expression, Table

# The part of each second in which calls are granted (see the docstring).
GRANT_WINDOW = 0.5
# Rate items outlive their second by this long, then DynamoDB's TTL removes them.
RATE_ITEM_SECONDS = 3600
# A half-open probe holds its turn this long at most (a probe that never reports back frees it).
PROBE_LEASE_MS = 60_000
# How soon a call refused while the probe is in flight asks again.
PROBE_POLL_MS = 1000


@dataclass(frozen=True)
class RateLimiter:
    table: Table
    api: str
    per_second: int

    def take(self, now: float) -> float | None:
        """Grant one call at `now` (epoch seconds, world time): None when granted, else the seconds to
        wait before asking again."""
        second = int(now)
        if now - second >= GRANT_WINDOW:
            return second + 1 - now
        written, _ = self.table.update_if(
            {"pk": f"api#{self.api}#rate", "sk": f"s#{second}"},
            Expression(
                "ADD #calls :one SET #expires = :expires",
                {"#calls": "calls", "#expires": "expires"},
                {":one": 1, ":expires": second + RATE_ITEM_SECONDS},
            ),
            Expression("attribute_not_exists(#calls) OR #calls < :limit", {"#calls": "calls"}, {":limit": self.per_second}),
        )
        return None if written is not None else second + 1 - now


@dataclass(frozen=True)
class Admission:
    """May the call go? `probe`: it is the one half-open call; `until_ms`: refused until then."""

    kind: Literal["closed", "probe", "refused"]
    failures: int = 0
    until_ms: int = 0


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int
    cooloff_seconds: int


@dataclass(frozen=True)
class CircuitBreaker:
    table: Table
    api: str
    policy: BreakerPolicy

    @property
    def key(self) -> dict[str, str]:
        return {"pk": f"api#{self.api}#breaker", "sk": "state"}

    def admit(self, now_ms: int) -> Admission:
        item = self.table.get(self.key) or {}
        failures = int(item.get("failures", 0))
        opened = item.get("opened_until")
        if opened is None:
            return Admission("closed", failures)
        if int(opened) > now_ms:
            return Admission("refused", failures, int(opened))
        # Cooled off: one caller wins the probe; the others wait for its answer.
        _, refused = self.table.update_if(
            self.key,
            Expression("SET #probe = :probe", {"#probe": "probe_until"}, {":probe": now_ms + PROBE_LEASE_MS}),
            Expression(
                "#opened = :opened AND (attribute_not_exists(#probe) OR #probe <= :now)",
                {"#opened": "opened_until", "#probe": "probe_until"},
                {":opened": int(opened), ":now": now_ms},
            ),
        )
        if refused is None:
            return Admission("probe", failures)
        if refused.get("opened_until") not in (None, int(opened)):
            return Admission("refused", failures, int(refused["opened_until"]))  # the probe failed: open again
        # Closed by the probe meanwhile, or the probe still in flight: ask again in a second.
        return Admission("refused", failures, now_ms + PROBE_POLL_MS)

    def succeeded(self, admission: Admission) -> None:
        """Closed again (a probe that worked), or the consecutive failures start over. A call let through
        before the breaker opened and answered after leaves it open: only the probe closes it."""
        if admission.kind == "probe":
            self.table.update_if(self.key, Expression("SET #failures = :zero REMOVE #opened, #probe", {**_NAMES}, {":zero": 0}))
        elif admission.failures:
            self.table.update_if(
                self.key,
                Expression("SET #failures = :zero", {"#failures": "failures"}, {":zero": 0}),
                Expression("attribute_not_exists(#opened)", {"#opened": "opened_until"}),
            )

    def failed(self, admission: Admission, now_ms: int) -> int | None:
        """Count a failure; the time it opened until (epoch ms) when this failure opened it, else None."""
        until = now_ms + self.policy.cooloff_seconds * 1000
        if admission.kind == "probe":
            # The probe failed: open again for a whole cool-off.
            written, _ = self.table.update_if(
                self.key,
                Expression("SET #opened = :until ADD #failures :one REMOVE #probe", {**_NAMES}, {":until": until, ":one": 1}),
            )
            return until if written is not None else None
        # The failure that makes N in a row opens it, in the same write that counts it: exactly one caller
        # opens it (and pages), and it is open from the moment that write lands.
        if self.policy.failures == 1:
            enough = Expression("attribute_not_exists(#opened)", {"#opened": "opened_until"})
        else:
            enough = Expression(
                "attribute_not_exists(#opened) AND #failures >= :almost",
                {"#opened": "opened_until", "#failures": "failures"},
                {":almost": self.policy.failures - 1},
            )
        opened, _ = self.table.update_if(
            self.key,
            Expression(
                "SET #opened = :until ADD #failures :one",
                {"#opened": "opened_until", "#failures": "failures"},
                {":until": until, ":one": 1},
            ),
            enough,
        )
        if opened is not None:
            return until
        self.table.update_if(self.key, Expression("ADD #failures :one", {"#failures": "failures"}, {":one": 1}))
        return None


_NAMES = {"#failures": "failures", "#opened": "opened_until", "#probe": "probe_until"}
