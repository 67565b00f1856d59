"""Every write to the limits table, in order: DynamoDB Streams on the local cloud's limits table.

Limits are decided by conditional writes (functions/shared/domain/limits.py), so replaying the
table's writes shows how many executions held a pool's slots at any moment, without timings.
"""

from __future__ import annotations

from typing import Any


def limits_table(cloud: Any) -> str:
    return f"keel-{cloud.template.environment}-limits"


def stream_limit_writes(cloud: Any) -> None:
    """Every write to the limits table from now on goes to its stream, with the item before and after."""
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    cloud.client("dynamodb").update_table(TableName=limits_table(cloud), StreamSpecification=spec)


def limit_writes(cloud: Any) -> list[dict[str, Any]]:
    """The limits table's stream, from moto's table (the local endpoint does not serve DynamoDB Streams);
    moto appends each record inside the write that makes it, so they are in write order."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[cloud.template.account][cloud.template.region].tables[limits_table(cloud)]
    shard = table.stream_shard
    if shard is None:
        raise RuntimeError(f"{limits_table(cloud)} has no stream: call stream_limit_writes first")
    return [record.to_json() for record in shard.items]


def most_holders(writes: list[dict[str, Any]], pool: str) -> int:
    """The most executions holding a slot of `pool` at once, replaying the writes in order: a slot taken
    over by a new holder (its lease ran out) leaves the old holder counted until it gives it back."""
    holding: set[str] = set()
    most = 0
    for record in writes:
        change = record["dynamodb"]
        if change["Keys"]["pk"]["S"] != pool:
            continue
        old = change.get("OldImage", {}).get("holder", {}).get("S")
        new = change.get("NewImage", {}).get("holder", {}).get("S")
        if record["eventName"] == "REMOVE" and old is not None:
            holding.discard(old)
        if new is not None:
            holding.add(new)
        most = max(most, len(holding))
    return most
