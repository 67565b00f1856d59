"""Is the alarm's own action muted? Then remediation does not act on it either.

Two sources. The event itself: a composite alarm whose actions its suppressor holds back says so in
the "CloudWatch Alarm State Change" event, `detail.state.actionsSuppressedBy` (WaitPeriod,
ExtensionPeriod or Alarm) with `detail.state.actionsSuppressedReason`, and names the suppressor in
`detail.configuration.actionsSuppressor`
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html, and
the CompositeAlarm fields https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_CompositeAlarm.html).
That needs no call, so it is checked first. Then, for an alarm a runbook would act on, the alarm as
it is now (functions/shared/adapters/alarms.py): actions disabled, suppressed, or muted by an active
alarm mute rule, which no event field reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.shared.adapters.alarms import ActionsState

# Reads an alarm's actions state by name (AlarmActions.state on Lambda, a fake in tests).
ActionsReader = Callable[[str], ActionsState]


def suppressed_in_event(detail: dict[str, Any]) -> str | None:
    """Why the event says the alarm's actions are suppressed, or None."""
    state = detail.get("state")
    if not isinstance(state, dict) or not state.get("actionsSuppressedBy"):
        return None
    name = str(detail.get("alarmName") or "the alarm")
    configuration = detail.get("configuration")
    suppressor = configuration.get("actionsSuppressor") if isinstance(configuration, dict) else None
    by = f" by suppressor alarm {suppressor}" if suppressor else ""
    reason = state.get("actionsSuppressedReason") or "no reason given"
    return f"composite alarm {name} has its actions suppressed{by} ({state['actionsSuppressedBy']}): {reason}"


def muted_now(alarm: str, read: ActionsReader) -> tuple[str | None, list[str]]:
    """Why the alarm's actions are off now (or None), and what could not be checked."""
    state = read(alarm)
    return ("; ".join(state.off) if state.off else None), state.unchecked
