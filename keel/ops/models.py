"""`keel ops models AUTOMATION` and `keel ops promote-model AUTOMATION VERSION`: an advisor's stored models.

Retraining (functions/retrain_advisor) stores each candidate with its evaluation in the platform's model
store and points the automation's shadow advisor to a better one; it never moves the live advisor.
Promotion is a person's decision: `promote-model` points the live advisor to a stored version (the
automation's function reads the pointer within a minute, no deploy) and appends the promotion to the
automation's decision record with who did it and why, as `keel ops promote` does for a state machine.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from infra import names
from keel.ops.session import OpsError, OpsSession, aws_call


def _store(session: OpsSession) -> Any:
    from functions.shared.adapters.dynamodb import Table
    from functions.shared.adapters.model_store import ModelStore

    table = names.table(session.environment, "models")
    return ModelStore(Table(table, session.client("dynamodb")), table)


def stored(session: OpsSession, automation: str) -> dict[str, Any]:
    """Every stored model version of the automation with its held-out evaluation, and the pointers."""
    from functions.shared.adapters.dynamodb import from_item
    from functions.shared.adapters.model_store import model_key

    store, prefix = _store(session), model_key(automation, "")
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": store.table_name,
        "FilterExpression": "begins_with(id, :p)",
        "ExpressionAttributeValues": {":p": {"S": prefix}},
        # The model text is large and not shown: only what the listing prints is read.
        "ProjectionExpression": "id, stored_at, evaluation, drift_id",
    }
    dynamodb = session.client("dynamodb")
    with aws_call(f"list the models of {automation}"):
        while True:
            page = dynamodb.scan(**request)
            items.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        pointers = {role: store.pointer(automation, role) for role in ("shadow", "live")}
    models = [
        {
            "model_version": item["id"][len(prefix) :],
            "stored_at": item.get("stored_at"),
            "drift_id": item.get("drift_id"),
            "evaluation": item.get("evaluation", {}),
        }
        for item in sorted(items, key=lambda item: str(item.get("stored_at")), reverse=True)
    ]
    return {
        "automation": automation,
        "shadow": (pointers["shadow"] or {}).get("model_version"),
        "live": (pointers["live"] or {}).get("model_version"),
        "models": models,
    }


def promote(session: OpsSession, automation: str, model_version: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise OpsError("--reason must say why (it is recorded with your identity)")
    store = _store(session)
    with aws_call(f"read {model_version} of {automation} from the model store"):
        record = store.record(automation, model_version)
        before = store.pointer(automation, "live")
    if record is None:
        raise OpsError(f"the model store holds no {model_version} for {automation} (see: keel ops models {automation})")
    caller, now = session.caller(), datetime.now(UTC).isoformat(timespec="seconds")
    previous = (before or {}).get("model_version")
    with aws_call(f"point {automation}'s live advisor to {model_version}"):
        store.point(automation, "live", model_version, {"set_at": now, "set_by": caller, "reason": reason})
    seq = _record(session, automation, model_version, previous, record, reason=reason, caller=caller, now=now)
    return {"automation": automation, "live": model_version, "before": previous, "by": caller, "record": seq}


def _record(
    session: OpsSession,
    automation: str,
    model_version: str,
    previous: str | None,
    record: dict[str, Any],
    *,
    reason: str,
    caller: str,
    now: str,
) -> int:
    from functions.shared.domain.decisions import Decision, digest

    moved = {"from": previous, "to": model_version}
    decision = Decision(
        automation=automation,
        automation_version="operator",
        environment=session.environment,
        # A promotion is its own event: one record per promotion.
        event_id=f"promote-model-{hashlib.sha256(f'{now}{model_version}{caller}'.encode()).hexdigest()[:16]}",
        execution_arn=f"model-store:{automation}",
        step="operator:promote-model",
        action="promote_model",
        outcome="taken",
        reason=reason,
        resource=f"advisor/{automation}",
        input_digest=digest(moved),
        versions={"model": model_version, **({"previous_model": previous} if previous else {})},
        approved_by=caller,
        details={**moved, "at": now, "evaluation": record.get("evaluation", {}), "drift_id": record.get("drift_id")},
    )
    with aws_call(f"record the promotion of {model_version} in {automation}'s decision record"):
        return session.decisions.record(decision).seq
