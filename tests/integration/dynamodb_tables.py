"""DynamoDB tables for integration tests, created on the moto server."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from serverless_patterns.runtime.idempotency import schema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def create_idempotency_table(dynamodb: DynamoDBClient, name: str | None = None) -> str:
    """An idempotency table as IdempotencyTable defines it (key ``id``, TTL ``expiration``)."""
    table_name = name or f"idempotency-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": schema.KEY_ATTRIBUTE, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": schema.KEY_ATTRIBUTE, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.EXPIRY_ATTRIBUTE},
    )
    return table_name


def create_counter_table(dynamodb: DynamoDBClient, name: str | None = None) -> str:
    """A table of side-effect counters: partition key ``id`` (string), attribute ``count``."""
    table_name = name or f"counters-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return table_name
