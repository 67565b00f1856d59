"""functions/shared/domain/event_claim.py and the DynamoDB adapter against a moto table."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.adapters.dynamodb import Table
from functions.shared.domain.event_claim import claim_event, read_claim, release
from functions.shared.runtime.errors import NotFoundError

TABLE = "keel-dev-idempotency"


@pytest.fixture
def dynamodb() -> Any:
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_the_first_claim_wins_and_a_second_gets_the_holder(dynamodb) -> None:
    # Given an event not yet claimed
    table = Table(TABLE, dynamodb)

    # When two executions claim it, one after the other
    first = claim_event(table, "platform_heartbeat", "evt-1", "exec-A", "2026-11-22T09:00:00Z")
    second = claim_event(table, "platform_heartbeat", "evt-1", "exec-B", "2026-11-22T09:00:01Z")

    # Then the first holds the claim and the second is told who does
    assert (first.claimed, first.holder) == (True, "exec-A")
    assert (second.claimed, second.holder) == (False, "exec-A")
    # And the stored claim is the first one, under the key the state machine prologue also uses
    item = table.get({"id": "claim#platform_heartbeat#evt-1"})
    assert item == {
        "id": "claim#platform_heartbeat#evt-1",
        "execution": "exec-A",
        "claimed_at": "2026-11-22T09:00:00Z",
        "status": "running",
        # The table's TTL attribute: 1 January 2028, epoch seconds
        "expiration": 1830297600,
    }


def test_claims_are_per_automation(dynamodb) -> None:
    # Given an event claimed by one automation
    table = Table(TABLE, dynamodb)
    claim_event(table, "platform_heartbeat", "evt-1", "exec-A", "2026-11-22T09:00:00Z")

    # When another automation claims the same event id / Then it gets its own claim
    assert claim_event(table, "ticket_triage", "evt-1", "exec-B", "2026-11-22T09:00:01Z").claimed is True


def test_a_claim_on_a_missing_table_raises_not_found(dynamodb) -> None:
    # Given a table name that does not exist
    table = Table("no-such-table", dynamodb)

    # When an event is claimed / Then the project's NotFoundError is raised, not a ClientError
    with pytest.raises(NotFoundError, match="PutItem on no-such-table failed: ResourceNotFoundException"):
        claim_event(table, "platform_heartbeat", "evt-1", "exec-A", "2026-11-22T09:00:00Z")


def test_values_round_trip_through_the_adapter(dynamodb) -> None:
    # Given an item with nested and numeric values
    table = Table(TABLE, dynamodb)
    table.put({"id": "x", "count": 3, "tags": ["a", "b"], "detail": {"ok": True}})

    # When it is read back / Then plain Python values come back
    assert table.get({"id": "x"}) == {"id": "x", "count": 3, "tags": ["a", "b"], "detail": {"ok": True}}
    assert table.get({"id": "absent"}) is None


def test_the_adapter_builds_its_client_lazily_from_the_process_region(dynamodb) -> None:
    # Given a table given no client
    from functions.shared.adapters import aws

    aws.client.cache_clear()
    table = Table(TABLE)

    # When it is used / Then it reaches the same (moto) table through the cached default client
    table.put({"id": "lazy"})
    assert dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "lazy"}})["Item"]["id"] == {"S": "lazy"}
    assert table.dynamodb is aws.client("dynamodb")
    aws.client.cache_clear()


def test_a_failed_holders_claim_is_taken_over_and_only_its_holder_releases_it(dynamodb) -> None:
    # Given an event claimed by exec-A
    table = Table(TABLE, dynamodb)
    claim_event(table, "alarm_remediation", "evt-1", "exec-A", "2026-11-22T09:00:00Z")

    # When another execution tries to release it, or exec-A's claim is still running / Then it is kept
    assert release(table, "alarm_remediation", "evt-1", "exec-B", "2026-11-22T09:01:00Z") is False
    assert claim_event(table, "alarm_remediation", "evt-1", "exec-B", "2026-11-22T09:01:00Z").claimed is False

    # When exec-A fails and releases it (as Keel's failure path does)
    assert release(table, "alarm_remediation", "evt-1", "exec-A", "2026-11-22T09:02:00Z") is True
    assert read_claim(table, "alarm_remediation", "evt-1")["status"] == "failed"

    # Then the next delivery takes it over and runs; the one after that is a duplicate again
    assert claim_event(table, "alarm_remediation", "evt-1", "exec-C", "2026-11-22T10:00:00Z").claimed is True
    assert claim_event(table, "alarm_remediation", "evt-1", "exec-D", "2026-11-22T10:00:01Z") == claim_event(
        table, "alarm_remediation", "evt-1", "exec-E", "2026-11-22T10:00:02Z"
    )
    assert read_claim(table, "alarm_remediation", "evt-1")["execution"] == "exec-C"
