"""`keel ops disable|enable AUTOMATION [--runbook ID] --reason ...`: stop remediation without a deploy.

The override is an item in the environment's overrides table, `keel-<env>-overrides`
(functions/shared/domain/overrides.py), written by operators only; the check_guardrails module reads it
before every action, so it takes effect on the next execution.
`keel ops overrides AUTOMATION` lists the current ones.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra import names
from keel.ops.session import OpsError, OpsSession, aws_call
from keel.render import table, to_json

if TYPE_CHECKING:
    from functions.shared.domain.overrides import Override, OverrideStore


def store(session: OpsSession) -> OverrideStore:
    from functions.shared.adapters.dynamodb import Table
    from functions.shared.domain.overrides import OverrideStore

    return OverrideStore(Table(names.table(session.environment, "overrides"), session.client("dynamodb")))


def change(
    session: OpsSession, automation: str, runbook: str | None, *, disabled: bool, reason: str, now: datetime | None = None
) -> Override:
    if not reason.strip():
        raise OpsError("--reason must say why (it is shown to everyone the override stops)")
    if runbook is not None:
        check_runbook(runbook)
    from functions.shared.domain.overrides import Override

    session.state_machine_arn(automation)
    override = Override(
        automation=automation,
        runbook=runbook,
        disabled=disabled,
        changed_by=session.caller(),
        changed_at=now or datetime.now(UTC),
        reason=reason,
    )
    with aws_call(f"{'disable' if disabled else 'enable'} {override.scope}"):
        return store(session).set(override)


def check_runbook(runbook: str) -> None:
    """A misspelt runbook id would store an override that stops nothing: refuse it, naming the real ones."""
    import json

    from functions.match_runbook.catalog import CATALOG

    known = [entry["id"] for entry in json.loads(CATALOG.read_text())["runbooks"]]
    if runbook not in known:
        raise OpsError(f"unknown runbook '{runbook}' (runbooks: {', '.join(known)})")


def listed(session: OpsSession, automation: str) -> list[dict[str, Any]]:
    session.state_machine_arn(automation)
    with aws_call(f"list the overrides of {automation}"):
        overrides = store(session).of(automation)
    return [
        {
            "scope": override.runbook or "(automation)",
            "state": "disabled" if override.disabled else "enabled",
            "changed_by": override.changed_by,
            "changed_at": override.changed_at.isoformat(timespec="seconds"),
            "reason": override.reason,
        }
        for override in overrides
    ]


def register(sub: Any) -> None:
    """The disable, enable and overrides subcommands of `keel ops`."""
    for verb, disabled in (("disable", True), ("enable", False)):
        command = sub.add_parser(verb, help=f"{verb} an automation's remediation (or one runbook) without a deploy")
        command.add_argument("automation")
        command.add_argument("--runbook", help="only this runbook id (default: every runbook of the automation)")
        command.add_argument("--reason", required=True, help="why (recorded with your identity)")
        command.set_defaults(run_ops=_change, disabled=disabled)
    command = sub.add_parser("overrides", help="an automation's disable/enable overrides, who set them and why")
    command.add_argument("automation")
    command.set_defaults(run_ops=_list)


def _change(session: OpsSession, args: argparse.Namespace) -> tuple[str, int]:
    override = change(session, args.automation, args.runbook, disabled=args.disabled, reason=args.reason)
    result = override.model_dump(mode="json")
    if args.json:
        return to_json(result), 0
    state = "disabled: no action until enabled again" if override.disabled else "enabled"
    return f"{override.scope} {state} (by {override.changed_by}: {override.reason})", 0


def _list(session: OpsSession, args: argparse.Namespace) -> tuple[str, int]:
    rows = listed(session, args.automation)
    if args.json:
        return to_json({"overrides": rows}), 0
    return (table(rows, ["scope", "state", "changed_by", "changed_at", "reason"]) if rows else "no overrides"), 0
