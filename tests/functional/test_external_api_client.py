"""The platform's HTTPS client against the local cloud's fake APIs (TLS, a CA made at run time), and each
API's rate limit and circuit breaker against moto's DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.http_api import ApiRequest, ApiSettings, HttpApi, api_catalog
from functions.shared.adapters.secrets import SecretReader
from functions.shared.domain.api_limits import Admission, BreakerPolicy, CircuitBreaker, RateLimiter
from functions.shared.runtime.errors import ConfigurationError, DependencyError, TransientError
from keel.local.fake_apis import ApiFault, FakeApi, FakeApis, serving

CRM_KEY = {"api_key": "crm-key-one-3f9c"}
BILLING = {"client_id": "keel-test", "client_secret": "billing-secret-77d1"}


def settings(auth: str, **changes: Any) -> dict[str, Any]:
    return {
        "base_url": "https://crm.example.com/v2",
        "auth": auth,
        "secret": f"{auth}-secret",
        "header": "X-Api-Key",
        "token_path": "/oauth/token",
        "connect_timeout_seconds": 2,
        "read_timeout_seconds": 0.3,
        "rate_limit_per_second": 10,
        "breaker_failures": 2,
        "breaker_cooloff_seconds": 30,
        "max_wait_seconds": 60,
        **changes,
    }


@dataclass
class FakeSecretsManager:
    values: dict[str, str]
    reads: list[str] = field(default_factory=list)

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.reads.append(SecretId)
        return {"SecretString": self.values[SecretId]}


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    fakes = {
        "crm": FakeApi("crm", settings("api_key"), dict(CRM_KEY), {"contacts": {"id": "user_id"}}),
        "billing": FakeApi("billing", settings("oauth_client_credentials"), dict(BILLING), {"customers": {"id": "user_id"}}),
    }
    with serving(FakeApis(fakes)) as served:
        yield served


def client(apis: FakeApis, name: str, secrets: FakeSecretsManager, *, trusted: bool = True) -> HttpApi:
    auth = apis.fakes[name].settings["auth"]
    api = ApiSettings.model_validate(settings(auth, base_url=apis.base_urls()[name]))
    reader = SecretReader(json.dumps({api.secret: api.secret}), secretsmanager=secrets)
    return HttpApi(name, api, reader, ca_bundle=apis.ca_bundle if trusted else None)


def test_an_api_key_call_creates_and_the_log_keeps_no_credential(apis: FakeApis) -> None:
    # Given the CRM's key in Secrets Manager
    secrets = FakeSecretsManager({"api_key-secret": json.dumps(CRM_KEY)})

    # When a contact is created, twice with the same Idempotency-Key
    crm = client(apis, "crm", secrets)
    first = crm.send(ApiRequest("POST", "/contacts", {"user_id": "usr_a"}, "key-a"))
    again = crm.send(ApiRequest("POST", "/contacts", {"user_id": "usr_a"}, "key-a"))

    # Then both get the first answer (the second replayed), and the key is nowhere in the request log
    assert (first.status, first.body["id"], again.status) == (201, "usr_a", 201)
    assert [request.replayed for request in apis.log("crm") if request.path == "/contacts"][-2:] == [False, True]
    assert CRM_KEY["api_key"] not in json.dumps([request.as_json() for request in apis.log()])


def test_oauth_client_credentials_fetch_one_token_for_many_calls(apis: FakeApis) -> None:
    secrets = FakeSecretsManager({"oauth_client_credentials-secret": json.dumps(BILLING)})
    billing = client(apis, "billing", secrets)
    before = len(apis.log("billing"))

    answers = [billing.send(ApiRequest("POST", "/customers", {"user_id": f"usr_{n}"})).status for n in range(3)]

    assert answers == [201, 201, 201]
    paths = [request.path for request in apis.log("billing")[before:]]
    assert paths == ["/oauth/token", "/customers", "/customers", "/customers"]


def test_after_a_rotation_a_401_reads_the_secret_again_and_retries_once(apis: FakeApis) -> None:
    # Given a client that cached the CRM key, then a rotation: the API and the secret hold a new key
    secrets = FakeSecretsManager({"api_key-secret": json.dumps(CRM_KEY)})
    crm = client(apis, "crm", secrets)
    assert crm.send(ApiRequest("GET", "/contacts/usr_a")).status in (200, 404)
    rotated = {"api_key": "crm-key-two-81b0"}
    apis.rotate("crm", rotated)
    secrets.values["api_key-secret"] = json.dumps(rotated)
    try:
        before = len(apis.log("crm"))
        # When it calls with the cached key, then with the key read again
        stale = crm.send(ApiRequest("POST", "/contacts", {"user_id": "usr_rotated"}))
        fresh = crm.send(ApiRequest("POST", "/contacts", {"user_id": "usr_rotated"}), fresh=True)
        # Then the first is refused, the secret is read again, and the second goes through
        assert (stale.status, fresh.status) == (401, 201)
        assert [request.status for request in apis.log("crm")[before:]] == [401, 201]
        assert len(secrets.reads) == 2
    finally:
        apis.rotate("crm", CRM_KEY)


def test_each_request_says_when_it_was_sent_and_the_log_keeps_it(apis: FakeApis) -> None:
    secrets = FakeSecretsManager({"api_key-secret": json.dumps(CRM_KEY)})
    crm = client(apis, "crm", secrets)
    crm.clock = lambda: 1_800_000_000.4

    crm.send(ApiRequest("GET", "/contacts/usr_a"))

    assert apis.log("crm")[-1].sent == 1_800_000_000


def test_no_answer_within_the_read_timeout_is_a_transient_error(apis: FakeApis) -> None:
    secrets = FakeSecretsManager({"api_key-secret": json.dumps(CRM_KEY)})
    apis.faults.append(ApiFault("crm", "timeout"))

    with pytest.raises(TransientError, match=r"API 'crm' GET https://127\.0\.0\.1:\d+/crm/contacts/usr_a: no answer within"):
        client(apis, "crm", secrets).send(ApiRequest("GET", "/contacts/usr_a"))


def test_tls_only_an_untrusted_certificate_and_a_plain_http_url_are_refused(apis: FakeApis) -> None:
    secrets = FakeSecretsManager({"api_key-secret": json.dumps(CRM_KEY)})

    with pytest.raises(DependencyError, match="TLS failed"):
        client(apis, "crm", secrets, trusted=False).send(ApiRequest("GET", "/contacts/usr_a"))
    with pytest.raises(ConfigurationError, match=r"API 'crm': base_url: String should match pattern"):
        api_catalog(json.dumps({"crm": settings("api_key")}), json.dumps({"crm": "http://127.0.0.1:8080/crm"}))


@pytest.fixture
def limits_table() -> Iterator[Table]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName="keel-dev-limits",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Table("keel-dev-limits", dynamodb)


def test_the_rate_limit_grants_its_calls_per_second_early_in_the_second_then_asks_to_wait(limits_table: Table) -> None:
    limiter = RateLimiter(limits_table, "crm", 3)

    granted = [limiter.take(1_800_000_000.1) for _ in range(4)]

    assert granted[:3] == [None, None, None]
    assert granted[3] == pytest.approx(0.9)
    # Late in a second nothing is granted: a request delayed on its way would count in the next one.
    assert limiter.take(1_800_000_001.7) == pytest.approx(0.3)
    assert limiter.take(1_800_000_002.0) is None


def test_the_breaker_opens_after_consecutive_failures_cools_off_and_one_probe_closes_it(limits_table: Table) -> None:
    breaker = CircuitBreaker(limits_table, "crm", BreakerPolicy(failures=2, cooloff_seconds=30))
    start = 1_800_000_000_000

    # Given two failures in a row: the second opens it, once
    assert breaker.failed(breaker.admit(start), start) is None
    assert breaker.failed(breaker.admit(start), start) == start + 30_000
    # Then calls are refused until the cool-off ends
    assert (breaker.admit(start + 29_000).kind, breaker.admit(start + 29_000).until_ms) == ("refused", start + 30_000)
    # When it has cooled off, one caller probes and the others still wait
    probe = breaker.admit(start + 30_000)
    assert (probe.kind, breaker.admit(start + 30_001).kind) == ("probe", "refused")
    # A call let through before it opened and answered late leaves it open
    breaker.succeeded(Admission("closed", failures=1))
    assert breaker.admit(start + 30_500).kind == "refused"
    # A failed probe opens it for another cool-off; a probe that works closes it
    assert breaker.failed(probe, start + 31_000) == start + 61_000
    second = breaker.admit(start + 61_000)
    breaker.succeeded(second)
    assert breaker.admit(start + 61_001).kind == "closed"
