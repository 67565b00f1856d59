"""What Keel fills in to a workflow: payload header, Retry, Catch and the failure path, only where
the author wrote none."""

from __future__ import annotations

from typing import Any

import pytest

from infra import workflow_defaults as defaults
from infra.function_spec import Effects

MODULES: dict[str, Effects] = {"plan": "read_only", "act": "not_idempotent", "record_decision": "idempotent"}


def plan(**changes: Any) -> defaults.WorkflowPlan:
    return defaults.WorkflowPlan(**({"modules": MODULES, "failure_state": None, "notify": "oncall"} | changes))


def invoke(module: str, **state: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": defaults.LAMBDA_INVOKE, "Parameters": {"FunctionName": f"${{{module}}}"}} | state


def workflow(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def errors_retried(state: dict[str, Any]) -> list[str]:
    [retry] = state["Retry"]
    return list(retry["ErrorEquals"])


def test_a_module_task_gets_the_payload_header_retry_and_catch() -> None:
    # Given a task that names only its module and its own payload field
    written = workflow(Plan=invoke("plan", Parameters={"FunctionName": "${plan}", "Payload": {"alarm.$": "$.detail"}}, End=True))

    # When Keel completes it
    state = defaults.with_defaults(written, plan())["States"]["Plan"]

    # Then the payload starts with the standard header, then the author's field
    assert state["Parameters"]["Payload"] == {
        "event_id.$": "$.id",
        "execution.$": "$$.Execution.Id",
        "keel.$": "$.keel",
        "step.$": "$$.State.Name",
        "alarm.$": "$.detail",
    }
    # And it retries transient, throttled and Lambda service errors with full jitter, timeouts too (read-only)
    [retry] = state["Retry"]
    assert retry["JitterStrategy"] == "FULL"
    assert retry["MaxAttempts"] == 4
    assert {"TransientError", "ThrottledError", "Lambda.ServiceException", "Lambda.AWSLambdaException"} <= set(
        retry["ErrorEquals"]
    )
    assert "Sandbox.Timedout" in retry["ErrorEquals"]
    # And a decision-chain append that lost every race of its backoff is tried again (a repeat is safe)
    assert "ConflictError" in retry["ErrorEquals"]
    # And anything else goes to Keel's failure path, keeping the error
    assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "KeelRecordFailure"}]


def test_a_not_idempotent_module_is_not_retried_after_a_timeout_or_a_conflict() -> None:
    # Given an action module (it may have acted before its record conflicted) / When completed
    state = defaults.with_defaults(workflow(Act=invoke("act", End=True)), plan())["States"]["Act"]

    # Then only what cannot have acted is retried
    assert "Lambda.ServiceException" in errors_retried(state)
    assert not {"Sandbox.Timedout", "Lambda.Unknown", "ConflictError"} & set(errors_retried(state))


def test_what_the_author_wrote_is_kept() -> None:
    # Given a task with its own Retry (none), a catch-all of its own and a payload from a path
    own_catch = [{"ErrorEquals": ["States.ALL"], "Next": "Cleanup"}]
    written = workflow(
        Act=invoke(
            "act",
            Parameters={"FunctionName": "${act}", "Payload.$": "$.request"},
            Retry=[],
            Catch=own_catch,
            Next="Cleanup",
        ),
        Cleanup={"Type": "Succeed"},
    )

    # When Keel completes it / Then nothing of it changed, and no failure path is added (none leads there)
    completed = defaults.with_defaults(written, plan())
    assert completed == written
    assert defaults.RECORD_FAILURE not in completed["States"]


def test_a_catch_list_without_a_catch_all_gets_one_appended() -> None:
    rejected = {"ErrorEquals": ["ApprovalRejected"], "ResultPath": "$.rejection", "Next": "Rejected"}
    written = workflow(
        Ask=invoke("act", Resource=defaults.WAIT_FOR_TASK_TOKEN, Catch=[rejected], End=True), Rejected={"Type": "Succeed"}
    )

    state = defaults.with_defaults(written, plan())["States"]["Ask"]

    assert [catcher["ErrorEquals"] for catcher in state["Catch"]] == [["ApprovalRejected"], ["States.ALL"]]
    # A task token task is handed its token too
    assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"


