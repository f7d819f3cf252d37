"""The EventBridge envelope: parsing direct and SQS-buffered events, and clear errors."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.events.envelope import (
    EventEnvelope,
    MalformedEventError,
    event_batch_handler,
    event_handler,
    parse_event,
    parse_sqs_record,
)
from tests.runtime.sqs_events import sqs_event, sqs_record

SECRET = "do-not-log-this-payload"


def bridge_event(**overrides: Any) -> dict[str, Any]:
    """An event exactly as EventBridge delivers it to a target."""
    event: dict[str, Any] = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "OrderPlaced",
        "source": "shop.orders",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"order_id": "o-1", "secret": SECRET},
    }
    event.update(overrides)
    return event


def test_parses_an_event_delivered_directly() -> None:
    envelope = parse_event(bridge_event())
    assert envelope.id == envelope.idempotency_key == "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    assert envelope.source == "shop.orders"
    assert envelope.detail_type == "OrderPlaced"
    assert envelope.detail == {"order_id": "o-1", "secret": SECRET}
    assert (envelope.account, envelope.region, envelope.version) == (
        "111122223333",
        "eu-west-1",
        "0",
    )
    assert envelope.resources == (
        "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0",
    )
    assert envelope.timestamp == datetime(2017, 12, 22, 18, 43, 48, tzinfo=UTC)
    assert SECRET not in repr(envelope)


def test_parses_an_event_buffered_in_sqs() -> None:
    event = bridge_event()
    record = sqs_record(json.dumps(event), message_id="m-1")
    assert parse_sqs_record(record) == parse_sqs_record(SqsRecord(record)) == parse_event(event)


def test_is_read_only() -> None:
    envelope = parse_event(bridge_event())
    with pytest.raises(dataclasses.FrozenInstanceError):
        envelope.id = "other"  # type: ignore[misc]


def test_optional_metadata_defaults() -> None:
    event = bridge_event()
    for name in ("version", "account", "time", "region", "resources"):
        del event[name]
    envelope = parse_event(event)
    assert (envelope.version, envelope.account, envelope.time, envelope.region) == ("", "", "", "")
    assert envelope.resources == () and envelope.timestamp is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"detail": {"secret": SECRET}}, "missing 'id', 'source', 'detail-type'"),
        (
            {k: v for k, v in bridge_event().items() if k not in ("id", "detail")},
            "missing 'id', 'detail'",
        ),
        (bridge_event(id=7), r"invalid id \(expected a string, got int\)"),
        (bridge_event(detail=[SECRET]), r"invalid detail \(expected an object, got list\)"),
        (bridge_event(resources=SECRET), r"invalid resources \(expected a list of strings\)"),
        (bridge_event(time=1700000000), r"invalid time \(expected a string, got int\)"),
        ([SECRET], "expected a JSON object, got list"),
    ],
)
def test_malformed_events_name_the_problem_never_the_payload(event: Any, message: str) -> None:
    with pytest.raises(MalformedEventError, match=message) as caught:
        parse_event(event)
    assert SECRET not in str(caught.value)
    assert str(caught.value).startswith("not an EventBridge event")


def test_malformed_sqs_bodies_name_the_message_id() -> None:
    not_json = sqs_record(f"{{{SECRET}", message_id="m-7")
    with pytest.raises(MalformedEventError, match=r"^Record m-7: body is not valid JSON") as caught:
        parse_sqs_record(not_json)
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

    no_id = sqs_record(json.dumps(bridge_event(id=None)), message_id="m-8")
    with pytest.raises(
        MalformedEventError, match=r"^Record m-8: not an EventBridge event: invalid id"
    ):
        parse_sqs_record(no_id)


def test_batch_handler_without_idempotency_fails_only_malformed_records() -> None:
    seen: list[str] = []
    handler = event_batch_handler(lambda e: seen.append(e.id), idempotent=False)
    records = [
        sqs_record(json.dumps(bridge_event(id="e-1")), message_id="m-1"),
        sqs_record(json.dumps({"detail": {}}), message_id="m-2"),
        sqs_record(json.dumps(bridge_event(id="e-1")), message_id="m-3"),  # a redelivered copy
    ]
    response = handler(sqs_event(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert seen == ["e-1", "e-1"]  # without idempotency, every copy runs


def test_direct_handler_without_idempotency_returns_the_result() -> None:
    handler = event_handler(lambda e: {"order": e.detail["order_id"]}, idempotent=False)
    assert handler(bridge_event(), None) == {"order": "o-1"}
    with pytest.raises(MalformedEventError):
        handler({"detail": {}}, None)


def test_store_without_idempotency_is_an_error() -> None:
    with pytest.raises(ValueError, match="only with idempotent=True"):
        event_batch_handler(lambda e: None, idempotent=False, namespace="x")
    with pytest.raises(ValueError, match="only with idempotent=True"):
        event_handler(lambda e: None, idempotent=False, namespace="x")


def test_envelope_is_usable_as_a_value() -> None:
    assert parse_event(bridge_event()) == parse_event(bridge_event())
    assert isinstance(parse_event(bridge_event()), EventEnvelope)
