"""The project's own exceptions. Their class names are the error names ASL Retry/Catch match on.

Lambda reports an unhandled exception's class name as the error type, so renaming one of these is a
breaking change for every state machine that matches it.
"""

from __future__ import annotations


class KeelError(Exception):
    """Base class: an error the platform understands."""


class TransientError(KeelError):
    """A dependency failed in a way that may succeed on retry (5xx, timeouts)."""


class ThrottledError(TransientError):
    """A dependency throttled us; retried with backoff, never fatal on its own."""


class NotFoundError(KeelError):
    """The resource the task acts on does not exist."""


class ConflictError(KeelError):
    """A conditional write lost: someone else already did this (claims, idempotent writes)."""


class ConcurrencyLimitReached(KeelError):
    """Every slot of an automation's concurrency limit is held: the workflow waits (its Retry backs off on
    this name) and, once the wait it declared is spent, ends with a recorded reason and a page."""


class AccessDeniedError(KeelError):
    """Our role may not do this: a deployment or permission bug, not retried."""


class InvalidInputError(KeelError):
    """The task's input does not match its contract; retrying the same input cannot help."""


class ConfigurationError(KeelError):
    """The function's environment is incomplete or wrong (missing variable, bad value)."""


class DependencyError(KeelError):
    """A dependency rejected the request for a reason that is neither transient nor ours to fix."""


# Errors ASL definitions should retry with backoff and jitter.
RETRYABLE = ("TransientError", "ThrottledError")
