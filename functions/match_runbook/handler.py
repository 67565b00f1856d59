"""Lambda entry point for match_runbook."""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.match_runbook import logic
from functions.match_runbook.catalog import load_catalog
from functions.shared.adapters.alarms import AlarmActions
from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import AccessDeniedError
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.observability import logger


def alarm_tags(alarm_arn: str) -> dict[str, str] | None:
    """The alarm's tags; None when our role may not read them, i.e. the alarm has not opted in
    (the role reads only alarms tagged keel:remediation=enabled)."""
    try:
        with aws_errors(f"ListTagsForResource of {alarm_arn}"):
            response = client("cloudwatch").list_tags_for_resource(ResourceARN=alarm_arn)
    except AccessDeniedError:
        logger.info("alarm tags not readable: the alarm has not opted in to remediation", extra={"alarm": alarm_arn})
        return None
    return {tag["Key"]: tag["Value"] for tag in response.get("Tags", [])}


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(catalog=load_catalog(), read_tags=alarm_tags, alarm_actions=AlarmActions().state)


@task_handler(logic.MatchInput)
def lambda_handler(task: logic.MatchInput, _context: Any) -> dict[str, Any]:
    matched = logic.plan_for(task, dependencies())
    if matched.unchecked:
        logger.warning("not everything could be checked before acting", extra={"unchecked": matched.unchecked})
    return matched.model_dump(mode="json")
