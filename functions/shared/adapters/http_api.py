"""The platform's client for HTTPS APIs outside AWS (a CRM, a billing system), declared per environment.

What it guarantees, whichever module calls it:
- TLS only: a base URL that is not https:// is refused, and certificates are verified (the system's
  trust store; the local cloud's fake APIs are trusted through KEEL_API_CA_BUNDLE, set only there).
- Explicit timeouts: connect and read, from the API's declaration.
- Credentials come from Secrets Manager (SecretReader, cached a few minutes) and go only into request
  headers: never into a URL, a log line, an exception message or a result. `send(fresh=True)` re-reads
  the secret and fetches a new OAuth token: what the caller does once after a 401 (a rotation since
  they were cached).
- Failures are the project's exceptions: timeouts and unreachable hosts raise TransientError (the
  workflow's Retry backs off with jitter); every answered request comes back as an ApiResponse, for
  the caller to decide on 429, 5xx and 4xx (functions/call_api/logic.py).

urllib3 is already in every function's package (botocore depends on it), so it adds nothing to a cold
start; `requests` would.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from functions.shared.adapters.secrets import SecretSource
from functions.shared.runtime.contract import ConfigDict, Field, Model, ValidationError
from functions.shared.runtime.errors import ConfigurationError, DependencyError, TransientError

# An OAuth token is fetched again this long before it expires.
TOKEN_MARGIN_SECONDS = 30.0
# Longest excerpt of an answer's body kept in an error message.
BODY_EXCERPT = 200


class ApiSettings(Model):
    """One API as KEEL_APIS declares it (infra/constructs/function.py api_settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$")
    auth: Literal["api_key", "basic", "oauth_client_credentials"]
    secret: str = Field(min_length=1)
    header: str = Field(min_length=1)
    token_path: str = Field(min_length=1)
    connect_timeout_seconds: float = Field(gt=0)
    read_timeout_seconds: float = Field(gt=0)
    rate_limit_per_second: int = Field(ge=1)
    breaker_failures: int = Field(ge=1)
    breaker_cooloff_seconds: int = Field(ge=1)
    max_wait_seconds: int = Field(ge=0)


def api_catalog(apis_json: str, endpoints_json: str | None = None) -> dict[str, ApiSettings]:
    """KEEL_APIS parsed; KEEL_API_ENDPOINTS (the local cloud's, never deployed) moves base URLs to its fakes,
    which must be https:// too."""
    try:
        raw = json.loads(apis_json)
        endpoints = json.loads(endpoints_json) if endpoints_json else {}
    except json.JSONDecodeError:
        raise ConfigurationError("KEEL_APIS or KEEL_API_ENDPOINTS is not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(endpoints, dict):
        raise ConfigurationError("KEEL_APIS and KEEL_API_ENDPOINTS must be JSON objects keyed by API name")
    apis = {}
    for name, declared in raw.items():
        values = {**declared, "base_url": endpoints.get(name, declared.get("base_url") if isinstance(declared, dict) else None)}
        try:
            apis[name] = ApiSettings.model_validate(values)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConfigurationError(f"KEEL_APIS: API '{name}': {where}: {first['msg']}") from None
    return apis


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    body: dict[str, Any] | None = None
    idempotency_key: str | None = None
    # When the request was let go (its rate slot granted), epoch seconds; None: when it is sent.
    originated_at: float | None = None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    retry_after: str | None = None

    def retry_after_seconds(self, now: float) -> float | None:
        """Retry-After as seconds from `now`: delay-seconds or an HTTP date (RFC 9110, section 10.2.3)."""
        if self.retry_after is None:
            return None
        value = self.retry_after.strip()
        if value.isdigit():
            return float(value)
        from email.utils import parsedate_to_datetime  # only for a 429 with a date: 12 ms of import

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None

    def excerpt(self) -> str:
        text = self.body if isinstance(self.body, str) else json.dumps(self.body, sort_keys=True)
        return text[:BODY_EXCERPT]


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class HttpApi:
    """One API's client, made once per execution environment (the pool and the token are reused)."""

    name: str
    settings: ApiSettings
    secrets: SecretSource
    ca_bundle: str | None = None
    clock: Callable[[], float] = time.time
    _token: _Token | None = field(default=None, repr=False)
    _pool: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.settings.base_url.startswith("https://"):
            url = self.settings.base_url
            raise ConfigurationError(f"API '{self.name}': {url} is not https:// (Keel calls APIs over TLS only)")

    def send(self, request: ApiRequest, *, fresh: bool = False) -> ApiResponse:
        """Send once. `fresh`: with credentials read again (after a 401: a rotation since they were cached).
        The Date header is when the message originated (RFC 9110, section 6.6.1): the moment its rate
        slot was granted, however long a busy host or network then takes to deliver it."""
        originated = request.originated_at if request.originated_at is not None else self.clock()
        headers = {"Date": http_date(originated), "Accept": "application/json"}
        authorization = self._authorization(fresh=fresh)
        headers.update(authorization)
        body = None
        if request.body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(request.body).encode()
        if request.idempotency_key:
            headers["Idempotency-Key"] = request.idempotency_key
        response = self._http(request.method, self.settings.base_url.rstrip("/") + request.path, headers, body)
        return _without(response, [*authorization.values(), *self._credential_values()])

    def _credential_values(self) -> list[str]:
        """What the credential holds (cached: read just now for the request)."""
        return [value for value in self._credential(fresh=False).values() if isinstance(value, str) and value]

    def _authorization(self, *, fresh: bool) -> dict[str, str]:
        kind = self.settings.auth
        if kind == "oauth_client_credentials":
            return {"Authorization": f"Bearer {self._bearer(fresh=fresh)}"}
        values = self._credential(fresh=fresh)
        if kind == "api_key":
            return {self.settings.header: _field(values, "api_key", self.settings.secret)}
        pair = f"{_field(values, 'username', self.settings.secret)}:{_field(values, 'password', self.settings.secret)}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def _credential(self, *, fresh: bool) -> dict[str, Any]:
        return self.secrets.get(self.settings.secret, fresh=fresh).json()

    def _bearer(self, *, fresh: bool) -> str:
        """A client-credentials token (RFC 6749, section 4.4), kept until shortly before it expires."""
        now = self.clock()
        if not fresh and self._token is not None and now < self._token.expires_at - TOKEN_MARGIN_SECONDS:
            return self._token.value
        values = self._credential(fresh=fresh)
        client = f"{_field(values, 'client_id', self.settings.secret)}:{_field(values, 'client_secret', self.settings.secret)}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(client.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        url = self.settings.base_url.rstrip("/") + self.settings.token_path
        answer = self._http("POST", url, headers, urlencode({"grant_type": "client_credentials"}).encode())
        if answer.status != 200 or not isinstance(answer.body, dict) or not isinstance(answer.body.get("access_token"), str):
            # The token endpoint's answer may echo what it was sent: only its status is kept.
            raise DependencyError(f"API '{self.name}': the token endpoint refused the client credentials ({answer.status})")
        self._token = _Token(answer.body["access_token"], now + float(answer.body.get("expires_in", 3600)))
        return self._token.value

    def _http(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> ApiResponse:
        import urllib3

        if self._pool is None:
            self._pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=self.ca_bundle, retries=False)
        timeout = urllib3.Timeout(connect=self.settings.connect_timeout_seconds, read=self.settings.read_timeout_seconds)
        where = f"API '{self.name}' {method} {url.split('?', 1)[0]}"
        try:
            answer = self._pool.request(method, url, headers=headers, body=body, timeout=timeout, redirect=False)
        except urllib3.exceptions.TimeoutError:
            raise TransientError(f"{where}: no answer within its timeout") from None
        except urllib3.exceptions.SSLError:
            raise DependencyError(f"{where}: TLS failed (the certificate is not trusted or does not match)") from None
        except urllib3.exceptions.HTTPError as error:
            raise TransientError(f"{where}: unreachable ({type(error).__name__})") from None
        return ApiResponse(answer.status, _decoded(answer.data), answer.headers.get("Retry-After"))


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(seconds: float) -> str:
    """An IMF-fixdate (RFC 9110, section 5.6.7), without email.utils' 12 ms of import on every cold start."""
    moment = time.gmtime(seconds)
    return (
        f"{DAYS[moment.tm_wday]}, {moment.tm_mday:02d} {MONTHS[moment.tm_mon - 1]} {moment.tm_year} "
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} GMT"
    )


def _without(response: ApiResponse, secrets: list[str]) -> ApiResponse:
    """The answer with any credential it echoes replaced: an error body goes into the execution's history."""
    text = json.dumps(response.body)
    if not any(secret in text for secret in secrets):
        return response
    for secret in secrets:
        text = text.replace(json.dumps(secret)[1:-1], "[redacted]")
    return ApiResponse(response.status, json.loads(text), response.retry_after)


def _field(values: dict[str, Any], name: str, secret: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"secret '{secret}' has no '{name}' (a string)")
    return value


def _decoded(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode(errors="replace")
