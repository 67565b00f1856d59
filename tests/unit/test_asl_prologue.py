"""infra/asl.py: reading ASL files, finding task-token waits, and the claim prologue."""

from __future__ import annotations

import copy
import json

import pytest

from infra import asl
from infra.errors import KeelConfigError

TEAM_DEFINITION = {
    "Comment": "The team's workflow",
    "StartAt": "Classify",
    "TimeoutSeconds": 300,
    "States": {
        "Classify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${classify}"},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
CONTEXT = {"automation": "ticket_triage", "version": "2.1.0", "environment": "dev"}


def waiting(name: str) -> dict:
    return {name: {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True}}


def test_the_prologue_claims_the_event_before_the_teams_start_state() -> None:
    # Given a team's definition
    original = copy.deepcopy(TEAM_DEFINITION)

    # When it is wrapped in the prologue
    wrapped = asl.with_prologue(TEAM_DEFINITION, "ticket_triage", CONTEXT)

    # Then the execution starts by claiming the event id with a conditional write, then runs the team's StartAt
    assert wrapped["StartAt"] == asl.CLAIM_STATE
    claim = wrapped["States"][asl.CLAIM_STATE]
    assert claim["Resource"] == "arn:aws:states:::dynamodb:putItem"
    assert claim["Parameters"]["TableName"] == "${KeelIdempotencyTable}"
    assert claim["Parameters"]["ConditionExpression"] == "attribute_not_exists(id) OR #status = :failed"
    assert claim["Parameters"]["ExpressionAttributeValues"] == {":failed": {"S": "failed"}}
    assert claim["Parameters"]["Item"]["id"] == {"S.$": "States.Format('claim#ticket_triage#{}', $.id)"}
    assert claim["Parameters"]["Item"]["status"] == {"S": "running"}
    assert set(claim["Parameters"]["Item"]["expiration"]) == {"N.$"}
    assert claim["Next"] == "Classify"
    # And a duplicate delivery ends in the duplicate state instead of running the workflow
    assert claim["Catch"] == [
        {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": None, "Next": asl.DUPLICATE_STATE}
    ]
    duplicate = wrapped["States"][asl.DUPLICATE_STATE]
    assert duplicate["Type"] == "Pass"
    assert duplicate["End"] is True
    assert duplicate["Parameters"]["automation"] == "ticket_triage"
    # And the workflow receives the platform context under $.keel
    assert claim["ResultSelector"] == CONTEXT
    assert claim["ResultPath"] == "$.keel"
    # And the team's states and top-level settings are kept, the input left untouched
    assert {k: v for k, v in wrapped["States"].items() if not k.startswith("Keel")} == TEAM_DEFINITION["States"]
    assert (wrapped["Comment"], wrapped["TimeoutSeconds"]) == ("The team's workflow", 300)
    assert original == TEAM_DEFINITION


def test_the_claim_key_matches_the_event_claim_helper() -> None:
    # Given the prologue and the Python helper used outside workflows
    from functions.shared.domain.event_claim import claim_key

    wrapped = asl.with_prologue(TEAM_DEFINITION, "ticket_triage", CONTEXT)
    template = wrapped["States"][asl.CLAIM_STATE]["Parameters"]["Item"]["id"]["S.$"]

    # When both build the key for one event / Then they agree
    prologue_key = template.removeprefix("States.Format('").split("'")[0].replace("{}", "evt-1")
    assert prologue_key == claim_key("ticket_triage", "evt-1")


def evaluate_expiry(expression: str, start_time: str) -> int:
    """What Step Functions computes from the claim's expiry intrinsic for an execution started then."""
    table_text = expression.split("States.Array(", 1)[1].split(")", 1)[0]
    table = [item.strip().strip("'") for item in table_text.split(",")]
    offset = int(expression.rsplit("-", 1)[1].rstrip(")"))
    return int(table[int(start_time.split("-", maxsplit=1)[0]) - offset])


@pytest.mark.parametrize(
    ("start_time", "expires"),
    [
        ("2026-12-06T09:30:00.123Z", "2028-01-01T00:00:00+00:00"),
        ("2026-01-01T00:00:00Z", "2028-01-01T00:00:00+00:00"),
        ("2031-12-31T23:59:59.999Z", "2033-01-01T00:00:00+00:00"),
        ("2093-06-01T00:00:00Z", "2095-01-01T00:00:00+00:00"),
    ],
)
def test_a_claim_expires_on_the_first_of_january_two_years_after_its_execution_started(start_time, expires) -> None:
    # Given the claim's expiry intrinsic / When an execution started at that time evaluates it
    claim = asl.with_prologue(TEAM_DEFINITION, "ticket_triage", CONTEXT)["States"][asl.CLAIM_STATE]
    expiration = evaluate_expiry(claim["Parameters"]["Item"]["expiration"]["N.$"], start_time)

    # Then the TTL (epoch seconds) is 1 January two years on: at least a year, at most two
    from datetime import UTC, datetime

    assert datetime.fromtimestamp(expiration, UTC).isoformat() == expires


def test_synth_refuses_a_claim_expiry_table_about_to_run_out() -> None:
    from datetime import UTC, datetime

    with pytest.raises(ValueError, match="the claim expiry table ends in 2099"):
        asl.claim_expiry_expression(datetime(2095, 1, 1, tzinfo=UTC))


def test_the_prologue_retries_only_throttling_and_server_errors() -> None:
    # Given the wrapped definition
    claim = asl.with_prologue(TEAM_DEFINITION, "ticket_triage", CONTEXT)["States"][asl.CLAIM_STATE]

    # When its retry policy is read / Then a lost condition is never retried
    retried = {error for retrier in claim["Retry"] for error in retrier["ErrorEquals"]}
    assert "DynamoDB.ConditionalCheckFailedException" not in retried
    assert "DynamoDB.ThrottlingException" in retried


@pytest.mark.parametrize("reserved", [asl.CLAIM_STATE, asl.DUPLICATE_STATE])
def test_reserved_state_names_cannot_be_wrapped(reserved) -> None:
    # Given a definition that already uses a prologue state name
    definition = {"StartAt": reserved, "States": {reserved: {"Type": "Succeed"}}}

    # When it is wrapped / Then it is refused
    with pytest.raises(ValueError, match=f"state name '{reserved}' is reserved"):
        asl.with_prologue(definition, "x", {})


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"StartAt": "A", "States": waiting("A")}, ["A"]),
        (
            {
                "StartAt": "P",
                "States": {"P": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "B", "States": waiting("B")}]}},
            },
            ["B"],
        ),
        (
            {
                "StartAt": "M",
                "States": {"M": {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "I", "States": waiting("I")}}},
            },
            ["I"],
        ),
        (
            {
                "StartAt": "M",
                "States": {"M": {"Type": "Map", "End": True, "Iterator": {"StartAt": "Old", "States": waiting("Old")}}},
            },
            ["Old"],
        ),
        (
            {
                "StartAt": "P",
                "States": {
                    "P": {
                        "Type": "Parallel",
                        "End": True,
                        "Branches": [
                            {
                                "StartAt": "M",
                                "States": {
                                    "M": {
                                        "Type": "Map",
                                        "End": True,
                                        "ItemProcessor": {"StartAt": "Deep", "States": waiting("Deep")},
                                    }
                                },
                            }
                        ],
                    }
                },
            },
            ["Deep"],
        ),
        (TEAM_DEFINITION, []),
        ({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.sync", "End": True}}}, []),
    ],
    ids=["top-level", "parallel-branch", "map-item-processor", "map-iterator", "map-in-parallel", "none", "sync-is-not-a-wait"],
)
def test_task_token_waits_are_found_at_any_depth(definition, expected) -> None:
    # Given a definition / When its waiting states are listed / Then nested ones are found too
    assert asl.waits_for_task_token(definition) == expected


