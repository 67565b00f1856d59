"""functions/shared: settings read at cold start, AWS errors mapped to the project's exceptions, input parsing."""

from __future__ import annotations

from datetime import datetime

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from functions.shared.adapters.aws import aws_errors, error_for
from functions.shared.domain.event_claim import claim_key
from functions.shared.runtime import errors
from functions.shared.runtime.contract import Model
from functions.shared.runtime.settings import FunctionSettings, load_settings


class ProbeSettings(FunctionSettings):
    keel_idempotency_table: str
    keel_max_items: int


def test_settings_are_read_from_the_variables_by_name() -> None:
    # Given a complete environment with unrelated variables too
    environ = {"KEEL_ENVIRONMENT": "dev", "KEEL_IDEMPOTENCY_TABLE": "idem", "KEEL_MAX_ITEMS": "5", "PATH": "/bin"}

    # When the settings are loaded / Then each field holds its variable, converted
    settings = load_settings(ProbeSettings, environ)
    assert (settings.keel_environment, settings.keel_idempotency_table, settings.keel_max_items) == ("dev", "idem", 5)


def test_a_missing_variable_is_named() -> None:
    # Given an environment without KEEL_IDEMPOTENCY_TABLE
    environ = {"KEEL_ENVIRONMENT": "dev", "KEEL_MAX_ITEMS": "5"}

    # When the settings are loaded / Then ConfigurationError names the variable, no default is used
    with pytest.raises(errors.ConfigurationError, match=r"^KEEL_IDEMPOTENCY_TABLE is not set$"):
        load_settings(ProbeSettings, environ)


def test_every_problem_is_named_at_once() -> None:
    # Given an environment missing one variable and holding a malformed other
    environ = {"KEEL_IDEMPOTENCY_TABLE": "idem", "KEEL_MAX_ITEMS": "many"}

    # When the settings are loaded / Then both variables are named
    with pytest.raises(errors.ConfigurationError) as caught:
        load_settings(ProbeSettings, environ)
    message = str(caught.value)
    assert "KEEL_ENVIRONMENT is not set" in message
    assert "KEEL_MAX_ITEMS: Input should be a valid integer" in message


def test_settings_default_to_the_process_environment(monkeypatch) -> None:
    # Given the variables set in the process
    monkeypatch.setenv("KEEL_ENVIRONMENT", "staging")
    monkeypatch.setenv("KEEL_IDEMPOTENCY_TABLE", "idem-staging")
    monkeypatch.setenv("KEEL_MAX_ITEMS", "1")

    # When the settings are loaded without an explicit mapping / Then os.environ is read
    assert load_settings(ProbeSettings).keel_idempotency_table == "idem-staging"


def client_error(code: str, status: int, message: str = "it failed") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ConditionalCheckFailedException", 400, errors.ConflictError),
        ("TransactionConflictException", 400, errors.ConflictError),
        ("ResourceNotFoundException", 400, errors.NotFoundError),
        ("ProvisionedThroughputExceededException", 400, errors.ThrottledError),
        ("ThrottlingException", 400, errors.ThrottledError),
        ("AccessDeniedException", 400, errors.AccessDeniedError),
        ("ValidationException", 400, errors.InvalidInputError),
        ("InternalServerError", 500, errors.TransientError),
        ("ServiceUnavailable", 503, errors.TransientError),
        ("SomethingNew", 502, errors.TransientError),
        ("SomethingNew", 400, errors.DependencyError),
        ("SomethingNew", 0, errors.DependencyError),
    ],
)
def test_client_errors_become_project_exceptions(code, status, expected) -> None:
    # Given an AWS call that fails with a ClientError
    def call() -> None:
        with aws_errors("PutItem on idem"):
            raise client_error(code, status)

    # When it runs inside aws_errors / Then the project's exception is raised, with the operation and code
    with pytest.raises(errors.KeelError) as caught:
        call()
    assert type(caught.value) is expected
    assert str(caught.value) == f"PutItem on idem failed: {code}: it failed"
    assert isinstance(caught.value.__cause__, ClientError)


def test_throttling_is_retryable_and_named_for_asl() -> None:
    # Given the mapping for a throttle / Then it is a TransientError whose name the ASL retries on
    assert issubclass(error_for("ThrottlingException", 400), errors.TransientError)
    assert set(errors.RETRYABLE) == {errors.TransientError.__name__, errors.ThrottledError.__name__}


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://x"),
    ],
)
def test_network_failures_are_transient(failure) -> None:
    # Given a call that cannot reach AWS
    def call() -> None:
        with aws_errors("GetItem on idem"):
            raise failure

    # When it runs inside aws_errors / Then it is retryable
    with pytest.raises(errors.TransientError, match=f"GetItem on idem failed: {type(failure).__name__}"):
        call()


def test_errors_that_are_not_from_aws_pass_through() -> None:
    # Given a bug in our own code inside the block / When it raises / Then it is not disguised as an AWS error
    def call() -> None:
        with aws_errors("PutItem on idem"):
            raise KeyError("id")

    with pytest.raises(KeyError):
        call()


def test_claim_keys_need_both_parts() -> None:
    # Given an automation and an event id / Then the key joins them; without either it is refused
    assert claim_key("platform_heartbeat", "evt-1") == "claim#platform_heartbeat#evt-1"
    with pytest.raises(ValueError, match="needs both"):
        claim_key("platform_heartbeat", "")
    with pytest.raises(ValueError, match="needs both"):
        claim_key("", "evt-1")


class Nested(Model):
    count: int


class Sample(Model):
    when: datetime
    nested: Nested


def test_parse_names_every_bad_field_and_the_model() -> None:
    # Given input missing one field and with a wrong nested type
    from functions.shared.runtime.handler import parse

    # When it is parsed / Then InvalidInputError names the model and each field's dotted path
    with pytest.raises(errors.InvalidInputError) as caught:
        parse(Sample, {"nested": {"count": "three"}})
    message = str(caught.value)
    assert message.startswith("Sample: ")
    assert "when: Field required" in message
    assert "nested.count: Input should be a valid integer" in message


def test_parse_of_something_that_is_not_an_object_names_the_input() -> None:
    from functions.shared.runtime.handler import parse

    # Given a list where an object is expected / When parsed / Then the whole input is named
    with pytest.raises(errors.InvalidInputError, match=r"^Sample: \(input\): "):
        parse(Sample, ["not", "an", "object"])  # type: ignore[arg-type]


def test_parse_returns_the_model() -> None:
    from functions.shared.runtime.handler import parse

    # Given valid input / When parsed / Then the typed model comes back
    parsed = parse(Sample, {"when": "2026-11-22T09:00:00Z", "nested": {"count": 3}})
    assert parsed.nested.count == 3
    assert parsed.when.tzinfo is not None
