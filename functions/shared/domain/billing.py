"""What an execution's history says it cost: state transitions and service integration calls.

Step Functions Standard bills one state transition each time a step of the workflow runs, retries
included: every `...StateEntered` event is one, and every task attempt after the first within the
same state visit (a Retry) is another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")


def count_transitions(events: Iterable[dict[str, Any]]) -> int:
    transitions = 0
    attempts_in_visit = 0
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            transitions += 1
            attempts_in_visit = 0
        elif kind in SCHEDULED:
            if attempts_in_visit:
                transitions += 1  # a retry of the same state
            attempts_in_visit += 1
    return transitions


def integration_calls(events: Iterable[dict[str, Any]]) -> Counter[str]:
    """Calls the state machine itself made, as "service:Operation" (e.g. the prologue's dynamodb:PutItem).

    Lambda invocations are counted as "lambda:Invoke", whatever the integration pattern.
    """
    calls: Counter[str] = Counter()
    for event in events:
        if event["type"] == "LambdaFunctionScheduled":
            calls["lambda:Invoke"] += 1
        elif event["type"] == "TaskScheduled":
            details = event.get("taskScheduledEventDetails", {})
            service = str(details.get("resourceType", "unknown"))
            resource = str(details.get("resource", "unknown")).split(".", 1)[0]
            calls[f"{service}:{resource[:1].upper()}{resource[1:]}"] += 1
    return calls
