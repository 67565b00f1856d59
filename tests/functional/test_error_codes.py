"""One naming of AWS errors across adapters: each service's real not-found code (as moto answers it)
is NotFoundError, and the error shapes botocore's service models declare for the operations the
adapters call land in the family their names say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker
from moto import mock_aws

from functions.shared.adapters import aws
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.error_codes import THROTTLED, TRANSIENT, error_for
from functions.shared.adapters.notify import Notifier
from functions.shared.adapters.resources import Alarms, Ec2Instances, EcsServices, IamKeys, SqsQueues
from functions.shared.adapters.secrets import SecretReader
from functions.shared.runtime import errors

REGION, ACCOUNT = "eu-west-1", "123456789012"
MISSING_QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/gone"


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        aws.client.cache_clear()
        boto3.client("ecs", region_name=REGION).create_cluster(clusterName="web")
        yield lambda service: boto3.client(service, region_name=REGION)
    aws.client.cache_clear()


# Each adapter call on something that does not exist, and the code the service answers (moto's, as AWS's).
MISSING: dict[str, Callable[[Callable[[str], Any]], object]] = {
    "ec2 InvalidInstanceID.NotFound": lambda c: Ec2Instances(c("ec2")).describe("i-0123456789abcdef0"),
    "ec2 reboot InvalidInstanceID.NotFound": lambda c: Ec2Instances(c("ec2")).reboot("i-0123456789abcdef0"),
    "ec2 InvalidVolume.NotFound": lambda c: Ec2Instances(c("ec2")).snapshot(
        "vol-0123456789abcdef0", "evidence", {"keel:remediation": "enabled"}
    ),
    "iam NoSuchEntity": lambda c: IamKeys(c("iam")).status("deleted-user", "AKIAQXAMPLE6KEEL7K3Y"),
    "iam update NoSuchEntity": lambda c: IamKeys(c("iam")).set_status("deleted-user", "AKIAQXAMPLE6KEEL7K3Y", "Inactive"),
    "ecs ClusterNotFoundException": lambda c: EcsServices(c("ecs")).describe("gone", "api"),
    "ecs ServiceNotFoundException": lambda c: EcsServices(c("ecs")).force_new_deployment("web", "gone"),
    "ecs no such service": lambda c: EcsServices(c("ecs")).describe("web", "gone"),
    "sqs NonExistentQueue (url)": lambda c: SqsQueues(c("sqs")).url("gone"),
    "sqs NonExistentQueue (depth)": lambda c: SqsQueues(c("sqs")).depth(MISSING_QUEUE),
    "dynamodb ResourceNotFoundException": lambda c: Table("gone", c("dynamodb")).get({"pk": "x"}),
    "sns NotFound": lambda c: Notifier(f'{{"team": "arn:aws:sns:{REGION}:{ACCOUNT}:gone"}}', c("sns")).publish("team", "s", "m"),
    "secretsmanager ResourceNotFoundException": lambda c: SecretReader('{"k": "keel/dev/gone"}', c("secretsmanager")).get("k"),
    "cloudwatch no such alarm": lambda c: Alarms(c("cloudwatch")).state("gone"),
}


@pytest.mark.parametrize("call", MISSING.values(), ids=MISSING.keys())
def test_every_service_says_not_found_the_same_way(clients: Callable[[str], Any], call: Callable[..., object]) -> None:
    # Given a resource that does not exist / When an adapter calls the service about it
    # Then the adapter raises NotFoundError, whatever the service's own code was
    with pytest.raises(errors.NotFoundError):
        call(clients)


# The AWS operations the adapters call, and the family a modeled error belongs to by its name.
OPERATIONS = {
    "ecs": ["DescribeServices", "UpdateService"],
    "sqs": ["GetQueueUrl", "GetQueueAttributes", "ListDeadLetterSourceQueues", "ReceiveMessage", "SendMessage", "DeleteMessage"],
    "iam": ["ListAccessKeys", "UpdateAccessKey"],
    "dynamodb": ["GetItem", "PutItem", "Query", "TransactWriteItems"],
    "sns": ["Publish"],
    "secretsmanager": ["GetSecretValue"],
    "stepfunctions": ["SendTaskSuccess", "SendTaskFailure", "DescribeExecution"],
}
FAMILIES: list[tuple[tuple[str, ...], type[errors.KeelError]]] = [
    (("NotFound", "DoesNotExist", "NoSuchEntity", "NonExistent"), errors.NotFoundError),
    (("Throttl", "RequestLimitExceeded", "ProvisionedThroughputExceeded"), errors.ThrottledError),
    (("AccessDenied", "AuthorizationError"), errors.AccessDeniedError),
    (("ConditionalCheckFailed",), errors.ConflictError),
    (
        ("InternalServerError", "InternalError", "ServiceFailure", "ServerException", "InternalServiceError"),
        errors.TransientError,
    ),
]


def modeled_codes() -> Iterator[tuple[str, str]]:
    session = botocore.session.get_session()
    for service, operations in OPERATIONS.items():
        model = session.get_service_model(service)
        for operation in operations:
            for shape in model.operation_model(operation).error_shapes:
                # Query APIs (IAM, SNS) answer with the shape's `error.code`, JSON APIs with its name.
                wire = shape.metadata.get("error", {}).get("code") or shape.name
                codes = {wire, shape.metadata.get("awsQueryError", {}).get("code")}
                # A KMS key the queue or topic uses is configuration, not the resource acted on.
                yield from ((f"{service}:{operation}", code) for code in codes if code and not code.startswith(("KMS", "Kms")))


def test_the_modeled_errors_of_every_adapter_operation_are_named_by_family() -> None:
    # Given the error shapes botocore's models declare for the operations the adapters call
    named = [
        (where, code, family)
        for where, code in modeled_codes()
        for words, family in FAMILIES
        if any(word in code for word in words)
    ]
    assert len(named) > 20

    # When each code is named / Then it is its family's exception (not DependencyError, not a neighbour's)
    wrong = [
        (where, code, error_for(code, 400).__name__, family.__name__)
        for where, code, family in named
        if error_for(code, 400) is not family
    ]
    assert wrong == []


def test_whatever_botocore_retries_keel_retries() -> None:
    # Given the codes botocore's standard retry mode treats as throttles or transient errors
    # When Keel names them / Then each is ThrottledError or TransientError (both retried by the workflows)
    codes = set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) | set(TransientRetryableChecker._TRANSIENT_ERROR_CODES)
    assert codes <= THROTTLED | TRANSIENT
    assert all(issubclass(error_for(code, 400), errors.TransientError) for code in codes)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("InvalidSnapshot.NotFound", 400, errors.NotFoundError),
        ("InvalidGroup.NotFound", 400, errors.NotFoundError),
        ("InvalidInstanceID.Malformed", 400, errors.InvalidInputError),
        ("UnauthorizedOperation", 403, errors.AccessDeniedError),
        ("SomethingNew", 429, errors.ThrottledError),
        ("SomethingNew", 503, errors.TransientError),
        ("SomethingNew", 400, errors.DependencyError),
    ],
)
def test_codes_not_in_the_table_are_named_by_their_family_or_status(code: str, status: int, expected: type) -> None:
    # Given a code by EC2's naming scheme, or an unknown code / When named / Then by suffix, then HTTP status
    assert error_for(code, status) is expected
