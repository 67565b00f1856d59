"""`keel ops review NAME [--since 30d]`: the periodic review of one automation (functions/shared/domain/review.py),
as the monthly review writes it for a team: KPIs and trend, incidents and pages, overrides and who made them,
guardrail refusals, rules and runbooks that never fired, drift signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from keel.ops.report import load_prices, parse_length, sources
from keel.ops.session import OpsInputError, OpsSession, aws_call

# The rule catalogs a module decides by: (module, catalog file, how to read its rule ids).
RUNBOOKS = Path("functions") / "match_runbook" / "runbooks.json"
TRIAGE_POLICY = Path("functions") / "triage_ticket" / "policy.json"


def known_rules(root: Path, automation: str) -> list[str] | None:
    """The rules and runbooks the automation's modules decide by, from the repository's catalogs; None for
    an automation that decides by no catalog (or is not in this repository's catalog)."""
    manifest = root / "automations" / f"{automation}.yaml"
    if not manifest.is_file():
        return None
    modules = set(yaml.safe_load(manifest.read_text()).get("functions", []))
    rules: list[str] = []
    if "match_runbook" in modules:
        rules += [entry["id"] for entry in json.loads((root / RUNBOOKS).read_text())["runbooks"]]
    if "triage_ticket" in modules:
        rules += [rule["name"] for rule in json.loads((root / TRIAGE_POLICY).read_text())["rules"]]
    return rules or None


def review(session: OpsSession, root: Path, automation: str, since: str, now: datetime | None = None) -> dict[str, Any]:
    from functions.shared.adapters.kpi_sources import collect
    from functions.shared.domain.kpis import period_ending
    from functions.shared.domain.review import Review

    period = period_ending(now or datetime.now(UTC), parse_length(since))
    read = sources(session)
    with aws_call(f"find {automation}"):
        owned = [item for item in read.owned(session.environment, None) if item.automation == automation]
    if not owned:
        known = ", ".join(sorted(session.state_machines)) or "none deployed"
        raise OpsInputError(f"unknown automation '{automation}' in environment '{session.environment}' (known: {known})")
    prices = load_prices(root)
    with aws_call(f"read the review of {automation} (metrics, decision record, alarm history)"):
        kpis = collect(read, owned, period, prices)
        changes = read.alarm_changes(owned, period)
    return Review(automation, period, kpis, changes, {automation: known_rules(root, automation)}).as_json()
