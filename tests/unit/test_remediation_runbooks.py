"""The runbook catalog: its schema, and which alarm or finding leads to which plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.match_runbook.catalog import CATALOG, load_catalog, parse_catalog, severity_risk
from functions.match_runbook.logic import Dependencies, Matched, MatchInput, SourceEvent, TagReader, plan_for
from functions.shared.adapters.alarms import ActionsState
from functions.shared.runtime.errors import ConfigurationError, InvalidInputError
from tests.support.keel_context import keel_fields

ROOT = Path(__file__).resolve().parents[2]
ALARMS = ROOT / "events" / "alarm_remediation"
FINDINGS = ROOT / "events" / "security_finding_response"
# The tags the sample world gives the orders-api 5xx alarm (events/alarm_remediation/world.yaml).
ORDERS_ALARM_TAGS = {"keel:remediation": "enabled", "keel:ecs-cluster": "orders", "keel:ecs-service": "orders-api"}


def event(path: Path) -> SourceEvent:
    return SourceEvent.model_validate(json.loads(path.read_text()))


def tags_of(known: dict[str, dict[str, str]]) -> Any:
    return lambda arn: known.get(arn.rsplit(":", 1)[-1])


def no_tags(_arn: str) -> None:
    return None


def match(source: SourceEvent, read_tags: TagReader) -> Matched:
    """match_runbook's logic on one event, against the shipped catalog."""
    task = MatchInput(
        event_id=source.id, execution="arn:exec", keel=keel_fields(automation="alarm_remediation"), step="Match", event=source
    )
    return plan_for(task, Dependencies(catalog=load_catalog(CATALOG), read_tags=read_tags, alarm_actions=ActionsState))


def test_the_shipped_catalog_is_valid_and_versioned() -> None:
    # Given the catalog file shipped with match_runbook / When it is loaded
    catalog = load_catalog(CATALOG)

    # Then it has a version and every action Keel implements has a runbook
    assert catalog.version
    assert {runbook.action for runbook in catalog.runbooks} == {
        "ecs_force_new_deployment",
        "ecs_scale_out",
        "ec2_reboot",
        "sqs_redrive",
        "ec2_isolate",
        "iam_deactivate_access_key",
    }


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            ALARMS / "api-5xx-restart.json",
            (
                "ecs-5xx-restart",
                "ecs_force_new_deployment",
                "arn:aws:ecs:eu-west-1:111111111111:service/orders/orders-api",
                {"cluster": "orders", "service": "orders-api"},
                "medium",
            ),
        ),
        (
            ALARMS / "payments-cpu-scale-out.json",
            (
                "ecs-cpu-scale-out",
                "ecs_scale_out",
                "arn:aws:ecs:eu-west-1:111111111111:service/payments/payments-api",
                {"cluster": "payments", "service": "payments-api"},
                "low",
            ),
        ),
        (
            ALARMS / "batch-status-reboot.json",
            (
                "ec2-status-reboot",
                "ec2_reboot",
                "arn:aws:ec2:eu-west-1:111111111111:instance/i-0b22a22eec53b9321",
                {"instance_id": "i-0b22a22eec53b9321"},
                "medium",
            ),
        ),
        (
            ALARMS / "orders-dlq-redrive.json",
            (
                "sqs-dlq-redrive",
                "sqs_redrive",
                "arn:aws:sqs:eu-west-1:111111111111:orders-events-dlq",
                {"queue": "orders-events-dlq"},
                "low",
            ),
        ),
        (
            FINDINGS / "backdoor-isolate.json",
            (
                "ec2-compromised-isolate",
                "ec2_isolate",
                "arn:aws:ec2:eu-west-1:111111111111:instance/i-0c5f3e8a9d1b2c4e6",
                {"instance_id": "i-0c5f3e8a9d1b2c4e6"},
                "high",
            ),
        ),
        (
            FINDINGS / "iam-key-deactivate.json",
            (
                "iam-key-deactivate",
                "iam_deactivate_access_key",
                "arn:aws:iam::111111111111:user/ci-deployer",
                {"user_name": "ci-deployer", "access_key_id": "AKIAQXAMPLE6KEEL7K3Y"},
                "medium",
            ),
        ),
    ],
    ids=["5xx-by-tags", "cpu-by-name-and-metric", "status-by-metric", "dlq-by-name", "backdoor-finding", "iam-finding"],
)
def test_each_sample_signal_gets_its_runbook_target_and_risk(sample, expected) -> None:
    # Given a sample event and the tags its alarm carries
    # When it is matched against the shipped catalog
    matched = match(event(sample), tags_of({"orders-api-5xx": ORDERS_ALARM_TAGS}))

    # Then the plan names the runbook, the action, the resource and the risk
    assert matched.matched
    plan = matched.plan
    assert plan is not None
    assert (plan.runbook, plan.action, plan.resource, plan.target, plan.risk) == expected
    assert plan.catalog_version == load_catalog(CATALOG).version


def test_an_alarm_runbook_verifies_the_alarm_that_fired() -> None:
    # Given the 5xx alarm with its tags / When it is matched
    matched = match(event(ALARMS / "api-5xx-restart.json"), tags_of({"orders-api-5xx": ORDERS_ALARM_TAGS}))

    # Then verification waits, then checks that very alarm
    assert matched.plan is not None
    assert (matched.plan.verify.kind, matched.plan.verify.alarm, matched.plan.verify.wait_seconds) == (
        "alarm_ok",
        "orders-api-5xx",
        300,
    )


