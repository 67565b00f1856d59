"""Output of a local run: a readable summary for people, one JSON document for programs."""

from __future__ import annotations

import json
from typing import Any

from keel.execution_path import StateVisit
from keel.local.moto_rotation import Rotation
from keel.local.report import ExecutionReport, RunReport
from keel.local.runner import EventOutcome, LocalRun
from keel.render import Terminal, status, table

MAX_VALUE_CHARS = 400
# A log line longer than this (an EMF document, say) is cut in text output; --json has it whole.
MAX_LOG_LINE_CHARS = 240
_MARKS = {"succeeded": "ok", "retried": "retried", "caught": "caught", "failed": "FAILED", "running": "..."}


def as_json(run: LocalRun) -> str:
    rotations = {"rotations": [rotation_json(rotation) for rotation in run.rotations]} if run.rotations else {}
    return json.dumps({**run.report.as_json(), **rotations}, indent=2, default=str)


def rotation_json(rotation: Rotation) -> dict[str, object]:
    return {
        "secret": rotation.secret,
        "version": rotation.version,
        "done": rotation.done,
        "failed_step": rotation.failed_step,
        "error": rotation.error,
    }


def rotation_line(rotation: Rotation) -> str:
    if rotation.done:
        return f"  rotated secret {rotation.secret}: version {rotation.version} is AWSCURRENT"
    return (
        f"  rotation of secret {rotation.secret} FAILED at {rotation.failed_step}: {rotation.error} "
        "(AWSCURRENT unchanged; the rotation function's errors alarm pages)"
    )


def as_text(run: LocalRun, title: str | None = None, *, logs: bool = False) -> str:
    template = run.template
    lines = [f"== {title}" if title else ""]
    lines.append(f"Local cloud: environment {template.environment} (account {template.account}, {template.region})")
    lines.append(f"  deployed {len(template.stacks)} stacks from {template.path or 'the template'}:")
    lines.append(f"    {run.deployed}")
    if run.skipped:
        lines.append(f"  not emulated: {', '.join(run.skipped)}")
    if run.world != "nothing":
        lines.append(f"  world: {run.world}")
    for fault in run.faults:
        lines.append(f"  fault injected: {fault}")
    for fault in run.unused_faults:
        lines.append(f"  fault never fired (no such function invoked?): {fault}")
    lines.extend(rotation_line(rotation) for rotation in run.rotations)
    lines.append("")
    lines.extend(line for outcome in run.events for line in _event_lines(outcome))
    lines.append("")
    lines.extend(executions_table(run.report.executions))
    for execution in run.report.executions:
        lines.append("")
        lines.extend(execution_lines(execution))
        if logs:
            lines.extend(log_lines(execution))
    lines.append("")
    lines.extend(_dead_letter_lines(run))
    lines.extend(alarm_lines(run.report))
    lines.extend(page_lines(run.report))
    lines.extend(f"  note: {problem}" for problem in run.report.observability)
    for arn, told in run.explanations.items():
        # What `keel ops explain` tells, read before the local cloud went away: not a command to paste.
        lines += ["", f"decisions of {arn.rsplit(':', 1)[-1]} (as keel ops explain tells them):", *told.splitlines()]
    return "\n".join(lines[1:] if not title else lines)


def _event_lines(outcome: EventOutcome) -> list[str]:
    source = outcome.source
    lines = [
        f"{source.path}: {source.label} on bus {outcome.bus}"
        + (f", delivered {outcome.copies} times" if outcome.copies > 1 else "")
    ]
    if not outcome.deliveries:
        lines.append(f"  matches no rule on bus {outcome.bus}: nothing ran")
    for delivery in outcome.deliveries:
        if delivery.execution_arn:
            started = f"started {delivery.execution_arn.rsplit(':', 1)[-1]}"
        elif delivery.target.startswith("arn:aws:states:"):
            started = "could not start: dead-lettered"
        else:
            started = "delivered"
        lines.append(f"  -> rule {delivery.rule} -> {delivery.target.rsplit(':', 1)[-1]}: {started}")
    return lines


def _status(execution: ExecutionReport) -> str:
    return f"{execution.status} (duplicate)" if execution.duplicate else execution.status


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:,.1f} s"


