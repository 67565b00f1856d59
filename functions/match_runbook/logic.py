"""Turn the triggering event into a plan: which runbook, which resource, what to do, how to verify."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.match_runbook.catalog import RunbookCatalog, Signal, find_runbook, resolve_target, resource_arn, severity_risk
from functions.match_runbook.detail import AlarmDetail, FindingDetail
from functions.match_runbook.muting import ActionsReader, muted_now, suppressed_in_event
from functions.shared.domain.context import REGION, TaskInput
from functions.shared.remediation.plan import ACCOUNT, Plan, Verification
from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import InvalidInputError
from functions.shared.runtime.parsing import parse, shown

# Reads an alarm's tags by ARN; None when the alarm has not opted in (its tags are not ours to read).
TagReader = Callable[[str], dict[str, str] | None]


class SourceEvent(Model):
    """The EventBridge event, as the workflow passes it on (AWS service events: CloudWatch, GuardDuty)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    source: str
    # They name the resource a plan acts on (its ARN).
    account: str = Field(pattern=ACCOUNT)
    region: str = Field(pattern=REGION)
    resources: list[str] = Field(default_factory=list)
    # Read by the event's source (detail.py), where a runbook reads it.
    detail: dict[str, Any]


class MatchInput(TaskInput):
    step: str
    event: SourceEvent


# Where the event's detail sits in a MatchInput: errors in it name their field from there.
DETAIL = ("event", "detail")


@dataclass(frozen=True)
class Dependencies:
    catalog: RunbookCatalog
    read_tags: TagReader
    # Whether an alarm's own actions are on now (disabled, suppressed, muted by a mute rule).
    alarm_actions: ActionsReader


class Matched(Model):
    model_config = ConfigDict(frozen=True)

    matched: bool
    trigger: str
    subject: str
    reason: str
    catalog_version: str
    plan: Plan | None = None
    # The alarm's own actions are muted, suppressed or disabled: nothing is done (`reason` says which).
    muted: bool = False
    # What could not be checked before acting, and why (e.g. mute rules where an endpoint has none).
    unchecked: list[str] = Field(default_factory=list)


def signal_of(event: SourceEvent, read_tags: TagReader) -> Signal:
    if event.source == "aws.cloudwatch":
        return _alarm_signal(event, read_tags)
    if event.source == "aws.guardduty":
        return _finding_signal(event)
    raise InvalidInputError(
        f"event.source: no runbooks for events from {shown(event.source)} (aws.cloudwatch alarms and aws.guardduty findings)"
    )


def _alarm_signal(event: SourceEvent, read_tags: TagReader) -> Signal:
    alarm = parse(AlarmDetail, event.detail, at=DETAIL, title=MatchInput.__name__)
    name, metric, state = alarm.alarm_name, alarm.first_metric(), alarm.state
    alarm_arn = next((arn for arn in event.resources if ":alarm:" in arn), None)
    tags = (read_tags(alarm_arn) if alarm_arn else None) or {}
    return Signal(
        source="alarm",
        name=name,
        region=event.region,
        account=event.account,
        summary=f"CloudWatch alarm {name} entered {state.value}: {state.reason}",
        namespace=metric.namespace,
        metric=metric.name,
        dimensions=dict(metric.dimensions),
        tags=tags,
    )


def _finding_signal(event: SourceEvent) -> Signal:
    finding = parse(FindingDetail, event.detail, at=DETAIL, title=MatchInput.__name__)
    kind, severity = finding.type, finding.severity
    return Signal(
        source="finding",
        name=kind,
        region=event.region,
        account=event.account,
        summary=f"GuardDuty finding {kind} (severity {severity:g}) {finding.id}: {finding.title}".strip(),
        severity=severity,
        resource_type=finding.resource.resource_type,
        finding=event.detail,
    )


def plan_for(task: MatchInput, deps: Dependencies) -> Matched:
    catalog = deps.catalog
    suppressed = suppressed_in_event(task.event.detail) if task.event.source == "aws.cloudwatch" else None
    if suppressed is not None:
        # The event says so: no call, no runbook needed to know nothing may be done.
        name = str(task.event.detail.get("alarmName") or "?")
        return Matched(
            matched=False, muted=True, trigger=suppressed, subject=name, reason=suppressed, catalog_version=catalog.version
        )
    signal = signal_of(task.event, deps.read_tags)
    runbook = find_runbook(catalog, signal)
    if runbook is None:
        return Matched(
            matched=False,
            trigger=signal.summary,
            subject=signal.name,
            reason=f"no runbook in catalog {catalog.version} matches {signal.source} {signal.name}",
            catalog_version=catalog.version,
        )
    target = resolve_target(runbook, signal)
    risk = severity_risk(signal.severity or 0.0) if runbook.risk == "from_severity" else runbook.risk
    verify = runbook.verify
    if verify.kind == "alarm_ok":
        verify = Verification(kind="alarm_ok", wait_seconds=verify.wait_seconds, alarm=signal.name)
    plan = Plan(
        runbook=runbook.id,
        catalog_version=catalog.version,
        description=runbook.description,
        action=runbook.action,
        resource=resource_arn(runbook.action, target, signal.region, signal.account),
        target=target,
        parameters=runbook.parameters,
        risk=risk,
        approval=runbook.approval,
        cooldown_minutes=runbook.cooldown_minutes,
        verify=verify,
        trigger=signal.summary,
        region=signal.region,
        account=signal.account,
    )
    muted, unchecked = muted_now(signal.name, deps.alarm_actions) if signal.source == "alarm" else (None, [])
    return Matched(
        matched=True,
        trigger=signal.summary,
        subject=signal.name,
        reason=muted or f"runbook {runbook.id}: {runbook.description}",
        catalog_version=catalog.version,
        plan=plan,
        muted=muted is not None,
        unchecked=unchecked,
    )
