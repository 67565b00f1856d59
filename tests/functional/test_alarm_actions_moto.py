"""AlarmActions (functions/shared/adapters/alarms.py): whether an alarm's actions are on, read from
CloudWatch. moto answers DescribeAlarms; it has no alarm mute rules, so where a test needs their
answers a thin wrapper around moto's client gives ListAlarmMuteRules' documented shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.shared.adapters.alarms import AlarmActions
from functions.shared.runtime.errors import AccessDeniedError


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        for name, enabled in (("orders-api-5xx", True), ("checkout-api-5xx", False)):
            client.put_metric_alarm(
                AlarmName=name,
                ActionsEnabled=enabled,
                Namespace="AWS/ApplicationELB",
                MetricName="HTTPCode_Target_5XX_Count",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=20,
                ComparisonOperator="GreaterThanThreshold",
            )
        yield client


class WithMuteRules:
    """moto's client, answering ListAlarmMuteRules as the API reference shows (or with `error`)."""

    def __init__(self, client: Any, active: dict[str, list[str]] | None = None, error: str | None = None) -> None:
        self.client, self.active, self.error = client, active or {}, error
        self.asked: list[dict[str, Any]] = []

    def describe_alarms(self, **request: Any) -> Any:
        return self.client.describe_alarms(**request)

    def list_alarm_mute_rules(self, **request: Any) -> dict[str, Any]:
        self.asked.append(request)
        if self.error is not None:
            raise ClientError({"Error": {"Code": self.error, "Message": "refused"}}, "ListAlarmMuteRules")
        rules = self.active.get(request["AlarmName"], [])
        return {
            "AlarmMuteRuleSummaries": [{"AlarmMuteRuleArn": arn, "Status": "ACTIVE", "MuteType": "ONE_TIME"} for arn in rules]
        }


def test_an_alarm_with_its_actions_disabled_is_off(cloudwatch: Any) -> None:
    # Given checkout-api's alarm created with ActionsEnabled false / When read
    state = AlarmActions(WithMuteRules(cloudwatch)).state("checkout-api-5xx")
    # Then its actions are off, and why
    assert (state.off, state.unchecked) == (["alarm checkout-api-5xx has its actions disabled"], [])


def test_an_active_mute_rule_mutes_the_alarm_and_only_active_rules_are_asked_for(cloudwatch: Any) -> None:
    # Given an active mute rule on orders-api's alarm
    rule = "arn:aws:cloudwatch:eu-west-1:111111111111:alarm-mute-rule:migration-window"
    client = WithMuteRules(cloudwatch, {"orders-api-5xx": [rule]})

    # When read
    state = AlarmActions(client).state("orders-api-5xx")

    # Then it is muted by that rule, found by asking for the alarm's ACTIVE rules
    assert state.off == [f"alarm orders-api-5xx is muted by {rule}"]
    assert client.asked == [{"AlarmName": "orders-api-5xx", "Statuses": ["ACTIVE"]}]


def test_an_alarm_with_its_actions_on_and_no_mute_rule_is_on(cloudwatch: Any) -> None:
    state = AlarmActions(WithMuteRules(cloudwatch)).state("orders-api-5xx")
    assert (state.off, state.unchecked) == ([], [])


def test_what_an_endpoint_cannot_answer_is_said_not_guessed(cloudwatch: Any) -> None:
    # Given moto itself (no mute rules at all), an endpoint that does not know the action, and an alarm that is gone
    from_moto = AlarmActions(cloudwatch).state("orders-api-5xx")
    unknown = AlarmActions(WithMuteRules(cloudwatch, error="InvalidAction")).state("orders-api-5xx")
    gone = AlarmActions(WithMuteRules(cloudwatch)).state("deleted-alarm")

    # Then each says what it could not check, and none calls the alarm muted
    assert from_moto.unchecked == ["alarm mute rules of orders-api-5xx: this endpoint does not implement ListAlarmMuteRules"]
    assert unknown.unchecked == ["alarm mute rules of orders-api-5xx: this endpoint does not offer ListAlarmMuteRules"]
    assert gone.unchecked == ["whether deleted-alarm's actions are enabled: the alarm no longer exists"]
    assert from_moto.off == unknown.off == gone.off == []


def test_a_mute_rule_lookup_our_role_may_not_make_is_an_error_not_a_pass(cloudwatch: Any) -> None:
    # Given a role without cloudwatch:ListAlarmMuteRules (a deployment bug) / When read / Then it fails loudly
    with pytest.raises(AccessDeniedError, match="ListAlarmMuteRules of orders-api-5xx failed: AccessDenied"):
        AlarmActions(WithMuteRules(cloudwatch, error="AccessDenied")).state("orders-api-5xx")
