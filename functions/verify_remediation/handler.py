"""Lambda entry point for verify_remediation."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.resources import Alarms, Ec2Instances, EcsServices, IamKeys, SqsQueues
from functions.shared.contract import Field
from functions.shared.decisions import DecisionLog, Outcome
from functions.shared.handler import task_handler
from functions.shared.remediation import PlanInput, plan_decision, record_summary
from functions.shared.settings import DecisionSettings, settings_reader
from functions.verify_remediation import logic


class VerifyInput(PlanInput):
    # What the action returned (its details, e.g. the quarantine group).
    action: dict[str, Any] = Field(default_factory=dict)


settings = settings_reader(DecisionSettings)


@cache
def readers() -> logic.Readers:
    return logic.Readers(alarms=Alarms(), ecs=EcsServices(), ec2=Ec2Instances(), sqs=SqsQueues(), iam=IamKeys())


@task_handler(VerifyInput)
def lambda_handler(task: VerifyInput, _context: Any) -> dict[str, Any]:
    check = logic.verify(task.plan, task.action, readers())
    verdict: Outcome = "resolved" if check.resolved else "unresolved"
    record = DecisionLog(Table(settings().keel_decisions_table)).record(
        plan_decision(
            keel=task.keel,
            event_id=task.event_id,
            execution=task.execution,
            step=task.step,
            plan=task.plan,
            action=f"verify:{task.plan.verify.kind}",
            outcome=verdict,
            reason=f"{check.observed} after {task.plan.verify.wait_seconds} s",
            code_version=settings().keel_code_version,
            details={"observed": check.observed},
        )
    )
    return {"resolved": check.resolved, "verdict": verdict, "observed": check.observed, "decision": record_summary(record)}
