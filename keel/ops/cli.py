"""`keel ops ...`: the operators' commands, against AWS or a local endpoint (`keel local up`)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from keel.cli_options import SharedOption, share
from keel.ops import overrides
from keel.ops.session import OpsError, OpsInputError, OpsSession, aws_call
from keel.render import Link, status, table, to_json

if TYPE_CHECKING:
    from keel.ops.audit import AuditQuery
    from keel.ops.executions import Shown


def register(commands: Any) -> None:
    ops = commands.add_parser("ops", help="operate automations: executions, decisions, approvals, redrive, KPIs")
    sub = ops.add_subparsers(dest="ops_command", required=True)

    command = sub.add_parser("executions", help="executions of an automation: status, start, duration, console link")
    command.add_argument("automation")
    command.add_argument("--status", help="RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED")
    command.add_argument("--since", help="e.g. 30m, 6h, 7d, or an ISO time")
    command.set_defaults(run_ops=_executions)

    command = sub.add_parser("show", help="one execution's path through its states")
    command.add_argument("execution_arn")
    command.add_argument(
        "--graph",
        metavar="FILE",
        help="also draw the state machine with the path taken (FILE.svg, or FILE.html: a self-contained page)",
    )
    command.set_defaults(run_ops=_show)

    command = sub.add_parser("explain", help="why: the decisions recorded for an execution ARN or event id")
    command.add_argument("subject", metavar="EXECUTION|EVENT_ID")
    command.set_defaults(run_ops=_explain)

    command = sub.add_parser("pending", help="approval requests waiting for an answer")
    command.set_defaults(run_ops=_pending)

    for verb, approved in (("approve", True), ("reject", False)):
        command = sub.add_parser(verb, help=f"{verb} a pending request; the workflow resumes")
        command.add_argument("approval_id")
        command.add_argument("--reason", required=True, help="why (recorded with your identity)")
        if approved:
            command.add_argument(
                "--set",
                dest="values",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="an answer the workflow asked for, e.g. --set category=billing (in the task output's values)",
            )
        command.set_defaults(run_ops=_answer, approved=approved)

    command = sub.add_parser("redrive", help="run dead-lettered events (or, with --failed, failed executions) again")
    command.add_argument("automation")
    command.add_argument("--dry-run", action="store_true", help="show what would run; change nothing")
    command.add_argument(
        "--failed", action="store_true", help="failed, timed-out and aborted executions instead of the dead-letter queue"
    )
    command.add_argument("--since", help="with --failed: executions that stopped since, e.g. 6h, 7d (default: 14d)")
    command.set_defaults(run_ops=_redrive)

    command = sub.add_parser("verify-chain", help="check an automation's decision chain for tampering")
    command.add_argument("automation")
    command.set_defaults(run_ops=_verify)

    command = sub.add_parser(
        "audit", help="export an automation's decisions (or those on one resource) with their verification, for auditors"
    )
    command.add_argument("automation")
    command.add_argument(
        "--since", required=True, help="from (inclusive): ISO 8601 (2026-11-01, 2026-11-01T09:00:00Z; UTC unless zoned), or 7d"
    )
    command.add_argument("--until", required=True, help="until (exclusive): ISO 8601, or a duration ago (0m: now)")
    command.add_argument("--resource", help="only decisions on this resource: its ARN, or the end of it (orders-api)")
    command.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="JSON Lines (default) or CSV")
    command.add_argument(
        "--output", metavar="FILE", help="write the export to FILE (a CSV's verification goes to FILE.verification.txt)"
    )
    command.set_defaults(run_ops=_audit)

    command = sub.add_parser(
        "replay", help="re-evaluate recorded decisions under the current policy and model: what would change"
    )
    command.add_argument("automation")
    command.add_argument("--since", help="e.g. 24h, 7d, or an ISO time (default: all)")
    command.set_defaults(run_ops=_replay)

    _register_reports(sub)
    _register_operator_changes(sub)

    share(ops, session_options())
    ops.set_defaults(run=run)


def session_options() -> list[SharedOption]:
    """Where every `keel ops` command points; accepted before or after the subcommand."""
    return [
        SharedOption(("--env",), "environment (default: dev, or KEEL_ENV)", {"default": os.environ.get("KEEL_ENV", "dev")}),
        SharedOption(("--region",), "AWS region (default: the environment's, from config/environments.yaml)"),
        SharedOption(
            ("--endpoint-url",),
            "a local cloud endpoint (`keel local up`; default: KEEL_ENDPOINT_URL), else AWS",
            {"default": os.environ.get("KEEL_ENDPOINT_URL")},
        ),
        SharedOption(("--json",), "print JSON for scripts", {"action": "store_true"}),
    ]


def run(args: argparse.Namespace) -> int:
    try:
        session = OpsSession(environment=args.env, region=_region_of(args), endpoint_url=args.endpoint_url)
        output, code = cast(Result, args.run_ops(session, args))
    except OpsError as error:
        print(f"keel ops: {error}", file=sys.stderr)
        return 2 if isinstance(error, OpsInputError) else 1
    print(output)
    return code


def _region_of(args: argparse.Namespace) -> str:
    """--region, or the environment's; the environment is checked wherever config/environments.yaml is
    at hand (a command pasted elsewhere names its region and finds no config to check against)."""
    from infra.config import load_environments

    path = Path(args.root) / "config" / "environments.yaml"
    if not path.exists():
        if args.region:
            return str(args.region)
        raise OpsError("no --region given and no config/environments.yaml here to read it from")
    table_ = load_environments(path)
    if args.env not in table_.environments:
        raise OpsError(f"unknown environment '{args.env}' (known: {', '.join(sorted(table_.environments))})")
    return str(args.region or table_.environments[args.env].region)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    return parse_time("--since", text, now)


def parse_time(option: str, text: str | None, now: datetime | None = None) -> datetime | None:
    """A duration back from now (30m, 6h, 7d) or an ISO 8601 time; a time without a zone is UTC."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isdigit():
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"{option} '{text}' is neither a duration (30m, 6h, 7d) nor an ISO time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


