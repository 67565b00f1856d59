"""`keel ops versions|rollback|promote AUTOMATION`: which versions the live alias routes to, and moving it.

Rollback points the `live` alias (infra/constructs/versions.py) back to the version before the newest it
routes to (during a rollout: the version it shifts from); promote moves it forward to the newest
published version (during a rollout: the version it shifts to). Either is at once, 100%, and ends a
rollout under way. The SSM parameter that shadow deploys read is set to match, and the move is
appended to the automation's decision record, with who did it and why, as an operator's answer to an
approval request is (keel/ops/approvals.py): a new record at the chain's head, never a change to one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from infra import names
from keel.ops.session import OpsError, OpsSession, aws_call


def versions(session: OpsSession, automation: str) -> dict[str, Any]:
    """The alias's routing and every published version, newest first."""
    machine = session.state_machine_arn(automation)
    alias_arn = names.live_alias_arn(machine)
    stepfunctions = session.client("stepfunctions")
    with aws_call(f"describe the versions of {automation}"):
        alias = stepfunctions.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
        listed = stepfunctions.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    routing = {str(entry["stateMachineVersionArn"]): int(entry["weight"]) for entry in alias["routingConfiguration"]}
    published = sorted((str(entry["stateMachineVersionArn"]) for entry in listed), key=_number, reverse=True)
    return {"automation": automation, "alias": alias_arn, "routing": routing, "versions": published}


def rollback(session: OpsSession, automation: str, reason: str) -> dict[str, Any]:
    state = versions(session, automation)
    routing = state["routing"]
    if len(routing) > 1:
        target = min(routing, key=_number)
    else:
        current = _number(next(iter(routing)))
        older = [arn for arn in state["versions"] if _number(arn) < current]
        if not older:
            raise OpsError(
                f"{automation} routes to its oldest published version ({next(iter(routing))}): nothing to roll back to"
            )
        target = older[0]
    return _move(session, state, target, "rollback", reason)


def promote(session: OpsSession, automation: str, reason: str) -> dict[str, Any]:
    state = versions(session, automation)
    routing = state["routing"]
    target = max(routing, key=_number) if len(routing) > 1 else state["versions"][0]
    if routing == {target: 100}:
        raise OpsError(f"{automation} already routes all events to its newest version ({target})")
    return _move(session, state, target, "promote", reason)


def _move(session: OpsSession, state: dict[str, Any], target: str, verb: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise OpsError("--reason must say why (it is recorded with your identity)")
    automation = state["automation"]
    caller = session.caller()
    with aws_call(f"{verb} {automation} to {target}"):
        session.client("stepfunctions").update_state_machine_alias(
            stateMachineAliasArn=state["alias"], routingConfiguration=[{"stateMachineVersionArn": target, "weight": 100}]
        )
        session.client("ssm").put_parameter(
            Name=names.live_version_parameter(session.environment, automation), Value=target, Type="String", Overwrite=True
        )
    recorded = _record(session, state, target, verb=verb, reason=reason, caller=caller)
    return {"automation": automation, "action": verb, "from": state["routing"], "to": target, "by": caller, "record": recorded}


def _record(session: OpsSession, state: dict[str, Any], target: str, *, verb: str, reason: str, caller: str) -> int:
    from functions.shared.domain.decisions import Decision, digest

    automation, now = state["automation"], datetime.now(UTC).isoformat(timespec="seconds")
    moved = {"from": state["routing"], "to": target}
    decision = Decision(
        automation=automation,
        automation_version=f"version {_number(target)}",
        environment=session.environment,
        # An operator's move is its own event: one record per move.
        event_id=f"{verb}-{hashlib.sha256(f'{now}{target}{caller}'.encode()).hexdigest()[:16]}",
        execution_arn=state["alias"],
        step=f"operator:{verb}",
        action=verb,
        outcome="taken",
        reason=reason,
        resource=state["alias"],
        input_digest=digest(moved),
        approved_by=caller,
        details={"from": {arn: weight for arn, weight in state["routing"].items()}, "to": target, "at": now},
    )
    with aws_call(f"record the {verb} of {automation} in the decision record"):
        return session.decisions.record(decision).seq


def _number(version_arn: str) -> int:
    return int(version_arn.rsplit(":", 1)[-1])
