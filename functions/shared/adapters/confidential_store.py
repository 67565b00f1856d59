"""The platform's confidential store (`keel-<env>-confidential`, DynamoDB, encrypted with the platform
key): the customer text of confidential automations, kept by reference for the environment's
`confidential_retention_days`, and readable only by the modules whose function.yaml asks for
`confidential_read`.

One item per event: `{"id": "text#<automation>#<event id>", "texts": {field: text}, "expiration": epoch}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from functions.shared.domain import confidential
from functions.shared.runtime.errors import InvalidInputError, NotFoundError

# The TTL attribute of the table (infra/constructs/platform.py). DynamoDB "typically deletes expired items
# within two days of expiration" and returns them to reads until then
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html), so readers
# also refuse an item whose expiry has passed.
TTL_ATTRIBUTE = "expiration"


class Items(Protocol):
    def get(self, key: dict[str, Any]) -> dict[str, Any] | None: ...

    def put(self, values: dict[str, Any]) -> None: ...


class ConfidentialStore:
    def __init__(self, table: Items) -> None:
        self.table = table

    def keep(self, key: str, texts: dict[str, str], expires_at: datetime) -> None:
        """Store the texts under the key (a retried seal writes the same item again)."""
        self.table.put({"id": key, "texts": texts, TTL_ATTRIBUTE: int(expires_at.timestamp())})

    def revealed(self, detail: Any, automation: str, now: datetime, *, at: str = "detail") -> Any:
        """The detail with each reference replaced by its text, each checked against its digest.

        A reference to another automation's text, to text no longer kept, or to text whose digest differs
        is refused: the first two name the field, the last says the text or the reference was altered.
        """
        references = confidential.references_in(detail, at=at)
        items: dict[str, dict[str, Any]] = {}
        for path, reference in references.items():
            if not reference.sealed.startswith(confidential.store_key(automation, "")):
                raise InvalidInputError(f"{at}.{path}: a reference to another automation's confidential text")
            if reference.sealed not in items:
                items[reference.sealed] = self._item(reference.sealed, now, f"{at}.{path}")
            text = items[reference.sealed].get("texts", {}).get(reference.field)
            if not isinstance(text, str) or confidential.digest(text) != reference.sha256:
                raise InvalidInputError(
                    f"{at}.{path}: the stored text does not match the reference's sha256: the text or the reference was altered"
                )
            detail = confidential.write_field(detail, path, text)
        return detail

    def _item(self, key: str, now: datetime, where: str) -> dict[str, Any]:
        item = self.table.get({"id": key})
        if item is None or int(item.get(TTL_ATTRIBUTE, 0)) <= now.timestamp():
            raise NotFoundError(f"{where}: the confidential text is no longer kept (its retention has passed)")
        return item
