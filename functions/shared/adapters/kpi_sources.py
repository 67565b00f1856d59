"""Where KPIs are read from (functions/shared/domain/kpis.py): the automations a team owns, CloudWatch's
metrics, the decision record, the approvals and overrides tables, and one sampled execution's usage.

A team's automations are found by their state machines' `keel:owner` tag with the Resource Groups
Tagging API: one paginated GetResources call whatever the catalog's size, no list kept anywhere
(https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.domain.approvals import ApprovalStore
from functions.shared.domain.billing import count_transitions
from functions.shared.domain.costs import LambdaUse, Usage, WorkflowType, cost_per_run
from functions.shared.domain.decisions import DecisionLog
from functions.shared.domain.kpis import (
    AutomationKpis,
    MetricRequest,
    OverrideChange,
    Period,
    Points,
    Recorded,
    Sources,
    Waited,
    Watched,
    automation_kpis,
    metric_requests,
    points_of,
)
from functions.shared.domain.overrides import OverrideStore
from functions.shared.domain.prices import Prices
from functions.shared.domain.review import AlarmChange
from functions.shared.runtime.errors import NotFoundError

OWNER_TAG, AUTOMATION_TAG, ONCALL_TAG = "keel:owner", "keel:automation", "keel:oncall"
# Decisions read per page, newest first, until the period's start.
DECISIONS_PAGE = 100


@dataclass(frozen=True)
class Owned:
    automation: str
    state_machine_arn: str
    owner: str
    # The on-call route that pages the owner (its keel:oncall tag; "" on a stack deployed before it was tagged).
    oncall: str = ""


class KpiSources:
    """boto3 clients are passed in (the operator's, the local cloud's) or made on first use (Lambda)."""

    def __init__(
        self,
        decisions: DecisionLog,
        approvals: ApprovalStore,
        overrides: OverrideStore,
        clients: dict[str, Any] | None = None,
    ) -> None:
        self.decisions, self.approvals, self.overrides = decisions, approvals, overrides
        self._clients = clients or {}
        self._memory: dict[str, int] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = client(service)
        return self._clients[service]

    def owned(self, environment: str, owner: str | None) -> list[Owned]:
        """The environment's automations (of one team, when `owner` is given), by their state machines'
        tags; a candidate's shadow state machine is not an automation of its own."""
        filters = [{"Key": "keel:environment", "Values": [environment]}]
        if owner:
            filters.append({"Key": OWNER_TAG, "Values": [owner]})
        found: dict[str, Owned] = {}
        paginator = self._client("resourcegroupstaggingapi").get_paginator("get_resources")
        with aws_errors("GetResources (automations by owner tag)"):
            for page in paginator.paginate(TagFilters=filters, ResourceTypeFilters=["states:stateMachine"]):
                for resource in page["ResourceTagMappingList"]:
                    tags = {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}
                    arn = resource["ResourceARN"]
                    if AUTOMATION_TAG in tags and not arn.endswith("-shadow"):
                        found[tags[AUTOMATION_TAG]] = Owned(
                            tags[AUTOMATION_TAG], arn, tags.get(OWNER_TAG, ""), tags.get(ONCALL_TAG, "")
                        )
        return [found[name] for name in sorted(found)]

    def alarm_changes(self, owned: Sequence[Owned], period: Period) -> list[AlarmChange]:
        """State changes of the automations' alarms in the period (DescribeAlarmHistory, StateUpdate items:
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html).
        Keel names an automation's alarms after its state machine (keel-<env>-<automation>-...)."""
        prefixes = {item.state_machine_arn.rsplit(":", 1)[-1] + "-": item.automation for item in owned}
        changes = []
        paginator = self._client("cloudwatch").get_paginator("describe_alarm_history")
        with aws_errors("DescribeAlarmHistory"):
            pages = paginator.paginate(
                HistoryItemType="StateUpdate", StartDate=period.start, EndDate=period.end, ScanBy="TimestampAscending"
            )
            for page in pages:
                for item in page["AlarmHistoryItems"]:
                    automation = next((name for prefix, name in prefixes.items() if item["AlarmName"].startswith(prefix)), None)
                    if automation is not None:
                        changes.append(_alarm_change(item, automation))
        return changes

    def metrics(self, requests: Sequence[MetricRequest]) -> Points:
        results: list[dict[str, Any]] = []
        cloudwatch = self._client("cloudwatch")
        for request in requests:
            arguments: dict[str, Any] = {
                "MetricDataQueries": request.queries,
                "StartTime": request.start,
                "EndTime": request.end,
                "ScanBy": "TimestampAscending",
            }
            while True:
                with aws_errors("GetMetricData"):
                    answer = cloudwatch.get_metric_data(**arguments)
                results.extend(answer["MetricDataResults"])
                if not answer.get("NextToken"):
                    break
                arguments["NextToken"] = answer["NextToken"]
        return points_of(results)

    def recorded(self, automation: str, since: datetime) -> list[Recorded]:
        """The automation's decisions since a time, read backwards through its chain and stopping there."""
        cutoff = since.astimezone(UTC).isoformat(timespec="milliseconds")
        found = []
        with aws_errors(f"Query the decision record of {automation}"):
            for item in self.decisions.chain_items(automation, newest_first=True, page_size=DECISIONS_PAGE):
                if item["recorded_at"] < cutoff:
                    break
                found.append(_recorded(json.loads(item["body"]), item["recorded_at"]))
        return found

    def waits(self, records: Sequence[Recorded]) -> dict[str, Waited]:
        """When each approval the records name was asked and answered (a request purged from the approvals
        table, 90 days after it ended, is left out)."""
        waits = {}
        for approval in sorted({record.approval_id for record in records if record.approval_id}):
            try:
                request, _token = self.approvals.get(approval)
            except NotFoundError:
                continue
            waits[approval] = Waited(request.requested_at, request.decided_at)
        return waits

    def override_changes(self, automation: str) -> list[OverrideChange]:
        return [
            OverrideChange(
                scope=override.scope,
                state="disabled" if override.disabled else "enabled",
                changed_by=override.changed_by,
                changed_at=override.changed_at,
                reason=override.reason,
            )
            for override in self.overrides.of(automation)
        ]

    def cost_per_run(self, state_machine_arn: str, prices: Prices) -> float | None:
        """USD per run, priced from the newest succeeded execution's history (its transitions and its Lambda
        invocations with their configured memory); None when no execution succeeded."""
        states = self._client("stepfunctions")
        with aws_errors(f"ListExecutions of {state_machine_arn}"):
            listed = states.list_executions(stateMachineArn=state_machine_arn, statusFilter="SUCCEEDED", maxResults=1)
            machine = states.describe_state_machine(stateMachineArn=state_machine_arn)
        if not listed["executions"]:
            return None
        execution = listed["executions"][0]
        events = list(self._history(execution["executionArn"]))
        usage = Usage(runs=1, transitions=count_transitions(events), invocations=self._invocations(events))
        stopped = execution.get("stopDate") or execution["startDate"]
        usage.execution_ms.append((stopped - execution["startDate"]).total_seconds() * 1000)
        workflow: WorkflowType = "express" if machine.get("type") == "EXPRESS" else "standard"
        return cost_per_run(usage, prices, workflow)

    def _history(self, execution_arn: str) -> Iterator[dict[str, Any]]:
        paginator = self._client("stepfunctions").get_paginator("get_execution_history")
        with aws_errors(f"GetExecutionHistory of {execution_arn}"):
            for page in paginator.paginate(executionArn=execution_arn):
                yield from page["events"]

    def _invocations(self, events: list[dict[str, Any]]) -> list[LambdaUse]:
        """Each lambda:invoke task, from its start to its end, with the function's configured memory."""
        uses, started, function = [], None, None
        for event in events:
            kind = event["type"]
            if kind == "TaskScheduled" and event["taskScheduledEventDetails"].get("resourceType") == "lambda":
                parameters = json.loads(event["taskScheduledEventDetails"].get("parameters") or "{}")
                function = str(parameters.get("FunctionName", ""))
            elif kind == "TaskStarted" and function:
                started = event["timestamp"]
            elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut") and function and started is not None:
                took = (event["timestamp"] - started).total_seconds() * 1000
                uses.append(LambdaUse(function, self._memory_of(function), took))
                started, function = None, None
        return uses

    def _memory_of(self, function: str) -> int:
        if function not in self._memory:
            with aws_errors(f"GetFunctionConfiguration of {function}"):
                configuration = self._client("lambda").get_function_configuration(FunctionName=function)
            self._memory[function] = int(configuration["MemorySize"])
        return self._memory[function]


