"""user_onboarding end to end on the local cloud, its external APIs played by the fakes of apis/*.yaml.

One cloud runs the scenarios one after another, each with its own user: the happy path with the
chained onboarding_audit and a second signup of the same user, Retry-After, 5xx and a timeout, a
rotation's 401, and a billing failure that is compensated. Then nothing the run left (logs, execution
histories, decision records, the fake APIs' request log, the report) holds a credential.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from keel.local.cloud import LocalCloud
from keel.local.fake_apis import ApiFault
from keel.local.render import as_json
from keel.local.report import ExecutionReport, execution_report, run_report
from keel.local.runner import LocalRun
from keel.local.template import EnvironmentTemplate
from keel.local.world import apply_worlds, template_variables, worlds_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "events" / "user_onboarding" / "01-signed-up.json"
ROTATED_CRM_KEY = {"api_key": "local-crm-key-rotated-90e1d3"}


def signup(user_id: str, event_id: str) -> dict[str, Any]:
    event = copy.deepcopy(json.loads(SAMPLE.read_text()))
    event["id"] = event_id
    event["detail"].update(user_id=user_id, email=f"{user_id}@example.org", name=f"User {user_id}")
    return event


def declared_credentials() -> list[str]:
    """Every credential value the fakes' declarations hold, and the one a rotation gives."""
    values = [*ROTATED_CRM_KEY.values()]
    for path in (ROOT / "apis").glob("*.yaml"):
        values += list(yaml.safe_load(path.read_text())["credentials"].values())
    return values


@pytest.fixture(scope="module")
def cloud(dev_template: EnvironmentTemplate) -> Iterator[LocalCloud]:
    with LocalCloud(dev_template) as running:
        apply_worlds(worlds_for([SAMPLE]), running.client, template_variables(dev_template.account, dev_template.region))
        yield running


def onboard(cloud: LocalCloud, *events: dict[str, Any]) -> list[ExecutionReport]:
    """Deliver the signups, drive everything they start (the chained audits too); their onboardings."""
    started = [
        delivery.execution_arn for event in events for delivery in cloud.deliver(event) if "user_onboarding" in delivery.rule
    ]
    cloud.drive()
    return [execution_report(cloud, arn) for arn in started if arn]


def visits(execution: ExecutionReport, name: str) -> list[Any]:
    return [state for state in execution.states if state.name == name]


def contacts(cloud: LocalCloud) -> dict[str, Any]:
    assert cloud.apis is not None
    return cloud.apis.fakes["crm"].items.get("contacts", {})


