"""Reading ASL files and wrapping them in Keel's standard prologue.

The prologue claims the event id with a conditional write before the team's workflow starts, so a
duplicate delivery (EventBridge is at-least-once) ends as "duplicate" instead of acting twice. It
also hands the workflow its settings under `$.keel` (automation, version, environment, limits),
through the claim's ResultSelector so it costs no extra state transition.

A claim is `running` while its execution runs and after it succeeds. Keel's failure path marks it
`failed` (infra/workflow_defaults.py), and a later delivery of the same event takes a failed claim
over: a failed event can run again, a duplicate of a running or succeeded one cannot. Every claim
expires through the idempotency table's TTL attribute (`expiration`, epoch seconds).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.shared.domain import event_claim
from infra.errors import KeelConfigError
from infra.json_documents import read_json_document

SUBSTITUTION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CLAIM_STATE = "KeelClaimEvent"
DUPLICATE_STATE = "KeelDuplicateEvent"
CLAIM_TTL_ATTRIBUTE, CLAIM_RUNNING, CLAIM_FAILED = event_claim.TTL_ATTRIBUTE, event_claim.RUNNING, event_claim.FAILED
# DynamoDB's TTL wants epoch seconds, and JSONPath has no date arithmetic: the prologue looks the
# expiry (event_claim.claim_expiry: 1 January two years on) up by the year of $$.Execution.StartTime
# in a table synthesized here. Synth refuses a table that ends within five years of the year it runs in.
CLAIM_YEARS = range(2024, 2100)
# Where a claim's key names its scope in states written before the prologue is added (Keel's claim
# releases): the automation's name, or its shadow's, which with_prologue puts in its place.
CLAIM_SCOPE = "<keel-claim-scope>"
# A state's name: "Length Constraints: Minimum length of 1. Maximum length of 80."
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html)
MAX_STATE_NAME = 80
# Substitutions the platform fills in for every state machine.
PLATFORM_SUBSTITUTIONS = frozenset(
    {"KeelIdempotencyTable", "KeelApprovalsTable", "KeelEventBus", "KeelOncallTopic", "KeelEscalationTopic"}
)
# Not one of them: a state machine writing the decisions table would be a second writer of the record.
DECISIONS_TABLE = "KeelDecisionsTable"


def load_asl(path: Path) -> dict[str, Any]:
    """Parse an ASL file and check the shape every state machine needs."""
    definition = read_json_document(path, "the ASL file", read_field="workflow.definition")
    if not isinstance(definition, dict):
        raise KeelConfigError(path, "(document)", "an ASL definition must be a JSON object")
    _check_states(path, definition, "")
    return definition


def _check_states(path: Path, machine: dict[str, Any], where: str) -> None:
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        raise KeelConfigError(path, f"{where}States", "must be a non-empty object of states")
    start = machine.get("StartAt")
    if start not in states:
        raise KeelConfigError(path, f"{where}StartAt", f"'{start}' is not one of the States")
    for name, state in states.items():
        if not isinstance(state, dict) or "Type" not in state:
            raise KeelConfigError(path, f"{where}States.{name}", "each state must be an object with a Type")
        for key in ("Next", "Default"):
            target = state.get(key)
            if target is not None and target not in states:
                raise KeelConfigError(path, f"{where}States.{name}.{key}", f"'{target}' is not one of the States")
        for index, branch in enumerate(state.get("Branches", [])):
            _check_states(path, branch, f"{where}States.{name}.Branches[{index}].")
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                _check_states(path, state[key], f"{where}States.{name}.{key}.")


def iter_states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Parallel branches and Map processors."""
    for name, state in machine.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from iter_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from iter_states(state[key])


def definition_hash(definition: dict[str, Any]) -> str:
    """sha256 of the team's definition, canonical JSON: recorded on every decision."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def substitutions_used(definition: dict[str, Any]) -> set[str]:
    return set(SUBSTITUTION.findall(json.dumps(definition)))


def waits_for_task_token(definition: dict[str, Any]) -> list[str]:
    """Names of the states that pause for a task token (not allowed in express workflows)."""
    return [
        name
        for name, state in iter_states(definition)
        if isinstance(state.get("Resource"), str) and state["Resource"].endswith(".waitForTaskToken")
    ]


def with_prologue(definition: dict[str, Any], automation: str, context: dict[str, Any]) -> dict[str, Any]:
    """The team's definition with the claim prologue in front of its StartAt."""
    states = definition["States"]
    for reserved in (CLAIM_STATE, DUPLICATE_STATE):
        if reserved in states:
            raise ValueError(f"state name '{reserved}' is reserved for the Keel prologue")
    claim = {
        "Type": "Task",
        "Comment": "Keel prologue: claim the event id so a duplicate delivery does not run twice.",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {
            "TableName": "${KeelIdempotencyTable}",
            "Item": {
                "id": {"S.$": f"States.Format('claim#{automation}#{{}}', $.id)"},
                "execution": {"S.$": "$$.Execution.Id"},
                "claimed_at": {"S.$": "$$.Execution.StartTime"},
                "status": {"S": CLAIM_RUNNING},
                CLAIM_TTL_ATTRIBUTE: {"N.$": claim_expiry_expression()},
            },
            # Nobody holds it, or its holder failed (Keel's failure path said so): this execution runs.
            "ConditionExpression": "attribute_not_exists(id) OR #status = :failed",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":failed": {"S": CLAIM_FAILED}},
        },
        "ResultSelector": context,
        "ResultPath": "$.keel",
        "Retry": [
            {
                "ErrorEquals": [
                    "DynamoDB.ProvisionedThroughputExceededException",
                    "DynamoDB.ThrottlingException",
                    "DynamoDB.InternalServerErrorException",
                    "DynamoDB.RequestLimitExceeded",
                ],
                "IntervalSeconds": 1,
                "MaxAttempts": 4,
                "BackoffRate": 2.0,
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": None, "Next": DUPLICATE_STATE}],
        "Next": definition["StartAt"],
    }
    duplicate = {
        "Type": "Pass",
        "Comment": "Keel prologue: this event id was already claimed by an earlier execution.",
        "Parameters": {"duplicate": True, "automation": automation, "event_id.$": "$.id"},
        "End": True,
    }
    wrapped = {key: value for key, value in definition.items() if key not in ("StartAt", "States")}
    wrapped["StartAt"] = CLAIM_STATE
    scoped = json.loads(json.dumps(states).replace(CLAIM_SCOPE, automation))
    wrapped["States"] = {CLAIM_STATE: claim, DUPLICATE_STATE: duplicate, **scoped}
    return wrapped


def claim_expiry_expression(now: datetime | None = None) -> str:
    """The intrinsic that picks a claim's expiry by its execution's start year (ISO 8601, 'YYYY-...')."""
    year = (now or datetime.now(UTC)).year
    if year + 5 > CLAIM_YEARS[-1]:
        raise ValueError(f"the claim expiry table ends in {CLAIM_YEARS[-1]}: extend infra/asl.py CLAIM_YEARS")
    table = ", ".join(f"'{event_claim.claim_expiry(year)}'" for year in CLAIM_YEARS)
    start_year = "States.StringToJson(States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, '-'), 0))"
    return f"States.ArrayGetItem(States.Array({table}), States.MathAdd({start_year}, -{CLAIM_YEARS[0]}))"