def test_substitutions_are_found_anywhere_in_the_definition() -> None:
    # Given substitutions in parameters of nested states
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "T",
                        "States": {
                            "T": {
                                "Type": "Task",
                                "Resource": "${fn_a}",
                                "Parameters": {"T": "${KeelDecisionsTable}"},
                                "End": True,
                            }
                        },
                    }
                ],
            }
        },
    }

    # When they are collected / Then both names are returned, and $.paths are not mistaken for them
    assert asl.substitutions_used(definition) == {"fn_a", "KeelDecisionsTable"}
    assert asl.substitutions_used({"States": {"A": {"InputPath": "$.detail", "Parameters": {"x.$": "$$.Execution.Id"}}}}) == set()


def test_a_valid_file_is_parsed(tmp_path) -> None:
    # Given an ASL file on disk
    path = tmp_path / "ok.asl.json"
    path.write_text(json.dumps(TEAM_DEFINITION))

    # When it is loaded / Then the definition comes back as a dict
    assert asl.load_asl(path) == TEAM_DEFINITION


@pytest.mark.parametrize(
    ("definition", "field", "complaint"),
    [
        ([], "(document)", "must be a JSON object"),
        ({"StartAt": "A"}, "States", "non-empty object"),
        ({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}, "StartAt", "'Nope' is not one of the States"),
        ({"StartAt": "A", "States": {"A": {"Next": "B"}}}, "States.A", "each state must be an object with a Type"),
        ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}, "States.A.Next", "'Gone' is not one of the States"),
        ({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [], "Default": "Gone"}}}, "States.A.Default", "'Gone'"),
        (
            {
                "StartAt": "P",
                "States": {
                    "P": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "X", "States": {"Y": {"Type": "Succeed"}}}]}
                },
            },
            "States.P.Branches[0].StartAt",
            "'X' is not one of the States",
        ),
        (
            {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "I", "States": {}}}}},
            "States.M.ItemProcessor.States",
            "non-empty object",
        ),
    ],
)
def test_a_malformed_definition_names_the_bad_part(tmp_path, definition, field, complaint) -> None:
    # Given an ASL file with a structural problem
    path = tmp_path / "bad.asl.json"
    path.write_text(json.dumps(definition))

    # When it is loaded / Then the file and the path to the bad part are named
    with pytest.raises(KeelConfigError) as caught:
        asl.load_asl(path)
    assert (caught.value.path, caught.value.field) == (str(path), field)
    assert complaint in caught.value.message


@pytest.mark.parametrize("scope", ["ticket_triage", "ticket_triage#shadow"])
def test_the_prologue_gives_keels_claim_releases_the_scope_it_claims_under(scope: str) -> None:
    # Given a completed workflow whose release (written before the prologue) names no scope yet
    definition = {
        "StartAt": "Stop",
        "States": {
            "Release": {
                "Type": "Pass",
                "Parameters": {"id.$": f"States.Format('claim#{asl.CLAIM_SCOPE}#{{}}', $.id)"},
                "Next": "Stop",
            },
            "Stop": {"Type": "Fail"},
        },
    }

    # When the prologue claims under the automation's scope (or its shadow's)
    wrapped = asl.with_prologue(definition, scope, CONTEXT)

    # Then the release gives back the very claim the prologue took
    claimed = wrapped["States"][asl.CLAIM_STATE]["Parameters"]["Item"]["id"]["S.$"]
    released = wrapped["States"]["Release"]["Parameters"]["id.$"]
    assert claimed == released == f"States.Format('claim#{scope}#{{}}', $.id)"
