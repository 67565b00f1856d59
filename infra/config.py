"""The typed environment table (config/environments.yaml), validated at synth.

Nothing here calls AWS: accounts and regions are data, resolved by CloudFormation at deploy.
"""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infra.errors import KeelConfigError, from_validation_error

NAME = r"^[a-z][a-z0-9-]{1,62}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Risk(IntEnum):
    low = 1
    medium = 2
    high = 3
    critical = 4


class Subscription(Strict):
    protocol: Literal["email", "https", "sqs", "lambda"]
    endpoint: str

    @model_validator(mode="after")
    def _endpoint_matches_protocol(self) -> Subscription:
        if self.protocol == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.endpoint):
            raise ValueError(f"'{self.endpoint}' is not an email address")
        if self.protocol == "https" and not self.endpoint.startswith("https://"):
            raise ValueError(f"'{self.endpoint}' must start with https://")
        if self.protocol in ("sqs", "lambda") and not self.endpoint.startswith("arn:"):
            raise ValueError(f"'{self.endpoint}' must be an ARN")
        return self


class OnCallRoute(Strict):
    subscriptions: list[Subscription] = Field(min_length=1)


class ApprovalPolicy(Strict):
    required_from_risk: Literal["never", "low", "medium", "high", "critical"]
    timeout_minutes: int = Field(ge=1, le=7 * 24 * 60)

    def requires_approval(self, risk: str) -> bool:
        if self.required_from_risk == "never":
            return False
        return Risk[risk] >= Risk[self.required_from_risk]


class AlarmThresholds(Strict):
    period_minutes: int = Field(ge=1, le=60)
    evaluation_periods: int = Field(ge=1, le=24)
    failed_executions: int = Field(ge=1)
    lambda_errors: int = Field(ge=1)
    lambda_throttles: int = Field(ge=1)
    dlq_messages: int = Field(ge=1)


class SecretSpec(Strict):
    description: str = Field(min_length=1)
    # A rotation function's ARN, when the credential's issuer lets us rotate it ourselves.
    rotation_lambda_arn: str | None = None
    rotation_days: int = Field(default=30, ge=1, le=365)


# The auth kinds whose credential an API can issue and retire through the calls ApiRotation names.
ROTATABLE_AUTH = ("api_key", "basic")


class ApiAuth(Strict):
    # api_key: the secret's `api_key` in `header`; basic: its `username` and `password`;
    # oauth_client_credentials: its `client_id` and `client_secret` exchanged at `token_path` for a bearer token.
    kind: Literal["api_key", "basic", "oauth_client_credentials"]
    secret: str = Field(pattern=NAME)
    header: str = Field(default="X-Api-Key", pattern=r"^[A-Za-z0-9-]{1,64}$")
    token_path: str = Field(default="/oauth/token", pattern=r"^/[\x21-\x7e]*$")


class ApiBreaker(Strict):
    # Consecutive failed calls (5xx, timeouts) that open the breaker; open, calls stop for cooloff_seconds,
    # then one probe decides whether it closes again.
    failures: int = Field(default=5, ge=1, le=100)
    cooloff_seconds: int = Field(default=30, ge=1, le=3600)


class ApiRotation(Strict):
    """Keel rotates the API's credential itself (functions/rotate_api_credential): every `every_days`
    Secrets Manager runs the rotation function, which asks the API at `path` for a new credential (POST,
    with the current one), checks the new one there (GET), makes it AWSCURRENT and retires the old one
    (DELETE, with the old one)."""

    # Secrets Manager's RotationRules.AutomaticallyAfterDays: 1 to 1000 days
    # (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html).
    every_days: int = Field(ge=1, le=1000)
    path: str = Field(pattern=r"^/[A-Za-z0-9._~/-]*$")


