"""Lambda entry point for rotate_api_credential: Secrets Manager's rotation steps for one API's credential."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.rotate_api_credential import logic
from functions.shared.adapters.credential_issuer import CredentialIssuer
from functions.shared.adapters.http_api import api_catalog
from functions.shared.adapters.secret_versions import SecretVersions
from functions.shared.runtime.errors import ConfigurationError
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import ApiClientSettings, settings_reader


class Settings(ApiClientSettings):
    # The one API (KEEL_APIS holds it alone), the secret it rotates (keel/<env>/<secret>), and its credential path.
    keel_rotation_api: str
    keel_rotated_secret: str
    keel_rotation_path: str


settings = settings_reader(Settings)


@cache
def dependencies() -> logic.Dependencies:
    config = settings()
    apis = api_catalog(config.keel_apis, config.keel_api_endpoints)
    if config.keel_rotation_api not in apis:
        raise ConfigurationError(f"KEEL_ROTATION_API: '{config.keel_rotation_api}' is not in KEEL_APIS")
    issuer = CredentialIssuer(
        config.keel_rotation_api, apis[config.keel_rotation_api], config.keel_rotation_path, config.keel_api_ca_bundle
    )
    secret = config.keel_rotated_secret
    return logic.Dependencies(secret_name=secret, store=SecretVersions(secret), issuer=issuer)


@task_handler(logic.RotationStep)
def lambda_handler(step: logic.RotationStep, _context: Any) -> dict[str, Any]:
    return logic.rotate(step, dependencies())
