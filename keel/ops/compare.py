"""`keel ops compare AUTOMATION`: where a candidate version, run in shadow, decided differently from the
live version, on the same events.

Both versions' decisions are in the automation's decision record: the live version's as usual, the
shadow run's marked `shadow` (infra/shadow.py). Per event, each side's decision is its first record
that is not a guardrail check (what the workflow decided to do: a plan, no runbook, a failure...), or
its last record when every one is a check (a guardrail refused). The two agree when their action,
rule and advice label agree (a rule without the catalog or policy version it names in parentheses: a
candidate that bumps its catalog would otherwise differ on every event); a shadow run is a dry run,
so its outcome (planned, never taken) is not compared. Events only the candidate saw (a live run
older than the decision record's reach, say) are listed apart and left out of the agreement rate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from functions.shared.domain.decisions import Decision, DecisionRecord
from keel.ops.session import OpsError, OpsSession, aws_call

CHECK_PREFIX = "guardrail:"
VERSION_SUFFIX = re.compile(r"\s*\([^()]*\)$")
COMPARED = ("action", "rule", "advice")


@dataclass(frozen=True)
class Side:
    version: str
    action: str
    rule: str | None
    advice: str | None
    outcome: str
    reason: str
    input_digest: str
    execution_arn: str

    @classmethod
    def of(cls, records: list[DecisionRecord]) -> Side:
        deciding = next((record for record in records if not record.decision.action.startswith(CHECK_PREFIX)), records[-1])
        decision: Decision = deciding.decision
        return cls(
            version=decision.automation_version,
            action=decision.action,
            rule=decision.rule,
            advice=decision.advice.label if decision.advice else None,
            outcome=decision.outcome,
            reason=decision.reason,
            input_digest=decision.input_digest,
            execution_arn=decision.execution_arn,
        )

    def key(self) -> tuple[str, str | None, str | None]:
        return self.action, None if self.rule is None else VERSION_SUFFIX.sub("", self.rule), self.advice


def compare(session: OpsSession, automation: str, version: str | None = None) -> dict[str, Any]:
    """Per event the candidate ran on: live and candidate decisions, whether they agree; the rate."""
    session.state_machine_arn(automation)
    with aws_call(f"read the decision record of {automation}"):
        records = list(session.decisions.chain(automation))
    shadow = [record for record in records if record.decision.shadow]
    candidates = sorted({record.decision.automation_version for record in shadow})
    if version is not None and version not in candidates:
        raise OpsError(
            f"no shadow decisions of {automation} {version} (shadow versions recorded: {', '.join(candidates) or 'none'})"
        )
    candidate = version or (candidates[-1] if candidates else None)
    live: dict[str, list[DecisionRecord]] = defaultdict(list)
    shadowed: dict[str, list[DecisionRecord]] = defaultdict(list)
    for record in records:
        if not record.decision.shadow:
            live[record.decision.event_id].append(record)
        elif record.decision.automation_version == candidate:
            shadowed[record.decision.event_id].append(record)
    events = [_row(event_id, live[event_id], shadowed[event_id]) for event_id in shadowed if event_id in live]
    agreed = sum(1 for row in events if row["agrees"])
    return {
        "automation": automation,
        "candidate": candidate,
        "events": events,
        "compared": len(events),
        "agreed": agreed,
        "agreement": round(agreed / len(events), 4) if events else None,
        "candidate_only": sorted(event_id for event_id in shadowed if event_id not in live),
    }


def _row(event_id: str, live: list[DecisionRecord], candidate: list[DecisionRecord]) -> dict[str, Any]:
    ours, theirs = Side.of(live), Side.of(candidate)
    differs = [field for field, mine, other in zip(COMPARED, ours.key(), theirs.key(), strict=True) if mine != other]
    return {
        "event_id": event_id,
        "agrees": not differs,
        "differs_in": differs,
        "live": vars(ours),
        "candidate": vars(theirs),
    }


def gate(result: dict[str, Any], min_agreement: float | None) -> tuple[bool, str | None]:
    """Whether promotion may go on: the agreement rate at least `min_agreement` over at least one event."""
    if min_agreement is None:
        return True, None
    if not 0 <= min_agreement <= 1:
        raise OpsError(f"--min-agreement {min_agreement} must be a rate from 0 to 1 (e.g. 0.95)")
    rate = result["agreement"]
    if rate is None:
        return False, f"no event was decided by both the live version and the candidate: nothing shows {min_agreement:.0%}"
    if rate < min_agreement:
        return False, f"agreement {rate:.1%} is below --min-agreement {min_agreement:.0%}"
    return True, None
