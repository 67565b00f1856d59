"""The outside world in the local cloud: fake HTTPS APIs on 127.0.0.1, from declarations.

Each external API an environment declares (config/environments.yaml `apis`, seen here through the
KEEL_APIS of the functions that call it) is played by a fake described in `apis/<api>.yaml`:

    credentials: {api_key: local-crm-key-5c1f}      # what the local secret holds and the fake accepts
    resources:                                       # REST collections
      contacts: {id: user_id, fields: {activated: false}}

`POST /contacts` creates a contact whose id is the body's `user_id` (201; 409 when it exists; a repeated
Idempotency-Key gets the first answer again, as Stripe-style APIs do), `GET /contacts/{id}` reads it,
`DELETE /contacts/{id}` deletes it (204; 404 when there is none). A key is forgotten 24 hours (world
time) after its first answer, as Stripe prunes keys "at least 24 hours old"
(https://docs.stripe.com/api/idempotent_requests): after that the same key makes a new request. The fake checks the credential the
API's auth kind sends (an API key header, basic auth, or an OAuth client-credentials token from its
token path): a wrong one gets 401. `rotate()` gives it a new credential, as a rotation would.

An API whose declaration names a `credentials_path` manages its own credentials there, as a rotation
(functions/rotate_api_credential) uses them: `POST` issues a new one (201; the one that asked stays
valid), `GET` answers 200 to any valid one, `DELETE` retires the one that calls it (204). A credential
the fake has issued or retired is never recorded, only the request's method, path and status.

Faults are scripted per API and consumed in order by the requests that reach it (token requests
excepted): `crm:429:3` answers the next three with 429 and a Retry-After, `crm:503:2` with 503,
`crm:400` with 400, `crm:timeout:1` answers one only after the client's read timeout. Every request
is recorded (method, path, status, world time, which fault answered it); credentials never are.

The server speaks TLS with a certificate for 127.0.0.1 signed by a CA made at start (trustme); the
functions trust that CA through KEEL_API_CA_BUNDLE and find the fakes through KEEL_API_ENDPOINTS, two
settings only the local cloud sets. Nothing listens in plain HTTP.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from keel.local.errors import LocalCloudError

FAULT = re.compile(r"^(?P<api>[a-z][a-z0-9-]*):(?P<kind>[1-5]\d\d|timeout)(?::(?P<times>[1-9]\d*))?$")
DEFAULT_RETRY_AFTER = 2
TOKEN_SECONDS = 3600
IDEMPOTENCY_KEY_LIFETIME_SECONDS = 86_400


@dataclass
class ApiFault:
    api: str
    kind: str  # an HTTP status, or "timeout"
    times: int = 1
    retry_after: int = DEFAULT_RETRY_AFTER
    used: int = 0

    def describe(self) -> str:
        what = "does not answer in time" if self.kind == "timeout" else f"answers {self.kind}"
        return f"API {self.api} {what} {self.times} time(s)"


def parse_api_fault(spec: str) -> ApiFault:
    """API:STATUS[:N] or API:timeout[:N]."""
    match = FAULT.fullmatch(spec)
    if match is None:
        raise LocalCloudError(f"API fault '{spec}': expected API:STATUS[:N] or API:timeout[:N] (e.g. crm:429:3)")
    return ApiFault(match["api"], match["kind"], int(match["times"] or 1))


@dataclass(frozen=True)
class Recorded:
    api: str
    method: str
    path: str
    status: int
    at: float  # when it arrived, world time, epoch seconds
    fault: str | None = None
    replayed: bool = False
    # When the client sent it (its Date header, whole seconds); None without one.
    sent: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "at": self.at,
            "fault": self.fault,
            "replayed": self.replayed,
            "sent": self.sent,
        }


@dataclass
class FakeApi:
    """One API's fake: its declared auth, credential, collections and state."""

    name: str
    settings: dict[str, Any]  # the API as KEEL_APIS declares it
    credentials: dict[str, str]
    resources: dict[str, dict[str, Any]]
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # "METHOD path Idempotency-Key" -> the first answer (status, body) and when it was given.
    replies: dict[str, tuple[int, Any, float]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    # Where the API issues, checks and retires its credentials (None: it does not).
    credentials_path: str | None = None
    # Every credential the API accepts now: the declared one, and those issued since and not yet retired.
    valid: list[dict[str, str]] = field(default_factory=list)
    issued: int = 0

    def __post_init__(self) -> None:
        self.valid = self.valid or [dict(self.credentials)]

    def secret_value(self) -> str:
        return json.dumps(self.credentials, sort_keys=True)

    def authorized(self, headers: Any) -> bool:
        if self.settings["auth"] == "oauth_client_credentials":
            bearer = headers.get("Authorization", "")
            return bearer.startswith("Bearer ") and bearer[7:] in self.tokens
        return self.caller(headers) is not None

    def caller(self, headers: Any) -> dict[str, str] | None:
        """The valid credential an API-key or basic request carries, if any."""
        for credentials in self.valid:
            if self.settings["auth"] == "api_key":
                if _same(headers.get(self.settings["header"], ""), credentials.get("api_key", "")):
                    return credentials
                continue
            expected = f"{credentials.get('username', '')}:{credentials.get('password', '')}"
            if _same(headers.get("Authorization", ""), "Basic " + base64.b64encode(expected.encode()).decode()):
                return credentials
        return None

    def manage_credentials(self, method: str, caller: dict[str, str]) -> tuple[int, Any]:
        """The credentials path: issue a new credential, check one, or retire the caller's."""
        if method == "GET":
            return 200, {"valid": True}
        if method == "DELETE":
            self.valid = [credentials for credentials in self.valid if credentials is not caller]
            return 204, None
        if method != "POST":
            return 405, {"error": f"{method} is not allowed on {self.credentials_path}"}
        self.issued += 1
        field_name = "api_key" if self.settings["auth"] == "api_key" else "password"
        new = {**caller, field_name: f"local-{self.name}-{field_name.replace('_', '-')}-{self.issued}-{secrets.token_hex(4)}"}
        self.valid.append(new)
        return 201, {field_name: new[field_name]}

    def issue_token(self, headers: Any, counter: Iterator[int]) -> tuple[int, Any]:
        client = f"{self.credentials.get('client_id', '')}:{self.credentials.get('client_secret', '')}"
        if not _same(headers.get("Authorization", ""), "Basic " + base64.b64encode(client.encode()).decode()):
            return 401, {"error": "invalid_client"}
        token = f"local-token-{self.name}-{next(counter)}"
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [part for part in path.split("/") if part]
        if not parts or parts[0] not in self.resources or len(parts) > 2:
            return 404, {"error": f"no route {method} {path}"}
        collection, items = parts[0], self.items.setdefault(parts[0], {})
        if len(parts) == 1 and method == "POST":
            return self._create(collection, items, body)
        if len(parts) == 2 and method == "GET":
            found = items.get(parts[1])
            return (200, found) if found is not None else (404, {"error": f"no {collection} {parts[1]}"})
        if len(parts) == 2 and method == "DELETE":
            return (204, None) if items.pop(parts[1], None) is not None else (404, {"error": f"no {collection} {parts[1]}"})
        return 405, {"error": f"{method} is not allowed on {path}"}

    def _create(self, collection: str, items: dict[str, dict[str, Any]], body: Any) -> tuple[int, Any]:
        id_field = self.resources[collection]["id"]
        if not isinstance(body, dict) or not isinstance(body.get(id_field), str | int):
            return 400, {"error": f"the body needs '{id_field}'"}
        key = str(body[id_field])
        if key in items:
            return 409, {"error": f"{collection} {key} exists"}
        items[key] = {**self.resources[collection].get("fields", {}), **body, "id": key}
        return 201, items[key]


def _sent_at(date: str | None) -> int | None:
    try:
        return int(parsedate_to_datetime(date).timestamp()) if date else None
    except (TypeError, ValueError):
        return None


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def load_fakes(directory: Path, apis: dict[str, dict[str, Any]]) -> dict[str, FakeApi]:
    """The fake of each API (its settings as deployed), from directory/<api>.yaml."""
    fakes = {}
    for name, settings in sorted(apis.items()):
        path = directory / f"{name}.yaml"
        try:
            declared = yaml.safe_load(path.read_text()) or {}
        except OSError:
            raise LocalCloudError(f"API '{name}' has no local declaration: write {path} (credentials, resources)") from None
        except yaml.YAMLError as error:
            raise LocalCloudError(f"{path}: not valid YAML: {error}") from None
        credentials, resources = declared.get("credentials"), declared.get("resources", {})
        if not isinstance(credentials, dict) or not all(isinstance(value, str) for value in credentials.values()):
            raise LocalCloudError(f"{path}: credentials: expected a mapping of names to strings")
        if not isinstance(resources, dict) or not all(isinstance(spec, dict) and "id" in spec for spec in resources.values()):
            raise LocalCloudError(f"{path}: resources: expected a mapping of collection to {{id: FIELD, fields: {{...}}}}")
        path_declared = declared.get("credentials_path")
        if path_declared is not None and (not isinstance(path_declared, str) or not path_declared.startswith("/")):
            raise LocalCloudError(f"{path}: credentials_path: expected a path starting with / (e.g. /credentials)")
        fakes[name] = FakeApi(name, settings, dict(credentials), resources, credentials_path=path_declared)
    return fakes


@dataclass
class FakeApis:
    fakes: dict[str, FakeApi]
    clock: Callable[[], float] = time.time  # world time
    faults: list[ApiFault] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self.endpoint = ""
        self.ca_bundle = ""

    def base_urls(self) -> dict[str, str]:
        return {name: f"{self.endpoint}/{name}" for name in self.fakes}

    def rotate(self, api: str, credentials: dict[str, str]) -> None:
        """The API now accepts only these credentials (tokens issued before are revoked)."""
        with self._lock:
            fake = self.fakes[api]
            fake.credentials = dict(credentials)
            fake.valid = [dict(credentials)]
            fake.tokens.clear()

    def log(self, api: str | None = None) -> list[Recorded]:
        with self._lock:
            return [request for request in self.requests if api is None or request.api == api]

    def unused_faults(self) -> list[str]:
        return [fault.describe() for fault in self.faults if fault.used == 0]

    def handle(self, method: str, path: str, headers: Any, body: Any) -> tuple[int, Any, dict[str, str], float]:
        """(status, body, extra headers, seconds to hold the answer) for one request."""
        name, _, rest = path.lstrip("/").partition("/")
        fake = self.fakes.get(name)
        if fake is None:
            return 404, {"error": f"no API '{name}'"}, {}, 0.0
        rest, sent = "/" + rest, _sent_at(headers.get("Date"))
        with self._lock:
            if method == "POST" and rest == fake.settings["token_path"] and fake.settings["auth"] == "oauth_client_credentials":
                status, answer = fake.issue_token(headers, self._tokens)
                self._record(Recorded(name, method, rest, status, self.clock(), sent=sent))
                return status, answer, {}, 0.0
            fault = self._take_fault(name)
            if fault is not None:
                return self._faulted(fake, fault, (method, rest), sent)
            if not fake.authorized(headers):
                self._record(Recorded(name, method, rest, 401, self.clock(), sent=sent))
                return 401, {"error": "unauthorized"}, {}, 0.0
            key = headers.get("Idempotency-Key")
            replied = fake.replies.get(f"{method} {rest} {key}") if key else None
            if replied is not None and self.clock() - replied[2] < IDEMPOTENCY_KEY_LIFETIME_SECONDS:
                status, answer, _ = replied
                self._record(Recorded(name, method, rest, status, self.clock(), replayed=True, sent=sent))
                return status, answer, {}, 0.0
            if rest == fake.credentials_path:
                status, answer = fake.manage_credentials(method, fake.caller(headers) or {})
            else:
                status, answer = fake.answer(method, rest, body)
            if key and status < 500:
                fake.replies[f"{method} {rest} {key}"] = (status, answer, self.clock())
            self._record(Recorded(name, method, rest, status, self.clock(), sent=sent))
            return status, answer, {}, 0.0

    def _take_fault(self, api: str) -> ApiFault | None:
        for fault in self.faults:
            if fault.api == api and fault.used < fault.times:
                fault.used += 1
                return fault
        return None

    def _faulted(
        self, fake: FakeApi, fault: ApiFault, request: tuple[str, str], sent: int | None
    ) -> tuple[int, Any, dict[str, str], float]:
        method, path = request
        note = f"{fault.kind} ({fault.used} of {fault.times})"
        if fault.kind == "timeout":
            hold = float(fake.settings["read_timeout_seconds"]) + 0.5
            self._record(Recorded(fake.name, method, path, 504, self.clock(), fault=note, sent=sent))
            return 504, {"error": "injected: too slow"}, {}, hold
        status = int(fault.kind)
        headers = {"Retry-After": str(fault.retry_after)} if status in (429, 503) else {}
        self._record(Recorded(fake.name, method, path, status, self.clock(), fault=note, sent=sent))
        return status, {"error": f"injected by keel local: {status}"}, headers, 0.0

    def _record(self, request: Recorded) -> None:
        self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    """One connection to the fakes (a thread of its own, with its own TLS handshake)."""

    protocol_version = "HTTP/1.1"
    apis: FakeApis

    def setup(self) -> None:
        self.shaken = True
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.shaken = False  # the client refused the certificate, or went away
        super().setup()

    def handle(self) -> None:
        if self.shaken:
            super().handle()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw and "json" in (self.headers.get("Content-Type") or "") else raw.decode()
        except ValueError:
            body = None
        status, answer, extra, hold = self.apis.handle(self.command, self.path, self.headers, body)
        if hold:
            time.sleep(hold)  # a slow API: the client's read timeout ends the wait first
        data = b"" if answer is None else json.dumps(answer).encode()
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up waiting (a timeout fault): nobody to answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *_args: Any) -> None:
        return  # the request log is apis.requests, without headers


def _handler(apis: FakeApis) -> type[BaseHTTPRequestHandler]:
    return type("FakeApiHandler", (_Handler,), {"apis": apis})


@contextmanager
def serving(apis: FakeApis) -> Iterator[FakeApis]:
    """Serve the fakes over TLS on 127.0.0.1 (an ephemeral port) for the duration of the block."""
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(apis))
    server.daemon_threads = True
    # The TLS handshake in each connection's own thread, not one after another in the accepting one.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    with tempfile.TemporaryDirectory(prefix="keel-apis-") as directory:
        bundle = Path(directory) / "ca.pem"
        authority.cert_pem.write_to_path(str(bundle))
        apis.endpoint = f"https://127.0.0.1:{server.server_address[1]}"
        apis.ca_bundle = str(bundle)
        thread = threading.Thread(target=server.serve_forever, name="keel-fake-apis", daemon=True)
        thread.start()
        try:
            yield apis
        finally:
            server.shutdown()
            server.server_close()
