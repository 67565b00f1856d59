"""The Secrets Manager calls a rotation function makes on the one secret it rotates: its versions and
their staging labels (AWSCURRENT, AWSPENDING, AWSPREVIOUS), reading a version's value, adding the
pending one and moving AWSCURRENT to it.

What a rotation function is given and must do, step by step:
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
Values come back as `Secret` (functions/shared/adapters/secrets.py): hidden from repr() and str().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.adapters.secrets import Secret
from functions.shared.runtime.errors import ConfigurationError, NotFoundError

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"


@dataclass(frozen=True)
class Versions:
    rotation_enabled: bool
    stages: dict[str, list[str]]  # version id -> its staging labels

    def labelled(self, stage: str) -> str | None:
        """The version that holds `stage`, if any (a label is on one version at most)."""
        return next((version for version, stages in self.stages.items() if stage in stages), None)


class SecretVersions:
    def __init__(self, name: str, secretsmanager: Any | None = None) -> None:
        self._name = name
        self._secretsmanager = secretsmanager

    def _client(self) -> Any:
        return self._secretsmanager or client("secretsmanager")

    def versions(self, secret_id: str) -> Versions:
        with aws_errors(f"DescribeSecret of '{self._name}'"):
            described = self._client().describe_secret(SecretId=secret_id)
        return Versions(bool(described.get("RotationEnabled")), dict(described.get("VersionIdsToStages", {})))

    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> Secret | None:
        """The version's value, or None when it has none yet (the pending version before createSecret)."""
        arguments = {"SecretId": secret_id, "VersionStage": stage, **({"VersionId": version_id} if version_id else {})}
        try:
            with aws_errors(f"GetSecretValue of '{self._name}' ({stage})"):
                response = self._client().get_secret_value(**arguments)
        except NotFoundError:
            return None
        if "SecretString" not in response:
            raise ConfigurationError(f"secret '{self._name}' ({stage}) has no string value")
        return Secret(name=self._name, value=response["SecretString"])

    def put_pending(self, secret_id: str, token: str, value: str) -> None:
        with aws_errors(f"PutSecretValue of '{self._name}' ({PENDING})"):
            self._client().put_secret_value(
                SecretId=secret_id, ClientRequestToken=token, SecretString=value, VersionStages=[PENDING]
            )

    def make_current(self, secret_id: str, token: str, current: str) -> None:
        """AWSCURRENT moves to the new version; Secrets Manager puts AWSPREVIOUS on the one it leaves and takes
        AWSPENDING off the new one in the same call
        (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
        Where AWSPENDING stays (moto keeps it), it is taken off: a rotation is complete when AWSPENDING is on
        AWSCURRENT's version or on none, and the next RotateSecret expects one of those
        (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html)."""
        with aws_errors(f"UpdateSecretVersionStage of '{self._name}' ({CURRENT})"):
            self._client().update_secret_version_stage(
                SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
            )
        if PENDING in self.versions(secret_id).stages.get(token, []):
            with aws_errors(f"UpdateSecretVersionStage of '{self._name}' ({PENDING})"):
                self._client().update_secret_version_stage(SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token)
