"""Where every event of a soak ended, read from the local cloud's own state, and the zeros that must hold.

Endings come from Step Functions (each execution's status, output or error), from EventBridge's
dead letters (and the messages in the dead-letter queues), and from the decision log; limits from
the limits table's stream (every write to it, in order). Nothing is taken from the harness's own
bookkeeping except what it delivered.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from functions.shared.domain.decisions import DecisionRecord
from keel.bench.limit_stream import most_holders

REQUEST_ID = re.compile(r"RequestId: [0-9a-f-]+ ")


@dataclass
class Accounting:
    delivered: Counter[str] = field(default_factory=Counter)  # deliveries by kind
    succeeded: Counter[str] = field(default_factory=Counter)  # by outcome
    failed: Counter[str] = field(default_factory=Counter)  # by error: cause
    dead_lettered: Counter[str] = field(default_factory=Counter)  # by error code and retry condition
    dead_letter_messages: int = 0
    lost: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    duplicate_side_effects: list[str] = field(default_factory=list)
    limit_violations: list[str] = field(default_factory=list)
    broken_chains: list[str] = field(default_factory=list)

    @property
    def zeros(self) -> dict[str, int]:
        """What must be zero after a soak."""
        return {
            "lost": len(self.lost),
            "left RUNNING": len(self.running),
            "duplicate side effects": len(self.duplicate_side_effects),
            "limit violations": len(self.limit_violations),
            "broken decision chains": len(self.broken_chains),
        }

    @property
    def ok(self) -> bool:
        return not any(self.zeros.values())

    def problems(self) -> list[str]:
        return self.lost + self.running + self.duplicate_side_effects + self.limit_violations + self.broken_chains


def ending_of(status: str, output: Any, error: str | None, cause: str | None) -> tuple[str, str]:
    """("succeeded", outcome) or ("failed", "error: cause") of one execution; ("running", "") if not ended."""
    if status == "SUCCEEDED":
        if not isinstance(output, dict):
            return "succeeded", "completed"
        # The prologue's answer to a second delivery of a claimed event (infra/asl.py).
        if output.get("duplicate") is True:
            return "succeeded", "duplicate"
        return "succeeded", str(output.get("outcome") or "completed")
    if status == "RUNNING":
        return "running", ""
    return "failed", f"{status} {error}: {_message(cause)}"


def _message(cause: str | None) -> str:
    """A Lambda error's message (its cause is the error as JSON), cut to one short line."""
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        parsed = cause
    message = parsed.get("errorMessage", cause) if isinstance(parsed, dict) else parsed
    if not message:
        return "no cause given"
    # Lambda's timeout message names its request: the same failure, grouped as one reason.
    return REQUEST_ID.sub("", str(message)).splitlines()[0][:100]


def cooldowns(root: Path) -> dict[str, timedelta]:
    """Each runbook's cooldown (functions/match_runbook/runbooks.json), by runbook id."""
    catalog = json.loads((root / "functions" / "match_runbook" / "runbooks.json").read_text())
    return {runbook["id"]: timedelta(minutes=runbook["cooldown_minutes"]) for runbook in catalog["runbooks"]}


def concurrency_limits(root: Path) -> dict[str, int]:
    """`limits.concurrency.max` of each automation that has one, by its pool's key."""
    limits = {}
    for manifest in sorted((root / "automations").glob("*.yaml")):
        body = yaml.safe_load(manifest.read_text())
        concurrency = (body.get("limits") or {}).get("concurrency")
        if concurrency:
            limits[f"concurrency#{body['name']}"] = int(concurrency["max"])
    return limits


def acted_twice(records: list[DecisionRecord], cooldown: dict[str, timedelta]) -> list[str]:
    """An event whose actions were taken by more than one execution; a resource acted on again inside
    its runbook's cooldown by another execution."""
    taken = [record.decision for record in records if record.decision.outcome == "taken" and not record.decision.dry_run]
    found = []
    by_event: dict[str, set[str]] = defaultdict(set)
    for decision in taken:
        by_event[decision.event_id].add(decision.execution_arn)
    found += [f"event {event} acted in {len(arns)} executions" for event, arns in by_event.items() if len(arns) > 1]
    at = {id(record.decision): datetime.fromisoformat(record.recorded_at) for record in records}
    by_resource: dict[str, list[Any]] = defaultdict(list)
    for decision in taken:
        if decision.resource and decision.rule in cooldown:
            by_resource[decision.resource].append(decision)
    for resource, decisions in by_resource.items():
        decisions.sort(key=lambda decision: at[id(decision)])
        for before, after in itertools.pairwise(decisions):
            gap = at[id(after)] - at[id(before)]
            if after.execution_arn != before.execution_arn and gap < cooldown[after.rule]:
                found.append(f"{resource} acted on again {gap} after the last action, inside its {cooldown[after.rule]} cooldown")
    return found


def slot_holders(writes: list[dict[str, Any]], prefix: str) -> set[str]:
    """Every execution that took a slot of a pool whose key starts with `prefix`."""
    holders = set()
    for record in writes:
        change = record["dynamodb"]
        holder = change.get("NewImage", {}).get("holder", {}).get("S")
        if change["Keys"]["pk"]["S"].startswith(prefix) and holder is not None:
            holders.add(holder)
    return holders


def limit_violations(
    writes: list[dict[str, Any]], limits: dict[str, int], records: list[DecisionRecord], runbooks: set[str]
) -> list[str]:
    """More executions in an acting section than its concurrency allows; an action taken by an execution
    that held no blast-radius slot of its automation."""
    found = []
    for pool, size in limits.items():
        most = most_holders(writes, pool)
        if most > size:
            found.append(f"{pool}: {most} executions held its {size} slots at once")
    holders = slot_holders(writes, "blast#")
    for record in records:
        decision = record.decision
        if (
            decision.outcome == "taken"
            and not decision.dry_run
            and decision.rule in runbooks
            and decision.execution_arn not in holders
        ):
            found.append(f"{decision.execution_arn} took {decision.action} without an action slot")
    return found
