"""user_onboarding end to end on the local cloud, its external APIs played by the fakes of apis/*.yaml.

One cloud runs the scenarios one after another, each with its own user: the happy path with the
chained onboarding_audit and a second signup of the same user, Retry-After, 5xx and a timeout, a
rotation of the CRM's key that the CRM refuses and one that goes through (then a cached key's 401), and
a billing failure that is compensated. Then nothing the run left (logs, execution histories, decision
records, the fake APIs' request log, the report) holds a credential.
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
from keel.local.errors import LocalCloudError
from keel.local.fake_apis import ApiFault
from keel.local.render import as_json
from keel.local.report import ExecutionReport, execution_report, run_report
from keel.local.runner import LocalRun
from keel.local.template import EnvironmentTemplate
from keel.local.world import apply_worlds, template_variables, worlds_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "events" / "user_onboarding" / "01-signed-up.json"
CRM_SECRET = "keel/dev/crm-api-key"
# The keys the CRM issued to the rotations below (the last test looks for them too).
ISSUED: list[str] = []


def signup(user_id: str, event_id: str) -> dict[str, Any]:
    event = copy.deepcopy(json.loads(SAMPLE.read_text()))
    event["id"] = event_id
    event["detail"].update(user_id=user_id, email=f"{user_id}@example.org", name=f"User {user_id}")
    return event


def declared_credentials() -> list[str]:
    """Every credential value the fakes' declarations hold, and those the CRM issued to rotations."""
    values = [*ISSUED]
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


def stages(cloud: LocalCloud) -> dict[str, list[str]]:
    return dict(cloud.client("secretsmanager").describe_secret(SecretId=CRM_SECRET)["VersionIdsToStages"])


def test_a_rotation_the_crm_refuses_leaves_the_key_as_it_was_and_pages_the_platform(cloud: LocalCloud) -> None:
    # Given the CRM refuses the rotation's request for a new key (400)
    current = cloud.client("secretsmanager").get_secret_value(SecretId=CRM_SECRET)
    cloud.faults.apis.append(ApiFault("crm", "400", 1))

    # When Secrets Manager rotates the CRM's secret, and five minutes pass
    rotation = cloud.rotate_secret("crm-api-key")
    cloud.clock.advance(300)

    # Then the rotation stopped at createSecret, AWSCURRENT is the version it was, AWSPENDING on an empty one
    assert (rotation.done, rotation.failed_step) == (False, "createSecret")
    assert rotation.error is not None
    assert rotation.error.startswith("DependencyError: API 'crm' did not issue")
    assert cloud.client("secretsmanager").get_secret_value(SecretId=CRM_SECRET)["VersionId"] == current["VersionId"]
    assert rotation.version is not None
    assert stages(cloud)[rotation.version] == ["AWSPENDING"]
    # and the rotation function's errors alarm paged the platform's on-call route
    paged = [page for page in cloud.pages() if page.route == "keel-dev-oncall-platform-oncall"]
    assert any("keel-dev-platform-rotate-crm-errors" in page.message for page in paged)


def test_a_rotation_runs_its_four_steps_and_the_next_call_uses_the_new_key(cloud: LocalCloud) -> None:
    # Given call_api caches the CRM key the onboardings above used
    assert cloud.apis is not None
    secretsmanager = cloud.client("secretsmanager")
    before = secretsmanager.get_secret_value(SecretId=CRM_SECRET)
    calls = len(cloud.apis.log("crm"))

    # When Secrets Manager rotates the CRM's secret (its rotation function), then a signup runs
    rotation = cloud.rotate_secret("crm-api-key")
    after = secretsmanager.get_secret_value(SecretId=CRM_SECRET)
    ISSUED.append(json.loads(after["SecretString"])["api_key"])
    [execution] = onboard(cloud, signup("usr_rotated", "evt-rotated-1"))

    # Then the new version is AWSCURRENT, the old one AWSPREVIOUS, and no AWSPENDING is left
    assert rotation.done
    assert rotation.version == after["VersionId"] != before["VersionId"]
    assert stages(cloud)[after["VersionId"]] == ["AWSCURRENT"]
    assert stages(cloud)[before["VersionId"]] == ["AWSPREVIOUS"]
    assert json.loads(after["SecretString"]) != json.loads(before["SecretString"])
    # and the CRM issued the key (asked with the old one), accepted it (testSecret), then retired the old one
    rotating = [(request.method, request.path, request.status) for request in cloud.apis.log("crm")[calls : calls + 3]]
    assert rotating == [("POST", "/credentials", 201), ("GET", "/credentials", 200), ("DELETE", "/credentials", 204)]
    assert cloud.apis.fakes["crm"].valid == [json.loads(after["SecretString"])]
    # and the signup's first CRM call, with the cached old key, was refused once and sent again with the new one
    assert execution.status == "SUCCEEDED"
    statuses = [request.status for request in cloud.apis.log("crm")[calls + 3 :]]
    assert statuses[:2] == [401, 201]
    assert statuses.count(401) == 1


