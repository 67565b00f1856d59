"""A candidate version's shadow run: the same workflow, forced into dry run, telling nobody.

The shadow state machine runs every event the live alias runs, on the candidate's definition and
function versions, with `$.keel.dry_run` and `$.keel.shadow` set: its guardrails plan and record,
nothing acts (functions/check_guardrails), and its notifications (SNS, EventBridge, SQS tasks) become
Pass states, so on-call hears from the live version only. Its event claims, debounce bursts and
concurrency slots are its own (KeelContext.limit_scope), so it never takes the live run's.
Its decisions go to the automation's decision record marked `shadow`; `keel ops compare` reads them.
"""

from __future__ import annotations

import copy
from typing import Any

from infra import asl

# Tasks that tell or hand work to someone: a shadow run decides, it does not speak.
SILENCED_PREFIXES = ("arn:aws:states:::sns:", "arn:aws:states:::events:", "arn:aws:states:::sqs:")
SHADOW_CLAIM_SUFFIX = "#shadow"


def shadow_context(context: dict[str, Any]) -> dict[str, Any]:
    return {**context, "dry_run": True, "shadow": True}


def shadow_definition(definition: dict[str, Any], automation: str, context: dict[str, Any]) -> dict[str, Any]:
    """The team's definition as the candidate's shadow runs it: silenced, then wrapped in the prologue."""
    silenced = copy.deepcopy(definition)
    _silence(silenced)
    return asl.with_prologue(silenced, automation + SHADOW_CLAIM_SUFFIX, shadow_context(context))


def _silence(machine: dict[str, Any]) -> None:
    states = machine.get("States", {})
    for name, state in list(states.items()):
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str) and resource.startswith(SILENCED_PREFIXES):
            states[name] = _pass_instead(state, resource)
            continue
        for branch in state.get("Branches", []):
            _silence(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                _silence(state[key])


def _pass_instead(state: dict[str, Any], resource: str) -> dict[str, Any]:
    replaced: dict[str, Any] = {
        "Type": "Pass",
        "Comment": f"Keel shadow run: {resource.rsplit(':', 1)[-1]} not sent (a shadow run decides, it never acts).",
        "Result": {"shadow": True, "not_sent": resource},
        "ResultPath": state.get("ResultPath", "$"),
    }
    if state.get("InputPath") is not None:
        replaced["InputPath"] = state["InputPath"]
    for key in ("Next", "End", "OutputPath"):
        if key in state:
            replaced[key] = state[key]
    return replaced