def test_keels_failure_path_records_tells_the_route_and_fails_with_the_original_error() -> None:
    completed = defaults.with_defaults(workflow(Act=invoke("act", End=True)), plan(notify="escalation"))
    states = completed["States"]

    record, notify, unrecorded, release, failed = (states[name] for name in defaults.FAILURE_STATES)
    assert record["Parameters"]["FunctionName"] == "${record_decision}"
    assert record["Parameters"]["Payload"]["outcome"] == "failed"
    assert record["Parameters"]["Payload"]["step.$"] == "$$.State.Name"
    assert record["Parameters"]["Payload"]["failure.$"] == "$.error"
    # The page carries the recorded reason; a failure to record still tells the route, saying so
    assert (record["Next"], record["Catch"][0]["Next"]) == (defaults.NOTIFY_FAILURE, defaults.NOTIFY_UNRECORDED)
    assert "$.recorded.reason" in notify["Parameters"]["Message.$"]
    assert "could not be recorded" in unrecorded["Parameters"]["Message.$"]
    assert "keel ops explain {} --env {} --region {}" in notify["Parameters"]["Message.$"]
    # An unrecorded failure has no decision to explain: its page points at the execution's history
    assert "keel ops show {} --env {} --region {}" in unrecorded["Parameters"]["Message.$"]
    for page in (notify, unrecorded):
        assert page["Parameters"]["TopicArn"] == "${KeelEscalationTopic}"
        assert "run it again: `keel ops redrive {} --failed --env {} --region {}`" in page["Parameters"]["Message.$"]
        # A failure to tell still releases the claim and fails the execution
        assert (page["Next"], page["Catch"][0]["Next"]) == (defaults.RELEASE_CLAIM, defaults.RELEASE_CLAIM)
    # The event's claim is marked failed, only while this execution holds it, so the event can run again
    assert release["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert release["Parameters"]["ConditionExpression"] == "#execution = :me"
    assert release["Parameters"]["ExpressionAttributeValues"][":me"] == {"S.$": "$$.Execution.Id"}
    assert release["Parameters"]["ExpressionAttributeValues"][":failed"] == {"S": "failed"}
    assert release["Parameters"]["Key"] == {"id": {"S.$": "States.Format('claim#<keel-claim-scope>#{}', $$.Execution.Input.id)"}}
    assert (release["Next"], release["Catch"][0]["Next"]) == (defaults.FAILED, defaults.FAILED)
    assert (failed["ErrorPath"], failed["CausePath"]) == ("$.error.Error", "$.error.Cause")


def test_the_authors_failure_path_is_used_and_does_not_catch_into_itself() -> None:
    # Given a workflow with its own failure path (Report -> Fail)
    written = workflow(
        Act=invoke("act", Next="Done"),
        Done={"Type": "Succeed"},
        Report=invoke("record_decision", Next="Failed"),
        Failed={"Type": "Fail"},
    )

    # When Keel completes it naming Report as the failure state
    states = defaults.with_defaults(written, plan(failure_state="Report"))["States"]

    # Then tasks catch into Report, Report itself does not (a failure there would loop), and Keel adds no path
    assert states["Act"]["Catch"][0]["Next"] == "Report"
    assert "Catch" not in states["Report"]
    assert not set(defaults.FAILURE_STATES) & set(states)


def test_states_inside_a_map_get_retries_but_catch_at_the_map() -> None:
    inner = workflow(Each=invoke("plan", End=True))
    written = workflow(Fan={"Type": "Map", "ItemProcessor": inner, "End": True})

    fan = defaults.with_defaults(written, plan())["States"]["Fan"]

    each = fan["ItemProcessor"]["States"]["Each"]
    assert "Retry" in each
    assert "Catch" not in each
    assert fan["Catch"][0]["Next"] == defaults.RECORD_FAILURE


def test_sns_publish_tasks_retry_snss_transient_errors() -> None:
    notify = {"Type": "Task", "Resource": defaults.SNS_PUBLISH, "Parameters": {"TopicArn": "${KeelOncallTopic}"}, "End": True}

    state = defaults.with_defaults(workflow(Notify=notify), plan())["States"]["Notify"]

    assert errors_retried(state) == list(defaults.SNS_TRANSIENT)
    assert state["Catch"][0]["Next"] == defaults.RECORD_FAILURE


def test_a_task_invoking_something_other_than_a_module_gets_no_payload_header() -> None:
    written = workflow(Other=invoke("not_a_module", End=True))

    state = defaults.with_defaults(written, plan())["States"]["Other"]

    assert "Payload" not in state["Parameters"]
    assert "Retry" not in state


def test_a_shared_workflow_is_bound_to_the_automations_module() -> None:
    shared = workflow(Act=invoke("act_with", Comment="runs ${act_with}", End=True))

    bound = defaults.bind(shared, {"act_with": "contain_threat"})

    assert bound["States"]["Act"]["Parameters"]["FunctionName"] == "${contain_threat}"
    assert bound["States"]["Act"]["Comment"] == "runs ${contain_threat}"
    assert shared["States"]["Act"]["Parameters"]["FunctionName"] == "${act_with}"


def test_keels_failure_path_needs_the_decision_writer() -> None:
    with pytest.raises(ValueError, match="record_decision"):
        defaults.failure_path({"act": "not_idempotent"}, "oncall")


def test_each_of_the_authors_fail_states_gives_the_event_back_first() -> None:
    # Given a workflow ending at Fail states of its own, reached every way a state can be reached
    definition = workflow(
        Decide={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Refused"}], "Default": "Act"},
        Act=invoke("act", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Undo"}], End=True),
        Undo=invoke("plan", Next="Compensated"),
        Refused={"Type": "Fail", "Error": "Refused"},
        Compensated={"Type": "Fail", "Error": "Compensated"},
    )

    # When Keel completes it
    states = defaults.with_defaults(definition, plan())["States"]

    # Then every way into a Fail state goes through a claim release that then ends there, keyed by the
    # execution's own input (the state may have been reshaped by then)
    assert states["Decide"]["Choices"][0]["Next"] == "KeelReleaseClaimRefused"
    assert states["Undo"]["Next"] == "KeelReleaseClaimCompensated"
    for fail in ("Refused", "Compensated"):
        release = states[f"KeelReleaseClaim{fail}"]
        assert release["Resource"] == "arn:aws:states:::dynamodb:updateItem"
        assert (release["Next"], release["Catch"][0]["Next"]) == (fail, fail)
        assert release["Parameters"]["Key"]["id"]["S.$"].endswith("$$.Execution.Input.id)")
    # and Keel's own failure path (which releases before its Fail) is left as it is
    assert states["KeelReleaseClaim"]["Next"] == "KeelFailed"
    assert "KeelReleaseClaimKeelFailed" not in states


def test_a_workflow_that_starts_at_a_fail_state_starts_at_its_release() -> None:
    # Given a workflow whose first state fails
    definition = workflow(Stop={"Type": "Fail", "Error": "Disabled"})

    # When Keel completes it / Then it starts by giving the event back
    completed = defaults.with_defaults(definition, plan())
    assert completed["StartAt"] == "KeelReleaseClaimStop"
    assert completed["States"]["KeelReleaseClaimStop"]["Next"] == "Stop"


def test_a_release_name_is_cut_to_step_functions_limit_and_never_replaces_a_state() -> None:
    # Given a Fail state whose name leaves no room for the prefix, and a state with the cut name already
    long = "F" * 80
    taken = ("KeelReleaseClaim" + long)[:80]
    definition = workflow(Go={"Type": "Pass", "Next": long}, **{long: {"Type": "Fail"}, taken: {"Type": "Pass", "End": True}})

    # When Keel completes it / Then it refuses rather than overwrite that state
    with pytest.raises(ValueError, match="is reserved for the claim release before"):
        defaults.with_defaults(definition, plan())
