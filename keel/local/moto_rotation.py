"""Secrets Manager rotation in the local cloud: moto's RotateSecret, made to end as AWS's does.

moto 5.2.5's SecretsManagerBackend.rotate_secret adds the AWSPENDING version and invokes the rotation
function for createSecret, setSecret, testSecret and finishSecret, as Secrets Manager does. Two things
differ from AWS, and are patched here (moto==5.2.5, keel/local/moto_patches.py lists the point):

- A step that fails does not stop it: moto goes on to the next steps and then makes the new version,
  empty if createSecret failed, the default one. On AWS a failed step ends the rotation: AWSCURRENT stays
  where it was and AWSPENDING on the new, maybe empty, version
  (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
- Called without RotationLambdaARN (a scheduled rotation, or `aws secretsmanager rotate-secret
  --secret-id ...`), moto forgets the function the secret's schedule names and makes the empty pending
  version current; AWS rotates with the function already configured.

Each rotation that ends, done or failed, is reported to the local cloud (`Rotation`), with the step that
failed and the function's error type and message (never a value: the rotation function logs none).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

ROTATE_SECRET = ("moto.secretsmanager.models", "SecretsManagerBackend", "rotate_secret")
_ROTATING: ContextVar[str | None] = ContextVar("keel_rotating", default=None)


@dataclass(frozen=True)
class Rotation:
    secret: str  # the secret's name
    version: str | None  # the version it rotated to (AWSCURRENT when done)
    at: float  # world time it ended
    failed_step: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.failed_step is None


class RotationHooks(Protocol):
    def rotation_ended(self, rotation: Rotation) -> None: ...


class StepFailed(Exception):
    def __init__(self, step: str, payload: str) -> None:
        super().__init__(step)
        self.step = step
        try:
            answer = json.loads(payload)
        except (TypeError, ValueError):
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        self.error = f"{answer.get('errorType', 'Error')}: {answer.get('errorMessage', '')}".strip()


def check_step(event: Any, payload: str, errored: bool, logs: str) -> tuple[str, bool, str]:
    """After a Lambda invocation, its result: a rotation step that failed ends the rotation under way (if any)."""
    if not errored or _ROTATING.get() is None:
        return payload, errored, logs
    try:
        step = str(json.loads(event).get("Step", "?")) if isinstance(event, str | bytes) else str(event.get("Step", "?"))
    except (ValueError, AttributeError):
        step = "?"
    raise StepFailed(step, payload)


def rotating(original: Callable[..., str], hooks: RotationHooks, exceptions: Any) -> Callable[..., str]:
    """SecretsManagerBackend.rotate_secret: with the configured function, stopping at a failed step."""

    def rotate_secret(
        backend: Any,
        secret_id: str,
        *,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        secret = backend.describe_secret(secret_id)  # raises moto's ResourceNotFoundException for an unknown one
        function = rotation_lambda_arn or getattr(secret, "rotation_lambda_arn", "") or None
        if function is None:
            raise exceptions.InvalidRequestException(f"secret {secret.name} has no rotation function: it cannot be rotated")
        reset = _ROTATING.set(secret.name)
        try:
            result = original(
                backend,
                secret_id,
                client_request_token=client_request_token,
                rotation_lambda_arn=function,
                rotation_rules=rotation_rules,
                rotate_immediately=rotate_immediately,
            )
        except StepFailed as failed:
            pending = next((v for v, data in secret.versions.items() if "AWSPENDING" in data["version_stages"]), None)
            hooks.rotation_ended(Rotation(secret.name, pending, 0.0, failed.step, failed.error))
            return str(secret.to_short_dict(version_id=pending))
        finally:
            _ROTATING.reset(reset)
        hooks.rotation_ended(Rotation(secret.name, json.loads(result).get("VersionId"), 0.0))
        return result

    return rotate_secret


def configure_schedule(backend: Any, secret_id: str, function_arn: str, days: int) -> None:
    """What a RotationSchedule leaves on its secret (DescribeSecret: RotationEnabled, RotationLambdaARN,
    RotationRules), without rotating: RotateImmediatelyOnUpdate false."""
    secret = backend.describe_secret(secret_id)
    secret.rotation_lambda_arn = function_arn
    secret.auto_rotate_after_days = days
    secret.rotation_enabled = True
