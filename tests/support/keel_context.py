"""The `$.keel` context a workflow's prologue hands its tasks, for tests: one base, each test's changes on top."""

from __future__ import annotations

import copy
from typing import Any

BASE: dict[str, Any] = {
    "automation": "platform_heartbeat",
    "version": "1.0.0",
    "environment": "dev",
    "region": "eu-west-1",
    "owner": "platform-team",
    "data_classification": "internal",
    "dry_run": False,
    "approval_required": None,
    "approval_from_risk": "never",
    "approval_timeout_seconds": 3600,
    "oncall": "platform-oncall",
    "escalation": "platform-oncall",
    "approvers": ["platform-oncall"],
    "definition_hash": "sha256:0000",
    "limits": {"max_concurrency": 1, "max_actions_per_window": 20, "window_minutes": 60},
}


def keel_fields(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the base context with `changes` applied (top-level fields)."""
    return copy.deepcopy(BASE) | changes
