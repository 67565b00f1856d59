"""Lambda entry point for contain_threat."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.contain_threat import logic
from functions.shared.act_handler import act_and_record
from functions.shared.adapters.resources import Ec2Instances, IamKeys
from functions.shared.handler import task_handler
from functions.shared.remediation import ActInput


@cache
def services() -> logic.Services:
    return logic.Services(ec2=Ec2Instances(), iam=IamKeys())


@task_handler(ActInput)
def lambda_handler(task: ActInput, _context: Any) -> dict[str, Any]:
    return act_and_record(task, lambda: logic.act(task.plan, task.execution, services()))
