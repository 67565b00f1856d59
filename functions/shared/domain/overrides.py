"""Manual overrides: an operator switches an automation, or one of its runbooks, off without a deploy.

`keel ops disable|enable` writes them (operators, with their own credentials); check_guardrails reads
them before any action and can do nothing else with them. They live in a table of their own,
`keel-<env>-overrides` (pk `override#<automation>`, sk `automation` or `runbook#<id>`), apart from the
decision record: an override is changed at will, a decision never. Enabling keeps the item
(disabled=false) so the last change, who made it and why stay visible; the guardrail that an override
stops is recorded as a decision, with the override's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.runtime.contract import ConfigDict, Model
from functions.shared.runtime.errors import InvalidInputError

AUTOMATION_WIDE = "automation"


class Override(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    automation: str
    runbook: str | None
    disabled: bool
    changed_by: str
    changed_at: datetime
    reason: str

    @property
    def scope(self) -> str:
        return f"{self.automation} runbook {self.runbook}" if self.runbook else f"{self.automation} (every runbook)"


def _key(automation: str, runbook: str | None) -> dict[str, str]:
    return {"pk": f"override#{automation}", "sk": f"runbook#{runbook}" if runbook else AUTOMATION_WIDE}


class OverrideStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def set(self, override: Override) -> Override:
        if not override.reason.strip():
            raise InvalidInputError("disabling or enabling needs a reason")
        self.table.put({**_key(override.automation, override.runbook), **override.model_dump(mode="json")})
        return override

    def get(self, automation: str, runbook: str | None) -> Override | None:
        item = self.table.get(_key(automation, runbook))
        return None if item is None else _override(item)

    def disabling(self, automation: str, runbook: str) -> Override | None:
        """The override that stops this runbook now: the automation's first, then the runbook's."""
        for found in (self.get(automation, None), self.get(automation, runbook)):
            if found is not None and found.disabled:
                return found
        return None

    def of(self, automation: str) -> list[Override]:
        items = self.table.query("pk = :pk", {":pk": f"override#{automation}"})
        return [_override(item) for item in items]


def _override(item: dict[str, Any]) -> Override:
    return Override.model_validate({key: value for key, value in item.items() if key in Override.model_fields})
