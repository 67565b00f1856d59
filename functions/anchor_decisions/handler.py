"""Lambda entry point for anchor_decisions: the decisions table's stream, in batches."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.anchor_decisions import logic
from functions.shared.adapters.anchor_bucket import AnchorBucket
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import FunctionSettings, settings_reader


class AnchorSettings(FunctionSettings):
    # The bucket with Object Lock (compliance mode) the platform stack creates.
    keel_anchor_bucket: str


settings = settings_reader(AnchorSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(anchor=AnchorBucket(settings().keel_anchor_bucket))


@task_handler(logic.StreamBatch)
def lambda_handler(batch: logic.StreamBatch, _context: Any) -> dict[str, Any]:
    return logic.anchor_batch(batch, dependencies())