class ApiSpec(Strict):
    """An HTTPS API outside AWS that automations call through the platform's client
    (functions/shared/adapters/http_api.py)."""

    description: str = Field(min_length=1)
    base_url: str = Field(pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$")
    auth: ApiAuth
    # The automations whose functions may call it; any other is refused at synth.
    automations: list[str] = Field(min_length=1)
    connect_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    read_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Calls per second across every execution and Lambda instance (the limits table decides).
    rate_limit_per_second: int = Field(default=10, ge=1, le=1000)
    breaker: ApiBreaker = Field(default_factory=ApiBreaker)
    # How long an execution waits, in all, for Retry-After and an open breaker before it gives up.
    max_wait_seconds: int = Field(default=300, ge=0, le=86_400)
    # Rotation of the credential by Keel, through the API itself; without it the issuer rotates it.
    rotation: ApiRotation | None = None

    @model_validator(mode="after")
    def _rotation_fits_auth(self) -> ApiSpec:
        # An OAuth client's secret is replaced at the provider's console or its own API, not by a token request.
        if self.rotation is not None and self.auth.kind not in ROTATABLE_AUTH:
            rotatable = ", ".join(ROTATABLE_AUTH)
            raise ValueError(f"rotation: auth kind '{self.auth.kind}' cannot be rotated by Keel (only {rotatable})")
        return self

    @field_validator("base_url", mode="before")
    @classmethod
    def _tls_only(cls, value: object) -> object:
        if isinstance(value, str) and not value.startswith("https://"):
            raise ValueError(f"'{value}' must start with https:// (Keel calls APIs over TLS only)")
        return value


class Environment(Strict):
    name: str = Field(pattern=NAME)
    account: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]
    # How long the confidential store keeps a confidential automation's customer text (DynamoDB TTL):
    # at least as long as its workflows run, since their modules read it by reference until they end.
    confidential_retention_days: int = Field(default=7, ge=1, le=365)
    approval: ApprovalPolicy
    alarms: AlarmThresholds
    platform_oncall: str
    oncall_routes: dict[str, OnCallRoute] = Field(min_length=1)
    secrets: dict[str, SecretSpec] = Field(default_factory=dict)
    # HTTPS APIs outside AWS, by name (see ApiSpec); each one's credential is a secret of `secrets`.
    apis: dict[str, ApiSpec] = Field(default_factory=dict)
    # Days each decision record's anchored copy is kept under S3 Object Lock in compliance mode: before
    # then no one, the account's root user included, can delete or overwrite it. The default, 184 days,
    # is six months whichever six they are: the EU AI Act has logs of high-risk AI systems kept "for a
    # period appropriate to the intended purpose ... of at least six months" (Regulation (EU) 2024/1689,
    # article 19(1) for providers and 26(6) for deployers, of the logs article 12 requires;
    # https://eur-lex.europa.eu/eli/reg/2024/1689/oj). At most ten years: compliance mode cannot be
    # undone, so a mistyped figure would lock the copies (and their bucket) for as long as it says.
    decision_anchor_retention_days: int = Field(default=184, ge=1, le=3653)

    @field_validator("oncall_routes", "secrets", "apis")
    @classmethod
    def _names_are_slugs(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            if not re.fullmatch(NAME, key):
                raise ValueError(f"'{key}' must be lower-case letters, digits and dashes")
        return value

    @model_validator(mode="after")
    def _platform_route_exists(self) -> Environment:
        if self.platform_oncall not in self.oncall_routes:
            raise ValueError(f"platform_oncall '{self.platform_oncall}' is not one of oncall_routes")
        return self

    @model_validator(mode="after")
    def _api_secrets_exist(self) -> Environment:
        for name, api in self.apis.items():
            if api.auth.secret not in self.secrets:
                known = ", ".join(sorted(self.secrets)) or "none"
                raise ValueError(f"apis.{name}.auth.secret: '{api.auth.secret}' is not one of secrets (known: {known})")
        return self

    @model_validator(mode="after")
    def _one_rotation_per_secret(self) -> Environment:
        rotators: dict[str, str] = {}
        for name, api in sorted(self.apis.items()):
            if api.rotation is None:
                continue
            secret = api.auth.secret
            spec = self.secrets.get(secret)
            if spec is not None and spec.rotation_lambda_arn:
                raise ValueError(
                    f"apis.{name}.rotation: secret '{secret}' already names a rotation_lambda_arn; keep one of the two"
                )
            if secret in rotators:
                raise ValueError(f"apis.{name}.rotation: secret '{secret}' is already rotated through apis.{rotators[secret]}")
            rotators[secret] = name
        return self

    def rotated_apis(self) -> dict[str, ApiSpec]:
        """The APIs whose credential Keel rotates, by name."""
        return {name: api for name, api in sorted(self.apis.items()) if api.rotation is not None}


class EnvironmentTable(Strict):
    environments: dict[str, Environment] = Field(min_length=1)

    def get(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments))
            raise KeelConfigError(
                "config/environments.yaml", "environments", f"no environment '{name}' (known: {known})"
            ) from None


def load_environments(path: Path) -> EnvironmentTable:
    """Read and validate the environment table; each entry's key becomes its name."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise KeelConfigError(path, "(document)", f"cannot read YAML: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("environments"), dict):
        raise KeelConfigError(path, "environments", "expected a mapping of environment name to settings")
    named = {key: {**(value or {}), "name": key} for key, value in raw["environments"].items()}
    try:
        return EnvironmentTable(environments=named)
    except ValidationError as error:
        raise from_validation_error(path, error) from error
