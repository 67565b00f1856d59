"""Lambda entry point for match_runbook."""

from __future__ import annotations

from typing import Any

from functions.match_runbook import logic
from functions.match_runbook.catalog import load_catalog
from functions.shared.adapters.aws import aws_errors, client
from functions.shared.errors import AccessDeniedError
from functions.shared.handler import task_handler
from functions.shared.models import TaskInput
from functions.shared.observability import logger


class MatchInput(TaskInput):
    step: str
    event: logic.SourceEvent


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


@task_handler(MatchInput)
def lambda_handler(task: MatchInput, _context: Any) -> dict[str, Any]:
    return logic.plan_for(task.event, load_catalog(), alarm_tags).model_dump(mode="json")
