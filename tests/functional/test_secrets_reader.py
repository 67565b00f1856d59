"""functions.shared.adapters.secrets against moto's Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters.secrets import CACHE_SECONDS, SecretReader
from functions.shared.runtime.errors import ConfigurationError, NotFoundError


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reads_a_declared_secret_and_hides_its_value(secretsmanager: Any) -> None:
    # Given a secret declared for this function
    arn = secretsmanager.create_secret(Name="keel/dev/helpdesk-api", SecretString='{"token": "s3cr3t"}')["ARN"]
    reader = SecretReader(json.dumps({"helpdesk-api": arn}), secretsmanager)
    # When it is read
    secret = reader.get("helpdesk-api")
    # Then the value is available to code but never in its printed forms
    assert secret.json() == {"token": "s3cr3t"}
    assert "s3cr3t" not in repr(secret)
    assert "s3cr3t" not in str(secret)


def test_undeclared_secret_is_refused_with_the_declared_names(secretsmanager: Any) -> None:
    # Given a function allowed one secret
    reader = SecretReader(json.dumps({"helpdesk-api": "arn:aws:secretsmanager:eu-west-1:1:secret:x"}), secretsmanager)
    # When it asks for another
    with pytest.raises(ConfigurationError, match=r"'pager-api' is not declared .*helpdesk-api"):
        reader.get("pager-api")


def test_missing_secret_raises_the_projects_not_found(secretsmanager: Any) -> None:
    # Given an ARN that names no secret
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keel/dev/gone-AbCdEf"
    reader = SecretReader(json.dumps({"gone": arn}), secretsmanager)
    # When it is read, Then the adapter turns ClientError into NotFoundError
    with pytest.raises(NotFoundError, match="GetSecretValue of 'gone'"):
        reader.get("gone")


def test_rotation_is_seen_after_the_cache_expires(secretsmanager: Any) -> None:
    # Given a cached secret
    arn = secretsmanager.create_secret(Name="keel/dev/api", SecretString="v1")["ARN"]
    clock = Clock()
    reader = SecretReader(json.dumps({"api": arn}), secretsmanager, clock=clock)
    assert reader.get("api").value == "v1"
    # When it is rotated
    secretsmanager.put_secret_value(SecretId=arn, SecretString="v2")
    # Then the cached value holds until the cache expires, and the new one is read after
    assert reader.get("api").value == "v1"
    clock.now += CACHE_SECONDS + 1
    assert reader.get("api").value == "v2"


@pytest.mark.parametrize("bad", ["not json", "[1, 2]"])
def test_malformed_secret_catalog_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="KEEL_SECRETS"):
        SecretReader(bad)


def test_non_json_secret_value_is_reported_by_name(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name="keel/dev/plain", SecretString="plain-text")["ARN"]
    reader = SecretReader(json.dumps({"plain": arn}), secretsmanager)
    with pytest.raises(ConfigurationError, match="'plain' is not a JSON object"):
        reader.get("plain").json()