def test_a_signup_is_onboarded_once_per_user_and_its_event_runs_the_chained_audit(cloud: LocalCloud) -> None:
    # Given a signup, and the app sending the same user's signup again under a new event id
    first, again = signup("usr_happy", "evt-happy-1"), signup("usr_happy", "evt-happy-2")

    # When both run
    executions = onboard(cloud, first, again)

    # Then both succeed, yet the CRM and billing hold one record each (the second create is replayed)
    assert [execution.status for execution in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert "usr_happy" in contacts(cloud)
    assert cloud.apis is not None
    creates = [request for request in cloud.apis.log("crm") if request.path == "/contacts" and request.method == "POST"]
    assert [request.replayed for request in creates if request.status == 201][-2:] == [False, True]
    # and the emails went once each (welcome, then the follow-up: the user never signed in)
    assert cloud.client("ses").get_send_quota()["SentLast24Hours"] == 2
    # and each emitted "User Onboarded" ran onboarding_audit to its end in the same run
    audits = [d.execution_arn for d in cloud.deliveries if d.rule.startswith("keel-dev-onboarding_audit") and d.execution_arn]
    assert len(audits) == 2
    assert {cloud.execution_status(arn) for arn in audits} == {"SUCCEEDED"}
    assert cloud.blocked == {}


def test_429_retry_after_5xx_and_a_timeout_are_waited_out_or_retried(cloud: LocalCloud) -> None:
    # Given the CRM answers 429 twice (Retry-After: 2), then billing answers 503 twice and then not in time
    cloud.faults.apis.extend([ApiFault("crm", "429", 2), ApiFault("billing", "503", 2), ApiFault("billing", "timeout", 1)])

    # When a signup runs
    [execution] = onboard(cloud, signup("usr_faults", "evt-faults-1"))

    # Then it succeeds: each 429 waited its Retry-After in a Wait state (virtual time), the 5xx and the
    # timeout were retried by the workflow's Retry with backoff
    assert execution.status == "SUCCEEDED"
    waits = visits(execution, "CreateContactWaitRetryAfter")
    assert len(waits) == 2
    assert [wait.duration_ms for wait in waits] == [pytest.approx(2000, abs=50)] * 2
    [customer] = visits(execution, "CreateCustomer")
    assert customer.attempts == 4
    assert [error["error"] for error in customer.errors] == ["TransientError"] * 3
    assert "no answer within its timeout" in customer.errors[-1]["cause"]


def test_after_a_rotation_a_cached_key_gets_one_401_and_the_call_goes_through(cloud: LocalCloud) -> None:
    # Given the CRM's key rotated (the API and the secret hold the new one) while call_api caches the old
    assert cloud.apis is not None
    cloud.rotate_api_credentials("crm", ROTATED_CRM_KEY)
    before = len(cloud.apis.log("crm"))

    # When a signup runs
    [execution] = onboard(cloud, signup("usr_rotated", "evt-rotated-1"))

    # Then its first CRM call was refused once, the secret read again, and the call sent once more
    assert execution.status == "SUCCEEDED"
    statuses = [request.status for request in cloud.apis.log("crm")[before:]]
    assert statuses[:2] == [401, 201]
    assert statuses.count(401) == 1


def test_a_billing_customer_refused_for_good_undoes_the_crm_contact_and_says_so(cloud: LocalCloud) -> None:
    # Given billing refuses the new customer (400: not retried)
    cloud.faults.apis.append(ApiFault("billing", "400", 1))

    # When a signup runs
    [execution] = onboard(cloud, signup("usr_refused", "evt-refused-1"))

    # Then the contact created first is deleted again, and the decision record says why
    assert (execution.status, execution.error) == ("FAILED", "OnboardingCompensated")
    assert [state.name for state in execution.states][-3:] == ["UndoContactAnswered", "RecordCompensation", "Compensated"]
    assert "usr_refused" not in contacts(cloud)
    [undo] = visits(execution, "UndoContact")
    assert undo.status == "succeeded"
    records = cloud.operator().decisions.for_execution(execution.execution_arn)
    decided = [(record.decision.outcome, record.decision.rule) for record in records]
    assert decided == [("compensated", "billing-failed-compensate")]
    assert records[0].decision.reason.startswith("billing customer not created (DependencyError); the CRM contact usr_refused")


def test_a_signup_that_breaks_its_contract_is_refused_naming_the_field_and_creates_nothing(cloud: LocalCloud) -> None:
    # Given a signup on a plan the contract does not know
    event = signup("usr_gold", "evt-gold-1")
    event["detail"]["plan"] = "gold"
    assert cloud.apis is not None
    calls_before = len(cloud.apis.log("crm")) + len(cloud.apis.log("billing"))

    # When it runs
    [execution] = onboard(cloud, event)

    # Then the contract check, first after the claim, fails it with the field named; the failure path
    # records that reason, and no API was called
    assert (execution.status, execution.error) == ("FAILED", "InvalidInputError")
    [check] = visits(execution, "KeelCheckEvent")
    assert "CheckInput: event.detail.plan: " in check.errors[-1]["cause"]
    assert "(contract user_signed_up@1, User Signed Up)" in check.errors[-1]["cause"]
    assert not visits(execution, "CreateContact")
    [record] = cloud.operator().decisions.for_execution(execution.execution_arn)
    assert "event.detail.plan" in record.decision.reason
    assert len(cloud.apis.log("crm")) + len(cloud.apis.log("billing")) == calls_before


def test_no_credential_is_in_any_log_history_record_or_request_log(cloud: LocalCloud) -> None:
    # Given everything the runs above left behind
    assert cloud.apis is not None
    report = run_report(cloud)
    left = [
        *(invocation.log for invocation in cloud.runtime.invocations),
        *(json.dumps(cloud.execution_record(arn), default=str) for arn in cloud.execution_arns()),
        json.dumps(cloud.client("dynamodb").scan(TableName="keel-dev-decisions")["Items"]),
        json.dumps([request.as_json() for request in cloud.apis.log()]),
        as_json(LocalRun(cloud.template, "", [], [], [], [], report)),
    ]
    secrets = [*declared_credentials(), *cloud.apis.fakes["billing"].tokens]

    # Then no credential, API key, client secret or OAuth token appears anywhere
    assert len(left) > 10
    assert cloud.apis.fakes["billing"].tokens
    assert [secret for secret in secrets if any(secret in text for text in left)] == []
