"""Lambda entry point for remediate_service."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.remediate_service import logic
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.resources import Ec2Instances, EcsServices, SqsQueues
from functions.shared.remediation.plan import ActInput
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader

settings = settings_reader(DecisionSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        services=logic.Services(ecs=EcsServices(), ec2=Ec2Instances(), sqs=SqsQueues()),
        log=DecisionWriter(settings().keel_decision_writer),
        code_version=settings().keel_code_version,
    )


@task_handler(ActInput)
def lambda_handler(task: ActInput, _context: Any) -> dict[str, Any]:
    return logic.act_and_record(task, dependencies())
