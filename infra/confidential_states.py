"""The states that keep a confidential automation's customer text out of its workflow.

For a confidential or restricted manifest with `confidential_text`, Keel puts `KeelSealConfidential`
in front of the author's StartAt, so it runs first after the claim prologue. The module
seal_confidential keeps the named fields of `$.detail` in the confidential store and returns the
state with each replaced by a reference (store key, field, sha256, length); the task's OutputPath
makes that the state, so no later state's input or output holds the text.

`"ResultPath": "$"` replaces the whole state input with the task's result, and `OutputPath` then
selects the module's answer from it
(https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html).

What still holds the text: the execution's input (an EventBridge rule starts the execution with the
whole event; an InputTransformer only builds the target's input from the event's values, so what it
leaves out is gone and what it keeps is still in the input:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html), the claim's
input and output, and this state's own input and the parameters it invokes the module with. Step
Functions keeps a standard workflow's history 90 days after it ends (30 on request to AWS Support:
https://docs.aws.amazon.com/step-functions/latest/dg/express-at-least-once-execution.html). If the seal
fails, `KeelSealFailed` drops the detail before the failure path, so the record, the page and the
failure path's states never carry it either.
"""

from __future__ import annotations

import copy
from typing import Any

from infra import workflow_defaults
from infra.manifest import Manifest

SEAL_STATE = "KeelSealConfidential"
SEAL_FAILED = "KeelSealFailed"
SEAL_MODULE = "seal_confidential"
# The event's envelope, without its detail: what the failure path and `keel ops` read of a failed seal.
# (JSONPath in Parameters takes no dashed name such as detail-type.)
ENVELOPE = ("id", "source")


def modules_for(manifest: Manifest) -> list[str]:
    return [SEAL_MODULE] if manifest.confidential_text else []


def with_sealing(manifest: Manifest, definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with the seal in front of its StartAt, when the manifest names confidential text."""
    if not manifest.confidential_text:
        return definition
    sealed = copy.deepcopy(definition)
    failure = manifest.workflow.failure.state or workflow_defaults.RECORD_FAILURE
    seal = {
        "Type": "Task",
        "Comment": "Keel: the customer text goes to the confidential store; from here on the workflow carries "
        "references (store key, sha256, length), never the text.",
        "Resource": workflow_defaults.LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": f"${{{SEAL_MODULE}}}",
            "Payload": {"fields": list(manifest.confidential_text), "state.$": "$"},
        },
        # The module returns the whole state, sealed: it replaces the state (the text leaves it here).
        "ResultPath": "$",
        "OutputPath": "$.Payload",
        "Catch": [{"ErrorEquals": [workflow_defaults.CATCH_ALL], "ResultPath": "$.error", "Next": SEAL_FAILED}],
        "Next": sealed["StartAt"],
    }
    dropped = {
        "Type": "Pass",
        "Comment": "Keel: the seal failed; the event's detail (it holds the customer text) is left out before "
        "the failure path records and pages.",
        "Parameters": {
            **{f"{name}.$": f"$.{name}" for name in ENVELOPE},
            "detail": {"sealed": "no: the seal failed, the text was not kept"},
            "keel.$": "$.keel",
            "error.$": "$.error",
        },
        "Next": failure,
    }
    sealed["States"] = {SEAL_STATE: seal, SEAL_FAILED: dropped, **sealed["States"]}
    sealed["StartAt"] = SEAL_STATE
    return sealed
