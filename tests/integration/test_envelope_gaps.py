"""EventBridge envelope handlers: behaviour the mutation run (issue 14) found unpinned.

The defaults are idempotent (DynamoDB on the moto server holds the records): EventBridge
delivers at least once and keeps an event's ``id`` on every delivery ("Amazon EventBridge
events", EventBridge User Guide), so the id is the idempotency key.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from serverless_patterns.runtime.events.envelope import (
    EventEnvelope,
    event_batch_handler,
    event_handler,
)
from serverless_patterns.runtime.idempotency import DynamoDBStore
from tests.runtime.sqs_events import sqs_event, sqs_record
from tests.runtime.test_event_envelope import bridge_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Handle:
    """Counts the events it is given, by id."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()

    def __call__(self, envelope: EventEnvelope) -> str:
        self.runs[envelope.id] += 1
        return envelope.id


def stored_keys(dynamodb: DynamoDBClient, table: str) -> list[str]:
    return sorted(item["id"]["S"] for item in dynamodb.scan(TableName=table)["Items"])


def test_the_batch_handler_is_idempotent_by_default_and_keys_by_the_handlers_name(
    idempotency_table: str, dynamodb: DynamoDBClient
) -> None:
    handle = Handle()
    handler = event_batch_handler(handle, store=DynamoDBStore(idempotency_table))
    body = json.dumps(bridge_event(id="e-1"))
    event = sqs_event([sqs_record(body, message_id="m1"), sqs_record(body, message_id="m2")])

    assert handler(event, None) == {"batchItemFailures": []}
    assert handler(event, None) == {"batchItemFailures": []}

    assert handle.runs == Counter({"e-1": 1})
    [key] = stored_keys(dynamodb, idempotency_table)
    assert key.startswith(f"local.{__name__}.Handle#")


def test_the_direct_handler_is_idempotent_by_default_with_the_given_namespace(
    idempotency_table: str, dynamodb: DynamoDBClient
) -> None:
    handle = Handle()
    handler = event_handler(handle, store=DynamoDBStore(idempotency_table), namespace="orders")

    assert handler(bridge_event(id="e-2"), None) == "e-2"
    assert handler(bridge_event(id="e-2"), None) == "e-2"

    assert handle.runs == Counter({"e-2": 1})
    [key] = stored_keys(dynamodb, idempotency_table)
    assert key.startswith("orders#")


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        event_batch_handler(Handle(), False)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        event_handler(Handle(), False)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        EventEnvelope.from_event(bridge_event(), "record m1")  # type: ignore[call-arg]


def test_envelopes_compare_by_their_fields_not_by_the_raw_event() -> None:
    plain = EventEnvelope.from_event(bridge_event())
    with_extra = EventEnvelope.from_event(bridge_event(**{"replay-name": "r1"}))
    assert plain == with_extra
    assert plain.raw != with_extra.raw