Result = tuple[str, int]


def _executions(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import executions

    rows = executions.list_executions(session, args.automation, executions.check_status(args.status), parse_since(args.since))
    if args.json:
        return to_json({"executions": rows}), 0
    if not session.endpoint_url:
        linked = [row | {"console": Link(row["console"], "open")} for row in rows]
        return table(linked, ["name", "status", "started", "duration_s", "console"]), 0
    listed = table(rows, ["name", "status", "started", "duration_s"])
    if not rows:
        return listed, 0
    # No console on a local cloud: the command that shows each execution instead, whole lines to paste.
    return "\n".join([listed, "", "each in detail (no console here):", *(f"  {row['details']}" for row in rows)]), 0


def _show(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import executions

    execution = executions.show_execution(session, args.execution_arn, with_definition=bool(args.graph))
    shown = execution.view
    drawn = _draw_graph(execution, Path(args.graph)) if args.graph else None
    if args.json:
        return to_json(shown | ({"graph": str(drawn)} if drawn else {})), 0
    took = f", took {_took(shown)}" if shown["stopped"] else ""
    lines = [
        f"{shown['execution_arn']}",
        f"status {status(shown['status'])}, started {shown['started']}, stopped {shown['stopped'] or '-'}{took}",
    ]
    lines += executions.readable_error(shown["error"], shown["cause"])
    lines += ["", table(shown["states"], ["state", "type", "status", "entered", "duration_s", "attempts", "error"]), ""]
    lines.append(f"console {shown['console']}" if shown["console"] else f"its history with the AWS CLI: {shown['history']}")
    if drawn:
        lines.append(f"graph {drawn}")
    return "\n".join(lines), 0


def _took(shown: dict[str, Any]) -> str:
    started, stopped = datetime.fromisoformat(shown["started"]), datetime.fromisoformat(shown["stopped"])
    return f"{(stopped - started).total_seconds():.2f} s"


def _draw_graph(execution: Shown, path: Path) -> Path:
    from keel.execution_graph import draw

    machine, name = execution.view["execution_arn"].split(":")[-2:]
    return draw(execution.definition, execution.visits, path, title=f"{machine}\n{name}: {execution.view['status']}")


def _explain(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import explain

    records = explain.find_records(session, args.subject)
    return (to_json({"decisions": explain.as_json(records)}) if args.json else explain.explain(records)), 0


def _pending(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import approvals

    rows = approvals.pending(session)
    if args.json:
        return to_json({"pending": rows}), 0
    return table(rows, ["approval_id", "automation", "action", "resource", "risk", "expires", "state"]), 0


def _answer(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import approvals

    result = approvals.answer(
        session, args.approval_id, approved=args.approved, reason=args.reason, values=_key_values(getattr(args, "values", []))
    )
    if args.json:
        return to_json(result), 0
    return f"{result['approval_id']}: {result['outcome']} by {result['decided_by']}; {result['execution_arn']} resumes", 0


def _key_values(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise OpsError(f"--set '{pair}' must be KEY=VALUE")
        values[key.strip()] = value.strip()
    return values


def _redrive(session: OpsSession, args: argparse.Namespace) -> Result:
    if args.failed:
        return _rerun(session, args)
    if args.since:
        raise OpsError("--since goes with --failed (the dead-letter queue is redriven whole)")
    from keel.ops import redrive

    result = redrive.redrive(session, args.automation, dry_run=args.dry_run)
    code = 1 if result["failed"] else 0
    if args.json:
        return to_json(result), code
    verb = "would redrive" if args.dry_run else "redriven"
    lines = [f"{args.automation}: {len(result['moved'])} {verb}, {len(result['failed'])} failed"]
    rows = result["moved"] + result["failed"]
    if rows:
        lines.append(table(rows, ["event_id", "status", "dead_lettered_because", "error"]))
    return "\n".join(lines), code


def _rerun(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import reruns

    result = reruns.rerun_failed(session, args.automation, since=parse_since(args.since), dry_run=args.dry_run)
    rows = result["executions"]
    code = 1 if any(row["status"] == "failed" for row in rows) else 0
    if args.json:
        return to_json(result), code
    counts = {status: sum(row["status"] == status for row in rows) for status in dict.fromkeys(row["status"] for row in rows)}
    summary = ", ".join(f"{count} {status}" for status, count in counts.items()) or "nothing to run again"
    lines = [f"{args.automation}: {len(rows)} unsuccessful since {result['since']}: {summary}"]
    if rows:
        lines.append(table(rows, ["execution", "was", "event_id", "status", "how"]))
    return "\n".join(lines), code


def _verify(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import ledger

    session.state_machine_arn(args.automation)
    with aws_call(f"read the decision record of {args.automation} and its anchor"):
        report = ledger.verify(session.decisions, session.anchor, args.automation)
    code = 0 if report.ok else 1
    if args.json:
        return to_json(report.as_json()), code
    return "\n".join(ledger.described(report)), code


def _audit(session: OpsSession, args: argparse.Namespace) -> Result:
    """The export on stdout or in --output; exit 1 when the chain does not verify. Its verification
    summary travels with it: the last line of JSON Lines, stderr or a sidecar file beside a CSV."""
    from keel.ops import audit, ledger

    query = _audit_query(session, args)
    with aws_call(f"read the decision record of {args.automation}, its anchor and its approvals"):
        result = audit.audit(ledger.read_chain(session.decisions, session.anchor, args.automation), session.approvals, query)
    code = 0 if result.report.ok else 1
    exported = audit.jsonl(result) if args.format == "jsonl" else audit.csv_text(result)
    summary = to_json(result.summary()) if args.json else "\n".join(result.described())
    if not args.output:
        if args.format == "csv":
            print(summary, file=sys.stderr)
        return exported.removesuffix("\n").removesuffix("\r"), code
    path = Path(args.output)
    try:
        path.write_text(exported, encoding="utf-8", newline="")
        if args.format == "csv":
            path.with_name(f"{path.name}.verification.txt").write_text("\n".join(result.described()) + "\n", encoding="utf-8")
    except OSError as error:
        raise OpsError(f"cannot write --output {args.output}: {error.strerror}") from None
    return summary if args.json else f"{summary}\nwritten to {path} ({args.format})", code


def _audit_query(session: OpsSession, args: argparse.Namespace) -> AuditQuery:
    from keel.ops.audit import AuditQuery

    since, until = _required_time("--since", args.since), _required_time("--until", args.until)
    if until <= since:
        raise OpsInputError(f"--until {args.until} must come after --since {args.since}")
    if args.automation not in session.state_machines:
        # An automation since removed is still audited while its decision record is there.
        with aws_call(f"read the decision record of {args.automation}"):
            recorded = session.decisions.head(args.automation) is not None
        if not recorded:
            known = ", ".join(sorted(session.state_machines)) or "none deployed"
            raise OpsInputError(
                f"unknown automation '{args.automation}' in environment '{session.environment}': "
                f"no state machine and no decision record (known: {known})"
            )
    return AuditQuery(args.automation, since, until, args.resource)


def _required_time(option: str, text: str) -> datetime:
    try:
        moment = parse_time(option, text)
    except OpsError as error:
        raise OpsInputError(str(error)) from None
    if moment is None:
        raise OpsInputError(f"{option} needs a time: ISO 8601 (2026-11-01T09:00:00Z) or a duration (30m, 6h, 7d)")
    return moment


def _replay(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import replay

    session.state_machine_arn(args.automation)
    result = replay.replay(session, args.automation, parse_since(args.since))
    if args.json:
        return to_json(result), 0
    summary = (
        f"{args.automation}: {result['replayed']} replayed under {result['policy']} and {result['model']}: "
        f"{result['changed']} would change, {result['unavailable']} without evidence (retention passed)"
    )
    rows = result["rows"]
    return "\n".join(
        [summary, table(rows, ["event_id", "ticket_id", "then", "now", "final", "status"])] if rows else [summary]
    ), 0


def _kpis(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import executions

    result = executions.kpis(session, args.automation, parse_since(args.since))
    if args.json:
        return to_json(result), 0
    figures = [{"metric": key, "value": value} for key, value in result.items() if key not in ("automation", "since")]
    return f"{args.automation} since {result['since'] or 'the first execution'}\n" + table(figures), 0


# --- Reports: KPIs per automation and team, with their trends -------------------------------------


def _register_reports(sub: Any) -> None:
    command = sub.add_parser("kpis", help="executions, success rate, p50/p90 duration, DLQ depth, pending approvals")
    command.add_argument("automation")
    command.add_argument("--since", help="e.g. 24h (default: all)")
    command.set_defaults(run_ops=_kpis)

    command = sub.add_parser("report", help="KPIs per automation of a team and the team's total, with trends")
    command.add_argument("--owner", metavar="TEAM", help="only this team's automations (the manifests' owner)")
    command.add_argument("--since", default="30d", help="the period: 6h, 7d, 30d (default: 30d)")
    command.add_argument("--html", metavar="FILE", help="also write a self-contained page with the trends as charts")
    command.set_defaults(run_ops=_report)

    command = sub.add_parser("review", help="an automation's periodic review: KPIs, incidents, overrides, refusals, drift")
    command.add_argument("automation")
    command.add_argument("--since", default="30d", help="the period: 7d, 30d (default: 30d)")
    command.set_defaults(run_ops=_review)


def _report(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import report

    result = report.report(session, Path(args.root), args.owner, args.since)
    written = None
    if args.html:
        from keel.ops.report_page import write_page

        written = write_page(result, Path(args.html))
    if args.json:
        return to_json(result.as_json() | ({"html": str(written)} if written else {})), 0
    described = report.described(result)
    return (f"{described}\npage {written}" if written else described), 0


def _review(session: OpsSession, args: argparse.Namespace) -> Result:
    from functions.shared.domain.review import described
    from keel.ops import review

    result = review.review(session, Path(args.root), args.automation, args.since)
    return (to_json(result) if args.json else "\n".join(described(result))), 0


# --- Safe change: compare a shadow candidate, move the live alias ---------------------------------


def _register_operator_changes(sub: Any) -> None:
    """Overrides (keel/ops/overrides.py), and the live alias's versions."""
    overrides.register(sub)
    _register_safe_change(sub)
    _register_models(sub)


def _register_models(sub: Any) -> None:
    command = sub.add_parser(
        "models", help="an advisor's retrained models: held-out evaluation, which is in shadow, which is live"
    )
    command.add_argument("automation")
    command.set_defaults(run_ops=_models)

    command = sub.add_parser("promote-model", help="make a stored model the live advisor (recorded with who and why)")
    command.add_argument("automation")
    command.add_argument("model_version")
    command.add_argument("--reason", required=True, help="why (recorded with your identity)")
    command.set_defaults(run_ops=_promote_model)


def _models(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import models

    listed = models.stored(session, args.automation)
    if args.json:
        return to_json(listed), 0
    rows = []
    for model in listed["models"]:
        figures = model["evaluation"]
        candidate, live = figures.get("candidate", {}), figures.get("live", {})
        role = {listed["shadow"]: "shadow", listed["live"]: "live"}.get(model["model_version"], "-")
        rows.append(
            {
                "model_version": model["model_version"],
                "role": role,
                "accuracy": f"{candidate.get('accuracy', 0):.2f} (live {live.get('accuracy', 0):.2f})",
                "brier": f"{candidate.get('brier_score', 0):.3f} (live {live.get('brier_score', 0):.3f})",
                "ece": f"{candidate.get('expected_calibration_error', 0):.3f}",
                "held_out": candidate.get("test_size", 0),
                "stored_at": model["stored_at"],
            }
        )
    if not rows:
        return f"{args.automation}: no retrained models stored", 0
    return table(rows, list(rows[0])), 0


def _promote_model(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import models

    promoted = models.promote(session, args.automation, args.model_version, args.reason)
    if args.json:
        return to_json(promoted), 0
    before = promoted["before"] or "the policy's model"
    by = promoted["by"]
    return f"{args.automation}: the live advisor is now {promoted['live']} (was {before}; promoted by {by}: {args.reason})", 0


def _register_safe_change(sub: Any) -> None:
    command = sub.add_parser(
        "compare", help="where a candidate version run in shadow decided differently from the live version, per event"
    )
    command.add_argument("automation")
    command.add_argument("--version", help="the candidate's version (default: the newest with shadow decisions)")
    command.add_argument(
        "--min-agreement", type=float, metavar="RATE", help="exit 1 when the agreement rate is below RATE (e.g. 0.95)"
    )
    command.add_argument("--all", action="store_true", help="list every compared event, not only those that differ")
    command.set_defaults(run_ops=_compare)

    command = sub.add_parser("versions", help="the versions an automation's live alias routes to, and those published")
    command.add_argument("automation")
    command.set_defaults(run_ops=_versions)

    for verb, what in (("rollback", "back to the previous version"), ("promote", "forward to the newest version")):
        command = sub.add_parser(verb, help=f"point the live alias {what}, at once (recorded with who and why)")
        command.add_argument("automation")
        command.add_argument("--reason", required=True, help="why (recorded with your identity)")
        command.set_defaults(run_ops=_move, verb=verb)


def _compare(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import compare

    result = compare.compare(session, args.automation, args.version)
    passed, why = compare.gate(result, args.min_agreement)
    code = 0 if passed else 1
    if args.json:
        return to_json(result | {"gate": {"min_agreement": args.min_agreement, "passed": passed, "why": why}}), code
    rate = "-" if result["agreement"] is None else f"{result['agreement']:.1%}"
    lines = [
        f"{args.automation}: candidate {result['candidate'] or '(none recorded)'} agreed with the live version on "
        f"{result['agreed']} of {result['compared']} events ({rate})"
    ]
    shown = [row for row in result["events"] if args.all or not row["agrees"]]
    if shown:
        lines.append(table([_compare_row(row) for row in shown], list(_compare_row(shown[0]))))
    if result["candidate_only"]:
        lines.append(f"not compared (only the candidate decided): {', '.join(result['candidate_only'])}")
    if why:
        lines.append(f"gate: {why}")
    return "\n".join(lines), code


def _compare_row(row: dict[str, Any]) -> dict[str, Any]:
    live, candidate = row["live"], row["candidate"]
    return {
        "event_id": row["event_id"],
        "agrees": "yes" if row["agrees"] else f"no ({', '.join(row['differs_in'])})",
        "live": f"{live['action']} [{live['rule'] or '-'}] {live['advice'] or ''}".strip(),
        "candidate": f"{candidate['action']} [{candidate['rule'] or '-'}] {candidate['advice'] or ''}".strip(),
        "evidence": f"live: {live['reason']} | candidate: {candidate['reason']} | input {candidate['input_digest'][:19]}",
    }


def _versions(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import release

    state = release.versions(session, args.automation)
    if args.json:
        return to_json(state), 0
    rows = [{"version": arn, "live_share": f"{state['routing'].get(arn, 0)}%"} for arn in state["versions"]]
    return f"{state['alias']}\n" + table(rows, ["version", "live_share"]), 0


def _move(session: OpsSession, args: argparse.Namespace) -> Result:
    from keel.ops import release

    moved = (
        release.rollback(session, args.automation, args.reason)
        if args.verb == "rollback"
        else release.promote(session, args.automation, args.reason)
    )
    if args.json:
        return to_json(moved), 0
    return (
        f"{args.automation}: live alias now routes all events to {moved['to']} ({args.verb} by {moved['by']}: {args.reason})",
        0,
    )
