"""Many executions at once in one local cloud end exactly as each ends alone.

moto runs every execution in its own threads and our handlers run in worker processes, several of
one function at once: whatever one execution's handlers do must not change another's outcome. This
starts every remediation sample at once, plus many copies of the samples that find no runbook (copies
of the others would rightly be refused by the cooldown and blast radius of the first), so dozens of
executions overlap. Copies of an alarm are a storm of that alarm: alarm_remediation debounces them
(trigger.debounce), so each copy either ends as it ends alone or as debounced, and at least one of
them ends as it ends alone.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.eventbridge import load_event_file
from keel.local.report import ExecutionReport, execution_report
from keel.local.template import EnvironmentTemplate
from keel.local.world import apply_worlds, template_variables, worlds_for

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "events" / "alarm_remediation", ROOT / "events" / "security_finding_response"]
SAMPLES = [path for folder in FOLDERS for path in sorted(folder.glob("*.json"))]
# How each sample ends when it runs alone in its own cloud, approvals answered.
ALONE = {
    "api-5xx-restart": "resolved",
    "batch-status-reboot": "resolved",
    "billing-no-runbook": "no_runbook",
    "checkout-actions-disabled": "muted",
    "orders-health-suppressed": "muted",
    "orders-dlq-redrive": "resolved",
    "payments-cpu-scale-out": "resolved",
    "backdoor-isolate": "resolved",
    "iam-key-deactivate": "resolved",
    "iam-key-deleted-user": "not_found",
    "portscan-no-runbook": "no_runbook",
}
COPIES = 12


def copy_of(event: dict[str, Any]) -> dict[str, Any]:
    """The same event delivered anew (a new id, so the prologue does not take it for a duplicate)."""
    return {**event, "id": str(uuid.uuid4())}


def ending(execution: ExecutionReport) -> str:
    """The outcome, or what went wrong on the way (each failed attempt of each state, with its cause)."""
    if execution.status == "SUCCEEDED" and isinstance(execution.output, dict):
        return str(execution.output.get("outcome"))
    errors = [f"{state.name}: {error.get('error')}: {error.get('cause')}" for state in execution.states for error in state.errors]
    return f"{execution.status} {execution.error}: {execution.cause} after {errors}"


def test_executions_running_at_once_each_end_as_they_end_alone(dev_template: EnvironmentTemplate) -> None:
    # Given every remediation sample, and many copies of those that find no runbook
    samples = {path.stem: load_event_file(path).event for path in SAMPLES}
    automation_of = {path.stem: path.parent.name for path in SAMPLES}
    events = list(samples.items())
    events += [(name, copy_of(samples[name])) for name in ALONE if ALONE[name] == "no_runbook" for _ in range(COPIES)]

    with LocalCloud(dev_template) as cloud:
        apply_worlds(worlds_for(SAMPLES), cloud.client, template_variables(dev_template.account, dev_template.region))

        # When they are all delivered before any is driven, so their executions overlap
        sample_of = {}
        for name, event in events:
            sample_of.update({delivery.execution_arn: name for delivery in cloud.deliver(event) if delivery.execution_arn})
        cloud.drive("approve")
        reports = [execution_report(cloud, arn) for arn in cloud.execution_arns()]
        # Other automations the same events start run alongside (more overlap); their endings are theirs
        endings = [
            (sample_of[report.execution_arn], ending(report))
            for report in reports
            if report.automation == automation_of[sample_of[report.execution_arn]]
        ]

    # Then each started one execution of its automation, which ends with the outcome it has alone (or,
    # for a copy of a debounced alarm, as debounced in favour of the latest copy)
    assert len(endings) == len(events)
    debounced = {name for name in ALONE if automation_of[name] == "alarm_remediation"}
    assert [(name, end) for name, end in endings if end != ALONE[name] and not (end == "debounced" and name in debounced)] == []
    assert {name for name, end in endings if end == ALONE[name]} == set(ALONE)
