"""One naming of AWS errors: every adapter's ClientError code becomes the same project exception.

A missing resource is NotFoundError whichever service says so (EC2's `InvalidInstanceID.NotFound`,
IAM's `NoSuchEntity`, ECS's `ServiceNotFoundException`, SQS's `AWS.SimpleQueueService.NonExistentQueue`,
DynamoDB's `ResourceNotFoundException`, SNS's `NotFound`), a throttle is ThrottledError, and so on:
the workflows' Retry and Catch, and the remediation modules' `not_found` outcome, match these names.

The codes come from AWS's error references, each service's own page:
  EC2 (client and server codes, `*.NotFound` and `*.Malformed` families, RequestLimitExceeded):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  IAM (NoSuchEntity, LimitExceeded, ServiceFailure) and the common errors of query APIs:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html#API_UpdateAccessKey_Errors
    https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
  ECS (ClusterNotFoundException, ServiceNotFoundException, ServiceNotActiveException, ServerException):
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html#API_UpdateService_Errors
  SQS (QueueDoesNotExist, answered as AWS.SimpleQueueService.NonExistentQueue to query-compatible clients):
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueUrl.html#API_GetQueueUrl_Errors
  DynamoDB (ResourceNotFoundException, ConditionalCheckFailedException, throttling codes):
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
  SNS (NotFound, AuthorizationError, Throttled): https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors
  Step Functions (ExecutionDoesNotExist): https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
The throttling and transient families also hold every code botocore's own retry logic treats as
such (botocore/retries/standard.py), so Keel never gives up on what the SDK would retry.
tests/functional/test_error_codes.py checks the table against the codes moto answers and the error
shapes of botocore's service models.
"""

from __future__ import annotations

from functions.shared.runtime.errors import (
    AccessDeniedError,
    ConflictError,
    DependencyError,
    InvalidInputError,
    KeelError,
    NotFoundError,
    ThrottledError,
    TransientError,
)

NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",  # DynamoDB, Secrets Manager, Lambda, CloudWatch Logs
        "ResourceNotFound",  # CloudWatch
        "NoSuchEntity",  # IAM
        "NotFound",  # SNS
        "NotFoundException",
        "ClusterNotFoundException",  # ECS
        "ServiceNotFoundException",  # ECS
        "ServiceNotActiveException",  # ECS: a deleted service stays INACTIVE for a while
        "NamespaceNotFoundException",  # ECS Service Connect's namespace
        "QueueDoesNotExist",  # SQS (JSON protocol)
        "AWS.SimpleQueueService.NonExistentQueue",  # SQS (query-compatible code)
        "ExecutionDoesNotExist",  # Step Functions
        "StateMachineDoesNotExist",  # Step Functions
        "TaskDoesNotExist",  # Step Functions (an answered or expired task token)
        "ParameterNotFound",  # SSM
        "NoSuchKey",  # S3
        "NoSuchBucket",  # S3
    }
)
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "Throttled",  # SNS
        "RequestThrottledException",
        "RequestThrottled",  # SQS
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",  # DynamoDB
        "RequestLimitExceeded",  # EC2, DynamoDB
        "TransactionInProgressException",  # DynamoDB
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",  # S3
        "EC2ThrottledException",
        "KMSThrottlingException",  # SNS, SQS, Lambda on the KMS key
        "KMSThrottling",
        "KmsThrottled",
    }
)
TRANSIENT = frozenset(
    {
        "InternalServerError",
        "InternalServerErrorException",
        "InternalFailure",
        "InternalError",  # EC2, SNS
        "InternalErrorException",
        "InternalServiceError",  # Secrets Manager
        "ServerException",  # ECS
        "ServiceFailure",  # IAM
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "ReplicatedWriteConflictException",  # DynamoDB global tables: retry
        "ConcurrentModification",  # IAM: retry
        "ConcurrentModificationException",
    }
)
ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",  # EC2
        "AuthorizationError",  # SNS
        "AuthFailure",  # EC2
        "KMSAccessDeniedException",
        "KMSAccessDenied",
        "KmsAccessDenied",
    }
)
CONFLICT = frozenset(
    {
        "ConditionalCheckFailedException",  # DynamoDB: a conditional write lost
        "TransactionConflictException",  # DynamoDB
        "ExecutionAlreadyExists",  # Step Functions
        "EntityAlreadyExists",  # IAM
        "IdempotentParameterMismatch",  # EC2
        "IdempotentParameterMismatchException",
    }
)
INVALID = frozenset(
    {
        "ValidationException",
        "ValidationError",  # IAM, CloudWatch
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "ParameterValueInvalid",  # SNS
        "InvalidParameterException",
        "InvalidParameter",  # SNS, EC2
        "InvalidParameterCombination",
        "MissingParameter",
        "InvalidInput",  # IAM
        "InvalidRequestException",
        "SerializationException",
        "InvalidAttributeName",  # SQS
        "InvalidAttributeValue",
        "InvalidMessageContents",
        "InvalidIdFormat",
        "ReceiptHandleIsInvalid",
    }
)
_BY_FAMILY: tuple[tuple[frozenset[str], type[KeelError]], ...] = (
    (NOT_FOUND, NotFoundError),
    (THROTTLED, ThrottledError),
    (TRANSIENT, TransientError),
    (ACCESS_DENIED, AccessDeniedError),
    (CONFLICT, ConflictError),
    (INVALID, InvalidInputError),
)
BY_CODE: dict[str, type[KeelError]] = {code: error for codes, error in _BY_FAMILY for code in codes}
# EC2 names its errors by resource: InvalidInstanceID.NotFound, InvalidVolume.NotFound,
# InvalidGroup.NotFound, InvalidSnapshot.NotFound...; InvalidInstanceID.Malformed for a bad id.
BY_SUFFIX: tuple[tuple[str, type[KeelError]], ...] = ((".NotFound", NotFoundError), (".Malformed", InvalidInputError))


def error_for(code: str, status: int) -> type[KeelError]:
    """The project's exception for an AWS error code (and its HTTP status when the code is not known)."""
    if code in BY_CODE:
        return BY_CODE[code]
    for suffix, error in BY_SUFFIX:
        if code.endswith(suffix):
            return error
    if status == 429:
        return ThrottledError
    return TransientError if status >= 500 else DependencyError
