"""Lambda entry point for verify_remediation."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.resources import Alarms, Ec2Instances, EcsServices, IamKeys, SqsQueues
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader
from functions.verify_remediation import logic

settings = settings_reader(DecisionSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        readers=logic.Readers(alarms=Alarms(), ecs=EcsServices(), ec2=Ec2Instances(), sqs=SqsQueues(), iam=IamKeys()),
        log=DecisionWriter(settings().keel_decision_writer),
        code_version=settings().keel_code_version,
    )


@task_handler(logic.VerifyInput)
def lambda_handler(task: logic.VerifyInput, _context: Any) -> dict[str, Any]:
    return logic.verify_and_record(task, dependencies())
