"""Seal an event's customer text: keep it in the confidential store, hand the workflow references.

Keel puts this module first after the claim in every confidential or restricted automation that
names `confidential_text` (infra/confidential_states.py). It returns the whole state it was given with
each named field of `$.detail` replaced by a reference, so no later state's input or output holds
the text. Its errors never quote the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from functions.shared.domain import confidential
from functions.shared.domain.context import TaskInput
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import Field


class SealInput(TaskInput):
    step: str = Field(min_length=1)
    # Dotted paths in the event's detail (manifest `confidential_text`), written by synth.
    fields: list[str] = Field(min_length=1)
    # The whole state: the event as EventBridge delivered it, and `keel`.
    state: dict[str, Any]


class Store(Protocol):
    def keep(self, key: str, texts: dict[str, str], expires_at: datetime) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    store: Store
    clock: Clock
    # How long the text is kept: the environment's confidential_retention_days.
    retention_days: int


def seal(task: SealInput, deps: Dependencies) -> dict[str, Any]:
    texts = confidential.texts_of(task.state.get("detail"), task.fields, at="state.detail")
    key = confidential.store_key(task.keel.automation, task.event_id)
    if texts:
        deps.store.keep(key, texts, deps.clock() + timedelta(days=deps.retention_days))
    return {**task.state, "detail": confidential.sealed(task.state["detail"], texts, key)}
