"""Redrive: dead-lettered events of an automation run again, once, with their original event id.

EventBridge's PutEvents gives every event a new id and refuses `aws.*` sources, so a redrive that
went back through the bus would lose the id the claim prologue deduplicates on, and could not
carry CloudWatch or GuardDuty events at all. Redrive therefore starts the rule's target, the
automation's state machine, with the original event as input (exactly what the rule delivers),
under a name derived from the event id: a second redrive of the same event is refused by Step
Functions, and a duplicate that slips through still ends at the prologue's claim.
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra import names
from keel.ops.session import OpsSession, aws_call

BATCH = 10
MAX_MESSAGES = 1000
HOLD_SECONDS = 60


def execution_name(event_id: str) -> str:
    return ("redrive-" + re.sub(r"[^A-Za-z0-9_-]", "-", event_id))[:80]


def redrive(session: OpsSession, automation: str, *, dry_run: bool, limit: int = MAX_MESSAGES) -> dict[str, Any]:
    arn = session.state_machine_arn(automation)
    queue_url = session.dead_letter_queue_url(automation)
    sqs, sfn = session.client("sqs"), session.client("stepfunctions")
    moved: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    held: list[str] = []
    while len(moved) + len(failed) < limit:
        with aws_call(f"read the dead-letter queue of {automation}"):
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=BATCH, VisibilityTimeout=HOLD_SECONDS, MessageAttributeNames=["All"]
            ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            outcome = _redrive_one(sfn, arn, message, dry_run=dry_run)
            (moved if outcome["status"] in ("started", "already-redriven", "would-start") else failed).append(outcome)
            if outcome["status"] in ("started", "already-redriven"):
                with aws_call("delete a redriven message"):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                held.append(message["ReceiptHandle"])
    for receipt in held:
        # Back on the queue at once: a dry run or a failure must leave the dead letters where they were.
        with aws_call("release a dead letter"):
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return {"automation": automation, "dry_run": dry_run, "moved": moved, "failed": failed}


def _redrive_one(sfn: Any, state_machine_arn: str, message: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    attributes = {key: value.get("StringValue") for key, value in message.get("MessageAttributes", {}).items()}
    reason = {"dead_lettered_because": attributes.get("ERROR_CODE"), "message": attributes.get("ERROR_MESSAGE")}
    event, problem = _event_of(message["Body"])
    if event is None:
        return {"event_id": None, "status": "not-an-event", "error": problem, **reason}
    name = execution_name(event["id"])
    if dry_run:
        return {"event_id": event["id"], "status": "would-start", "execution_name": name, **reason}
    if _already_started(sfn, state_machine_arn, name):
        return {"event_id": event["id"], "status": "already-redriven", "execution_name": name, **reason}
    try:
        # Through the live alias, as the rule would have started it: the version events run on now.
        response = sfn.start_execution(stateMachineArn=names.live_alias_arn(state_machine_arn), name=name, input=message["Body"])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code == "ExecutionAlreadyExists":
            return {"event_id": event["id"], "status": "already-redriven", "execution_name": name, **reason}
        return {
            "event_id": event["id"],
            "status": "failed",
            "error": f"{code}: {error.response['Error'].get('Message', '')}",
            **reason,
        }
    return {"event_id": event["id"], "status": "started", "execution_arn": response["executionArn"], **reason}


def _event_of(body: str) -> tuple[dict[str, Any] | None, str]:
    try:
        event = json.loads(body)
    except json.JSONDecodeError:
        return None, "the message body is not JSON"
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return None, "the message has no event id"
    return event, ""


def _already_started(sfn: Any, state_machine_arn: str, name: str) -> bool:
    """Step Functions answers a repeated start of a running execution with the same execution, so
    an earlier redrive is looked up by name rather than inferred from StartExecution."""
    from botocore.exceptions import ClientError

    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    try:
        sfn.describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return False
        raise
    return True
