"""Lambda entry point for contain_threat."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.contain_threat import logic
from functions.shared.adapters.decision_writer import DecisionWriter
from functions.shared.adapters.resources import Ec2Instances, IamKeys
from functions.shared.remediation.plan import ActInput
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import DecisionSettings, settings_reader

settings = settings_reader(DecisionSettings)


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(
        services=logic.Services(ec2=Ec2Instances(), iam=IamKeys()),
        log=DecisionWriter(settings().keel_decision_writer),
        code_version=settings().keel_code_version,
    )


@task_handler(ActInput)
def lambda_handler(task: ActInput, _context: Any) -> dict[str, Any]:
    return logic.act_and_record(task, dependencies())