def test_an_alarm_that_did_not_opt_in_does_not_match_a_tag_runbook() -> None:
    # Given the 5xx alarm whose tags are not readable (it is not tagged keel:remediation=enabled)
    # When it is matched
    matched = match(event(ALARMS / "api-5xx-restart.json"), no_tags)

    # Then no runbook applies and the reason says which catalog was asked
    assert not matched.matched
    assert matched.plan is None
    assert matched.reason == f"no runbook in catalog {load_catalog(CATALOG).version} matches alarm orders-api-5xx"


@pytest.mark.parametrize("sample", [ALARMS / "billing-no-runbook.json", FINDINGS / "portscan-no-runbook.json"])
def test_signals_without_a_runbook_end_as_no_runbook(sample) -> None:
    # Given a billing alarm or a low-severity port scan / When matched
    matched = match(event(sample), no_tags)

    # Then nothing is planned, and the trigger is told in words
    assert not matched.matched
    assert matched.trigger.startswith(
        ("CloudWatch alarm billing-estimated-charges entered ALARM", "GuardDuty finding Recon:EC2/Portscan")
    )


def test_a_finding_below_the_runbook_severity_is_not_acted_on() -> None:
    # Given the backdoor finding at severity 3.5
    raw = json.loads((FINDINGS / "backdoor-isolate.json").read_text())
    raw["detail"]["severity"] = 3.5

    # When matched / Then the isolation runbook (from severity 4) does not apply
    assert not match(SourceEvent.model_validate(raw), no_tags).matched


@pytest.mark.parametrize(
    ("severity", "risk"), [(1.0, "low"), (4.0, "medium"), (6.9, "medium"), (7.0, "high"), (8.9, "high"), (9.0, "critical")]
)
def test_guardduty_severity_bands_become_risk(severity, risk) -> None:
    # Given a finding severity / When turned into risk / Then GuardDuty's bands apply
    assert severity_risk(severity) == risk


def test_a_runbook_target_the_signal_does_not_carry_is_invalid_input() -> None:
    # Given a CPU alarm on a service whose dimensions lack ServiceName
    raw = json.loads((ALARMS / "payments-cpu-scale-out.json").read_text())
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"ClusterName": "payments"}

    # When matched / Then the error names the runbook and the missing reference
    with pytest.raises(InvalidInputError, match="runbook ecs-cpu-scale-out: target service needs dimension:ServiceName"):
        match(SourceEvent.model_validate(raw), no_tags)


def test_events_from_other_sources_are_invalid_input() -> None:
    # Given an S3 event / When matched / Then it is refused as input no runbook could cover
    raw = json.loads((ALARMS / "api-5xx-restart.json").read_text()) | {"source": "aws.s3"}
    with pytest.raises(InvalidInputError, match=r"^event\.source: no runbooks for events from 'aws\.s3'"):
        match(SourceEvent.model_validate(raw), no_tags)


def catalog_with(runbook: dict[str, Any]) -> str:
    return json.dumps({"version": "test-1", "runbooks": [runbook]})


BASE = {
    "id": "restart",
    "description": "restart",
    "match": {"source": "alarm", "alarm_name": "*-5xx"},
    "action": "ecs_force_new_deployment",
    "target": {"cluster": "tag:c", "service": "tag:s"},
    "risk": "low",
    "cooldown_minutes": 5,
    "verify": {"kind": "alarm_ok", "wait_seconds": 60},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": {"cluster": "orders"}}, "ecs_force_new_deployment needs target service"),
        ({"match": {"source": "alarm", "finding_type": "Backdoor:*"}}, "a alarm runbook matches only on alarm criteria"),
        ({"match": {"source": "finding"}}, "at least one criterion"),
        ({"risk": "from_severity"}, "risk from_severity is for finding runbooks"),
        ({"action": "rm_rf"}, "action"),
        ({"verify": {"kind": "queue_drained", "wait_seconds": 60}}, "verify queue_drained reads target queue"),
        ({"parameters": {"increment": 2}}, "parameters of ecs_force_new_deployment: increment: Extra inputs"),
        ({"action": "ecs_scale_out", "parameters": {"increment": "two"}}, "increment: Input should be a valid integer"),
        ({"target": {"cluster": "tag:c", "service": "tag:s", "colour": "red"}}, "target colour: not a target any action reads"),
        (
            {"target": {"cluster": "orders api", "service": "tag:s"}},
            "target cluster: 'orders api' is not a valid ECS cluster name",
        ),
    ],
    ids=[
        "missing-target",
        "wrong-criteria",
        "no-criteria",
        "severity-on-alarm",
        "unknown-action",
        "verify-reads-missing-target",
        "parameter-of-another-action",
        "parameter-of-wrong-type",
        "unknown-target",
        "literal-target-not-an-aws-name",
    ],
)
def test_a_bad_runbook_is_a_configuration_error_naming_the_field(change, message) -> None:
    # Given a catalog with one broken runbook / When parsed / Then the error says what is wrong
    with pytest.raises(ConfigurationError, match=message):
        parse_catalog(catalog_with(BASE | change))


def test_duplicate_runbook_ids_and_bad_json_are_refused() -> None:
    # Given two runbooks with one id, and a file that is not JSON / When parsed / Then both are refused
    with pytest.raises(ConfigurationError, match="listed more than once: restart"):
        parse_catalog(json.dumps({"version": "1", "runbooks": [BASE, BASE]}))
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        parse_catalog("{")