def executions_table(
    executions: list[ExecutionReport], scenarios: list[str] | None = None, terminal: Terminal | None = None
) -> list[str]:
    """One row per execution; with `scenarios` (one per execution), a first column naming each."""
    if not executions:
        return ["No executions."]
    rows: list[dict[str, Any]] = [
        {
            "automation": execution.automation,
            "status": _status(execution),
            "duration": _seconds(execution.duration_seconds),
            "states": len(execution.states),
            "execution": execution.name,
        }
        for execution in executions
    ]
    if scenarios is not None:
        rows = [{"scenario": scenario} | row for scenario, row in zip(scenarios, rows, strict=True)]
    return table(rows, terminal=terminal, right=["duration"]).splitlines()


def execution_lines(execution: ExecutionReport) -> list[str]:
    took = _seconds(execution.duration_seconds)
    lines = [f"{execution.automation} {execution.name}: {status(_status(execution))} in {took} (virtual time)"]
    width = max((len(state.name) for state in execution.states), default=0)
    for state in execution.states:
        lines.append(_state_line(state, width))
        lines.extend(f"      {error['error']}: {_cause(error['cause'])}" for error in state.errors)
    if execution.output is not None:
        lines.append(f"  output: {_short(execution.output)}")
    if execution.error or execution.cause:
        lines.append(f"  error: {execution.error or '-'}: {_cause(execution.cause)}")
    return lines


def _state_line(state: StateVisit, width: int) -> str:
    duration = "" if state.duration_ms is None else _seconds(state.duration_ms / 1000)
    attempts = f"{state.attempts} attempts" if state.attempts > 1 else ""
    mark = _MARKS[state.status]
    return f"  {status(mark)}{' ' * (8 - len(mark))}{state.name.ljust(width)}  {state.type:<8}{duration:>10}  {attempts}".rstrip()


def _cause(cause: str | None) -> str:
    """A Lambda error payload as its message; any other cause as it is."""
    try:
        payload = json.loads(cause or "")
    except json.JSONDecodeError:
        return _short(cause)
    return _short(payload.get("errorMessage", payload) if isinstance(payload, dict) else payload)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def log_lines(execution: ExecutionReport) -> list[str]:
    """What each of the execution's invocations logged, under the state that invoked it."""
    if not execution.invocations:
        return ["  logs: no Lambda invocations"]
    lines = ["  logs:"]
    for invocation in execution.invocations:
        outcome = f"error {invocation.error_type}" if invocation.errored else "ok"
        lines.append(f"    {invocation.step or '-'} ({invocation.module}) {outcome}, {invocation.log_stream}")
        lines += [f"      {_cut(line)}" for line in invocation.log.splitlines() if line.strip()] or ["      (nothing logged)"]
    return lines


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LOG_LINE_CHARS else line[: MAX_LOG_LINE_CHARS - 3] + "..."


def alarm_lines(report: RunReport) -> list[str]:
    """Alarms that went into ALARM or out of it (every change is in --json)."""
    fired = report.fired
    if not fired:
        return ["Alarms: none went to ALARM."]
    lines = [f"Alarms: {len(fired)} change(s) into or out of ALARM"]
    for change in fired:
        lines.append(f"  {change.alarm}: {change.old} -> {status(change.new)}")
        lines.append(f"    {_short(change.reason)}")
    return lines


def page_lines(report: RunReport) -> list[str]:
    if not report.pages:
        return ["Pages: none."]
    return [f"Pages: {len(report.pages)}", *(f"  PAGE {page.route}: {page.subject or '(no subject)'}" for page in report.pages)]


def _dead_letter_lines(run: LocalRun) -> list[str]:
    letters = run.report.dead_letters
    if not letters:
        return ["Dead letters: none."]
    lines = [f"Dead letters: {len(letters)}"]
    for letter in letters:
        queue = letter.queue_arn.rsplit(":", 1)[-1] if letter.queue_arn else "no DLQ configured: event dropped"
        lines.append(
            f"  event {letter.event_id} for {letter.target_arn.rsplit(':', 1)[-1]} -> {queue}: "
            f"{letter.error_code} ({letter.exhausted_retry_condition} after {letter.retry_attempts} retries)"
        )
    return lines
