"""boto3 clients built lazily and once, and ClientError turned into the project's exceptions
(named in one place: functions/shared/adapters/error_codes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from functions.shared.adapters.error_codes import error_for
from functions.shared.runtime.errors import TransientError


@cache
def client(service: str) -> Any:
    """One client per service per process (cold start), never at import time."""
    import boto3

    return boto3.client(service)


@contextmanager
def aws_errors(operation: str) -> Iterator[None]:
    """Run AWS calls, raising the project's exception for any ClientError, with the AWS code."""
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        message = error.response.get("Error", {}).get("Message", "")
        raise error_for(code, status)(f"{operation} failed: {code}: {message}") from error
    except (ConnectionError, ReadTimeoutError) as error:
        raise TransientError(f"{operation} failed: {type(error).__name__}") from error