def _recorded(body: dict[str, Any], recorded_at: str) -> Recorded:
    return Recorded(
        recorded_at=datetime.fromisoformat(recorded_at),
        execution_arn=str(body.get("execution_arn", "")),
        step=str(body.get("step", "")),
        action=str(body.get("action", "")),
        outcome=str(body.get("outcome", "")),
        dry_run=bool(body.get("dry_run", False)),
        rule=body.get("rule"),
        approval_id=body.get("approval_id"),
        approved_by=body.get("approved_by"),
        reason=str(body.get("reason", "")),
    )


def collect(sources: KpiSources, owned: Sequence[Owned], period: Period, prices: Prices) -> list[AutomationKpis]:
    """Every automation's KPIs over `period`: all metrics in a few batched GetMetricData calls, then each
    automation's decisions (this period and the one before are not needed: counts compare executions),
    approvals, overrides and sampled cost."""
    watched = [Watched(item.automation, item.state_machine_arn, dead_letter_queue_of(item.state_machine_arn)) for item in owned]
    points = sources.metrics(metric_requests(watched, period))
    results = []
    for index, item in enumerate(owned):
        records = sources.recorded(item.automation, period.start)
        read = Sources(
            records=records,
            waits=sources.waits(records),
            overrides=sources.override_changes(item.automation),
            cost_per_run=sources.cost_per_run(item.state_machine_arn, prices),
        )
        results.append(automation_kpis(item.automation, index, points, period, read))
    return results


def dead_letter_queue_of(state_machine_arn: str) -> str:
    """The queue an automation's rule dead-letters into: its state machine's name and -dlq (infra/names.py)."""
    return f"{state_machine_arn.rsplit(':', 1)[-1]}-dlq"


def _alarm_change(item: dict[str, Any], automation: str) -> AlarmChange:
    data = json.loads(item.get("HistoryData") or "{}")
    return AlarmChange(
        alarm=str(item["AlarmName"]),
        automation=automation,
        at=item["Timestamp"],
        old_state=str(data.get("oldState", {}).get("stateValue", "")),
        new_state=str(data.get("newState", {}).get("stateValue", "")),
        reason=str(data.get("newState", {}).get("stateReason", item.get("HistorySummary", ""))),
    )
