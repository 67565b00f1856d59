"""Rotate an external API's credential in Secrets Manager, through the API itself.

Secrets Manager invokes the rotation function once per step, each time with the secret, the new
version's id (ClientRequestToken) and the step; RotateSecret has already added that version, with the
AWSPENDING label and no value. The contract, and what each step is for:
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html

- createSecret: the API issues a new credential, asked for with the AWSCURRENT one; it becomes the
  AWSPENDING version's value. Both credentials are valid at the API from then on.
- setSecret: nothing left to do. For a database the function would set the new password on the
  server here; an API that issues credentials has already set the one it issued.
- testSecret: the API must accept the AWSPENDING credential, or the rotation stops and AWSCURRENT
  stays as it was.
- finishSecret: AWSCURRENT moves to the new version (the old one becomes AWSPREVIOUS), then the old
  credential is retired at the API: a function instance that cached it gets a 401, reads the secret
  again and sends once more (functions/call_api/logic.py).

Each step can run again (Secrets Manager retries a failed rotation): createSecret keeps a pending value
that is already there, finishSecret retires AWSPREVIOUS even when AWSCURRENT has already moved.
Nothing here logs or returns a credential: results name versions and steps only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from functions.shared.adapters.secret_versions import CURRENT, PENDING, PREVIOUS, Versions
from functions.shared.adapters.secrets import Secret
from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import ConfigurationError, DependencyError, InvalidInputError

Step = Literal["createSecret", "setSecret", "testSecret", "finishSecret"]


class RotationStep(Model):
    """What Secrets Manager sends the rotation function, once per step."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    step: Step = Field(alias="Step")
    secret_id: str = Field(alias="SecretId", min_length=1)
    token: str = Field(alias="ClientRequestToken", min_length=1)


class SecretStore(Protocol):
    def versions(self, secret_id: str) -> Versions: ...
    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> Secret | None: ...
    def put_pending(self, secret_id: str, token: str, value: str) -> None: ...
    def make_current(self, secret_id: str, token: str, current: str) -> None: ...


class Issuer(Protocol):
    def issue(self, current: Secret) -> dict[str, str]: ...
    def accepts(self, credential: Secret) -> bool: ...
    def retire(self, credential: Secret) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    # The one secret this function rotates (its name: keel/<env>/<secret>), and the API that issues it.
    secret_name: str
    store: SecretStore
    issuer: Issuer


def rotate(task: RotationStep, deps: Dependencies) -> dict[str, Any]:
    if not _is_secret(task.secret_id, deps.secret_name):
        raise InvalidInputError(f"this function rotates secret '{deps.secret_name}' only, not '{task.secret_id}'")
    versions = deps.store.versions(task.secret_id)
    if not versions.rotation_enabled:
        raise ConfigurationError(f"secret '{deps.secret_name}' is not enabled for rotation")
    stages = versions.stages.get(task.token)
    if stages is None:
        raise InvalidInputError(f"secret '{deps.secret_name}' has no version {task.token} to rotate to")
    if CURRENT in stages and task.step != "finishSecret":
        return _done(task, "already AWSCURRENT")
    if CURRENT not in stages and PENDING not in stages:
        raise InvalidInputError(f"version {task.token} of secret '{deps.secret_name}' is not AWSPENDING")
    if task.step == "createSecret":
        return _create(task, deps)
    if task.step == "setSecret":
        return _done(task, "the API set the credential it issued")
    if task.step == "testSecret":
        return _test(task, deps)
    return _finish(task, deps, versions)


def _create(task: RotationStep, deps: Dependencies) -> dict[str, Any]:
    current = _required(deps.store.value(task.secret_id, stage=CURRENT), deps.secret_name, CURRENT)
    if deps.store.value(task.secret_id, stage=PENDING, version_id=task.token) is not None:
        return _done(task, "pending value already created")
    issued = deps.issuer.issue(current)
    deps.store.put_pending(task.secret_id, task.token, json.dumps({**current.json(), **issued}, sort_keys=True))
    return _done(task, "pending value created")


def _test(task: RotationStep, deps: Dependencies) -> dict[str, Any]:
    pending = _required(deps.store.value(task.secret_id, stage=PENDING, version_id=task.token), deps.secret_name, PENDING)
    if not deps.issuer.accepts(pending):
        raise DependencyError(f"the API refuses the pending credential of secret '{deps.secret_name}'; AWSCURRENT is unchanged")
    return _done(task, "the API accepts the pending value")


def _finish(task: RotationStep, deps: Dependencies, versions: Versions) -> dict[str, Any]:
    current = versions.labelled(CURRENT)
    if current is None:
        raise ConfigurationError(f"secret '{deps.secret_name}' has no AWSCURRENT version")
    if current != task.token:
        deps.store.make_current(task.secret_id, task.token, current)
    previous = deps.store.value(task.secret_id, stage=PREVIOUS)
    if previous is not None:
        deps.issuer.retire(previous)
    return _done(task, "AWSCURRENT moved, previous credential retired" if previous else "AWSCURRENT moved")


def _required(secret: Secret | None, name: str, stage: str) -> Secret:
    if secret is None:
        raise ConfigurationError(f"secret '{name}' has no {stage} value")
    return secret


def _is_secret(secret_id: str, name: str) -> bool:
    """Secrets Manager passes the secret's ARN, whose name ends in a dash and six random characters."""
    if secret_id == name:
        return True
    resource = secret_id.split(":secret:", 1)[-1] if secret_id.startswith("arn:") else ""
    return resource[:-7] == name and resource[-7:-6] == "-"


def _done(task: RotationStep, outcome: str) -> dict[str, Any]:
    return {"step": task.step, "version": task.token, "outcome": outcome}
