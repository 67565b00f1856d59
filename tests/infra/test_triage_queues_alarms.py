"""The generic `queues:` and `alarms:` manifest features, on ticket_triage's synthesized templates."""

from __future__ import annotations

import json

import pytest
import template_checks as checks

from infra.app_builder import ROOT
from infra.catalog import load_catalog
from infra.config import load_environments

ENVIRONMENTS = load_environments(ROOT / "config" / "environments.yaml")
TRIAGE = next(a for a in load_catalog(ROOT, ENVIRONMENTS).automations if a.name == "ticket_triage").manifest
ENV_NAMES = sorted(ENVIRONMENTS.environments)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_each_team_queue_is_encrypted_ssl_only_and_has_its_own_dead_letter_queue(synthesized, env) -> None:
    # Given the template / When the automation's queues are read
    template = synthesized.template(env)
    assert TRIAGE.queues is not None
    for name in TRIAGE.queues.names:
        queue_id = checks.find_by(template, "AWS::SQS::Queue", "QueueName", f"keel-{env}-ticket_triage-{name}")
        dlq_id = checks.find_by(template, "AWS::SQS::Queue", "QueueName", f"keel-{env}-ticket_triage-{name}-dlq")
        queue = checks.properties(template, queue_id)
        # Then each is KMS-encrypted, dead-letters to its own queue, and refuses non-TLS access
        assert "KmsMasterKeyId" in queue
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}
        assert queue["RedrivePolicy"]["maxReceiveCount"] == TRIAGE.queues.max_receive_count
        policies = [
            p
            for p in checks.resources(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": queue_id} in p["Properties"]["Queues"]
        ]
        statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_only_the_senders_get_the_queue_urls_and_send_permission(synthesized, env) -> None:
    template = synthesized.template(env)
    queue_ids = {
        checks.find_by(template, "AWS::SQS::Queue", "QueueName", f"keel-{env}-ticket_triage-{n}") for n in TRIAGE.queues.names
    }
    senders = {
        logical_id
        for logical_id, statement in checks.identity_policy_statements(template)
        if checks.referenced_ids(statement["Resource"]) & queue_ids
    }
    functions = checks.resources(template, "AWS::Lambda::Function")
    with_urls = {
        f["Properties"]["FunctionName"]
        for f in functions.values()
        if "KEEL_QUEUES" in f["Properties"]["Environment"]["Variables"]
    }
    # Then route_ticket alone may send, and alone knows where
    assert with_urls == {f"keel-{env}-ticket_triage-route_ticket"}
    assert len(senders) == 1
    assert "routeticket" in next(iter(senders)).lower()
    variables = next(f for f in functions.values() if f["Properties"]["FunctionName"] == f"keel-{env}-ticket_triage-route_ticket")
    encoded = json.dumps(variables["Properties"]["Environment"]["Variables"]["KEEL_QUEUES"])
    assert all(queue_id in encoded for queue_id in queue_ids)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_each_manifest_alarm_watches_its_functions_metric_and_pages_the_owner(synthesized, env) -> None:
    template = synthesized.template(env)
    topic = checks.topic_arn(ENVIRONMENTS.get(env), TRIAGE.oncall)
    for alarm in TRIAGE.alarms:
        created = checks.properties(
            template, checks.find_by(template, "AWS::CloudWatch::Alarm", "AlarmName", f"keel-{env}-ticket_triage-{alarm.name}")
        )
        dimensions = {d["Name"]: d["Value"] for d in created["Dimensions"]}
        assert (created["Namespace"], created["MetricName"], created["Threshold"]) == ("Keel", alarm.metric, alarm.threshold)
        assert dimensions == {"service": alarm.function, "environment": env, "automation": "ticket_triage"}
        assert created["Period"] == alarm.period_minutes * 60
        assert [checks.text(action) for action in created["AlarmActions"]] == [topic]
        statistic = created.get("Statistic") or created.get("ExtendedStatistic")
        assert statistic == alarm.statistic
    agreement = next(a for a in TRIAGE.alarms if a.metric == "AdvisorHumanAgreement")
    created = checks.properties(
        template, checks.find_by(template, "AWS::CloudWatch::Alarm", "AlarmName", f"keel-{env}-ticket_triage-{agreement.name}")
    )
    assert created["ComparisonOperator"] == "LessThanThreshold"
