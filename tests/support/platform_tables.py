"""Create the platform's DynamoDB tables in moto exactly as the synthesized template declares them."""

from __future__ import annotations

from typing import Any


def create_tables_from_template(dynamodb: Any, template: dict[str, Any]) -> dict[str, str]:
    """Every AWS::DynamoDB::Table of the template, by TableName; returns logical id -> name."""
    created = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        request: dict[str, Any] = {
            "TableName": properties["TableName"],
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if properties.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        dynamodb.create_table(**request)
        created[logical_id] = properties["TableName"]
    return created
