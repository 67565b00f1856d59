"""An external API's own credential endpoint, as a rotation uses it (config/environments.yaml
`apis.<api>.rotation.path`):

    POST   {path}  with the current credential  -> 200 or 201, a JSON object with the new credential's fields
    GET    {path}  with a credential            -> 2xx when the API accepts it
    DELETE {path}  with a credential            -> 2xx once it is retired (401: it already was)

Each call goes through the platform's client (functions/shared/adapters/http_api.py: TLS only, explicit
timeouts) with the one credential it is about, never the cached AWSCURRENT. Messages carry statuses,
never a body: an answer to POST {path} is a credential.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.shared.adapters.http_api import ApiRequest, ApiResponse, ApiSettings, HttpApi
from functions.shared.adapters.secrets import GivenSecret, Secret
from functions.shared.runtime.errors import DependencyError, TransientError

# The fields a new credential brings, by auth kind: a basic credential keeps its user name, its password changes.
ISSUED_FIELDS = {"api_key": ("api_key",), "basic": ("password",)}


@dataclass(frozen=True)
class CredentialIssuer:
    name: str
    settings: ApiSettings
    path: str
    ca_bundle: str | None = None

    def issue(self, current: Secret) -> dict[str, str]:
        """A new credential's fields, asked for with the current one (both are valid until one is retired)."""
        answer = self._send("POST", current)
        fields = ISSUED_FIELDS[self.settings.auth]
        if answer.status not in (200, 201):
            raise self._failed("POST", answer.status, "did not issue a new credential")
        body = answer.body
        if not isinstance(body, dict) or not all(isinstance(body.get(name), str) and body[name] for name in fields):
            raise DependencyError(f"API '{self.name}': POST {self.path} answered without {', '.join(fields)} (strings)")
        return {name: body[name] for name in fields}

    def accepts(self, credential: Secret) -> bool:
        status = self._send("GET", credential).status
        if status >= 500:
            raise self._failed("GET", status, "could not check a credential")
        return 200 <= status < 300

    def retire(self, credential: Secret) -> None:
        status = self._send("DELETE", credential).status
        if status == 401 or 200 <= status < 300:  # 401: no longer accepted, which is what retiring is for
            return
        raise self._failed("DELETE", status, "did not retire the previous credential")

    def _send(self, method: str, credential: Secret) -> ApiResponse:
        # Under the name the client asks for (the catalog's), whatever version of the secret it is.
        given = GivenSecret(Secret(name=self.settings.secret, value=credential.value))
        api = HttpApi(self.name, self.settings, given, ca_bundle=self.ca_bundle)
        return api.send(ApiRequest(method, self.path))

    def _failed(self, method: str, status: int, what: str) -> Exception:
        message = f"API '{self.name}' {what} ({method} {self.path}: {status})"
        return TransientError(message) if status == 429 or status >= 500 else DependencyError(message)
