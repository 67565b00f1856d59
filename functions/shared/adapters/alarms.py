"""Whether a CloudWatch alarm's own actions are on: DescribeAlarms and ListAlarmMuteRules.

An alarm whose actions are disabled (ActionsEnabled false), suppressed (a composite alarm's actions
suppressor: ActionsSuppressedBy WaitPeriod | ExtensionPeriod | Alarm) or muted by an active alarm
mute rule is one its owners chose not to act on; remediation does not act on it either.

- DescribeAlarms: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
  (MetricAlarm.ActionsEnabled; CompositeAlarm.ActionsEnabled, ActionsSuppressedBy, ActionsSuppressedReason,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_CompositeAlarm.html).
- ListAlarmMuteRules (AlarmName, Statuses ACTIVE):
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListAlarmMuteRules.html
  ("ACTIVE: the mute rule is currently muting alarm actions", API_GetAlarmMuteRule.html).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import AccessDeniedError

# How an endpoint says it does not offer an operation: AWS's Query protocol answers InvalidAction
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html), a JSON
# protocol UnknownOperationException.
UNKNOWN_OPERATION = ("InvalidAction", "UnknownOperationException")


@dataclass(frozen=True)
class ActionsState:
    alarm: str
    # Why the alarm's actions are off (disabled, suppressed, muted); empty: they are on, as far as known.
    off: list[str] = field(default_factory=list)
    # What could not be checked, and why: said, never guessed.
    unchecked: list[str] = field(default_factory=list)


class AlarmActions:
    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cloudwatch = cloudwatch

    @property
    def cloudwatch(self) -> Any:
        if self._cloudwatch is None:
            self._cloudwatch = client("cloudwatch")
        return self._cloudwatch

    def state(self, alarm: str) -> ActionsState:
        off: list[str] = []
        unchecked: list[str] = []
        self._described(alarm, off, unchecked)
        self._mute_rules(alarm, off, unchecked)
        return ActionsState(alarm=alarm, off=off, unchecked=unchecked)

    def _described(self, alarm: str, off: list[str], unchecked: list[str]) -> None:
        try:
            with aws_errors(f"DescribeAlarms of {alarm}"):
                response = self.cloudwatch.describe_alarms(AlarmNames=[alarm], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        except AccessDeniedError:
            # The role reads only alarms tagged keel:remediation=enabled (composite alarms carry no
            # tag-based permissions at all): this one's settings are not ours to read.
            unchecked.append(f"whether {alarm}'s actions are enabled: not readable (not tagged keel:remediation=enabled)")
            return
        found = [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]
        if not found:
            unchecked.append(f"whether {alarm}'s actions are enabled: the alarm no longer exists")
            return
        described = found[0]
        if described.get("ActionsEnabled") is False:
            off.append(f"alarm {alarm} has its actions disabled")
        suppressed_by = described.get("ActionsSuppressedBy")
        if suppressed_by:
            reason = described.get("ActionsSuppressedReason") or "no reason given"
            off.append(f"composite alarm {alarm} has its actions suppressed ({suppressed_by}): {reason}")

    def _mute_rules(self, alarm: str, off: list[str], unchecked: list[str]) -> None:
        from botocore.exceptions import ClientError

        try:
            with aws_errors(f"ListAlarmMuteRules of {alarm}"):
                try:
                    response = self.cloudwatch.list_alarm_mute_rules(AlarmName=alarm, Statuses=["ACTIVE"])
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") not in UNKNOWN_OPERATION:
                        raise
                    unchecked.append(f"alarm mute rules of {alarm}: this endpoint does not offer ListAlarmMuteRules")
                    return
        except NotImplementedError:
            # An emulator without alarm mute rules (the local cloud's moto) says so this way.
            unchecked.append(f"alarm mute rules of {alarm}: this endpoint does not implement ListAlarmMuteRules")
            return
        summaries = response.get("AlarmMuteRuleSummaries", [])
        rules = [summary.get("AlarmMuteRuleArn", "?") for summary in summaries if summary.get("Status", "ACTIVE") == "ACTIVE"]
        if rules:
            off.append(f"alarm {alarm} is muted by {', '.join(rules)}")
