"""Reading the credentials an automation declares, by name, from Secrets Manager.

The platform gives each function the ARNs it may read in KEEL_SECRETS (a JSON object name -> ARN);
its role can read those and nothing else. Values are cached for a few minutes so rotation takes
effect without a cold start, and they never pass through the logger: `Secret` hides its value in
repr() and str().
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import ConfigurationError
from functions.shared.runtime.settings import json_map

CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class Secret:
    name: str
    value: str = field(repr=False)

    def __str__(self) -> str:
        return f"Secret({self.name}, value hidden)"

    def json(self) -> dict[str, Any]:
        """The value parsed as a JSON object (credentials stored as {"user": ..., "token": ...})."""
        try:
            parsed = json.loads(self.value)
        except json.JSONDecodeError:
            raise ConfigurationError(f"secret '{self.name}' is not a JSON object") from None
        if not isinstance(parsed, dict):
            raise ConfigurationError(f"secret '{self.name}' is not a JSON object")
        return parsed


class SecretSource(Protocol):
    """Where a client finds a credential by name: Secrets Manager (SecretReader), or one given value."""

    def get(self, name: str, *, fresh: bool = False) -> Secret: ...


@dataclass(frozen=True)
class GivenSecret:
    """One credential already read (a rotation tries a version that is not AWSCURRENT): `fresh` reads it again
    from nowhere, so it is the same value."""

    secret: Secret

    def get(self, name: str, *, fresh: bool = False) -> Secret:
        del fresh
        if name != self.secret.name:
            raise ConfigurationError(f"secret '{name}' is not the one given ('{self.secret.name}')")
        return self.secret


class SecretReader:
    def __init__(self, arns_json: str, secretsmanager: Any | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._arns = json_map("KEEL_SECRETS", arns_json, "secret name to ARN")
        self._secretsmanager = secretsmanager
        self._clock = clock
        self._cache: dict[str, tuple[float, Secret]] = {}

    def get(self, name: str, *, fresh: bool = False) -> Secret:
        """The secret's value, from the cache unless `fresh` (a credential the other side refused may have
        been rotated since it was cached)."""
        if name not in self._arns:
            declared = ", ".join(sorted(self._arns)) or "none"
            raise ConfigurationError(f"secret '{name}' is not declared by this function's automations (declared: {declared})")
        cached = self._cache.get(name)
        now = self._clock()
        if cached and not fresh and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        secretsmanager = self._secretsmanager or client("secretsmanager")
        with aws_errors(f"GetSecretValue of '{name}'"):
            response = secretsmanager.get_secret_value(SecretId=self._arns[name])
        if "SecretString" not in response:
            raise ConfigurationError(f"secret '{name}' has no string value; set one with put-secret-value")
        secret = Secret(name=name, value=response["SecretString"])
        self._cache[name] = (now, secret)
        return secret
