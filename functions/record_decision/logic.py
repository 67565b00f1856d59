"""Record a decision made in a workflow (a Choice, an approval, an escalation) on the chain."""

from __future__ import annotations

from typing import Any, Protocol

from functions.shared.decisions import Advice, Decision, DecisionRecord, Outcome, decision_in, digest
from functions.shared.models import KeelContext


class Recorder(Protocol):
    def record(self, decision: Decision) -> DecisionRecord: ...


def record_decision(
    *,
    keel: KeelContext,
    event_id: str,
    execution: str,
    step: str,
    action: str,
    outcome: Outcome,
    reason: str,
    rule: str | None,
    resource: str | None,
    trigger: str | None,
    evidence: Any,
    versions: dict[str, str],
    advice: Advice | None,
    approved_by: str | None,
    approval_id: str | None,
    details: dict[str, Any],
    code_version: str,
    log: Recorder,
) -> DecisionRecord:
    decision = decision_in(
        keel,
        event_id=event_id,
        execution_arn=execution,
        step=step,
        action=action,
        outcome=outcome,
        reason=reason,
        rule=rule,
        resource=resource,
        trigger=trigger,
        input_digest=digest(evidence),
        code_version=code_version,
        versions=versions,
        advice=advice,
        approved_by=approved_by,
        approval_id=approval_id,
        details=details,
    )
    return log.record(decision)