def test_the_next_rotation_comes_round_on_virtual_time(cloud: LocalCloud) -> None:
    # Given the CRM key's schedule (every 30 days) and the rotations so far
    rotated = len(cloud.rotations)

    # When 30 days pass
    cloud.clock.advance(30 * 86_400)

    # Then Secrets Manager's schedule rotated it once more, to a key the CRM issued
    [scheduled] = cloud.rotations[rotated:]
    assert (scheduled.secret, scheduled.done) == (CRM_SECRET, True)
    current = cloud.client("secretsmanager").get_secret_value(SecretId=CRM_SECRET)
    assert current["VersionId"] == scheduled.version
    ISSUED.append(json.loads(current["SecretString"])["api_key"])


def test_a_secret_without_a_rotation_schedule_is_refused_with_the_rotated_ones(cloud: LocalCloud) -> None:
    with pytest.raises(LocalCloudError, match=r"^secret 'billing-client' has no rotation schedule .*\(rotated: crm-api-key\)$"):
        cloud.rotate_secret("billing-client")


def test_a_billing_customer_refused_for_good_undoes_the_crm_contact_and_says_so(cloud: LocalCloud) -> None:
    # Given billing refuses the new customer (400: not retried)
    cloud.faults.apis.append(ApiFault("billing", "400", 1))

    # When a signup runs
    [execution] = onboard(cloud, signup("usr_refused", "evt-refused-1"))

    # Then the contact created first is deleted again, and the decision record says why
    assert (execution.status, execution.error) == ("FAILED", "OnboardingCompensated")
    assert [state.name for state in execution.states][-3:] == ["RecordCompensation", "KeelReleaseClaimCompensated", "Compensated"]
    assert "usr_refused" not in contacts(cloud)
    [undo] = visits(execution, "UndoContact")
    assert undo.status == "succeeded"
    records = cloud.operator().decisions.for_execution(execution.execution_arn)
    decided = [(record.decision.outcome, record.decision.rule) for record in records]
    assert decided == [("compensated", "billing-failed-compensate")]
    assert records[0].decision.reason.startswith("billing customer not created (DependencyError); the CRM contact usr_refused")


def test_a_compensated_signup_delivered_again_onboards_the_user(cloud: LocalCloud) -> None:
    # Given the signup compensated above: its claim was given back on the way to its Fail state
    claim = cloud.client("dynamodb").get_item(
        TableName="keel-dev-idempotency", Key={"id": {"S": "claim#user_onboarding#evt-refused-1"}}
    )["Item"]
    assert claim["status"] == {"S": "failed"}

    # When the same event is delivered again a day later (the APIs have forgotten the first attempt's
    # Idempotency-Keys: within the day they would answer as they did then), billing working now
    cloud.clock.advance(86_400)
    [execution] = onboard(cloud, signup("usr_refused", "evt-refused-1"))

    # Then it runs again (not taken for a duplicate) and the user is onboarded
    assert execution.status == "SUCCEEDED", execution.error
    assert "KeelDuplicateEvent" not in [state.name for state in execution.states]
    assert "usr_refused" in contacts(cloud)


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
