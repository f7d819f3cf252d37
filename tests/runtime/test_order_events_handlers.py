"""Unit tests for the reference EventBusFanOut handlers: the order event producer and consumers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from serverless_patterns.runtime.events.envelope import (
    EventEnvelope,
    event_batch_handler,
    event_handler,
)
from serverless_patterns.runtime.events.publisher import (
    Event,
    EventPublisher,
    FailedEntry,
    PublishResult,
)
from serverless_patterns.runtime.handlers import order_events_consumer as consumer
from serverless_patterns.runtime.handlers import order_events_producer as producer
from tests.runtime.sqs_events import sqs_event, sqs_record

SECRET = "do-not-log-this-value"
CONSUMER_LOGGER = "serverless_patterns.runtime.handlers.order_events_consumer"


class RecordingPublisher(EventPublisher):
    """Records what would be published; entries listed in ``fail`` are reported failed."""

    def __init__(self, fail: dict[int, str] | None = None) -> None:
        super().__init__("orders-bus")
        self.fail = fail or {}
        self.published: list[list[Event]] = []

    def publish(self, events: Iterable[Event], *, raise_on_failure: bool = False) -> PublishResult:
        items = list(events)
        self.published.append(items)
        return PublishResult(
            event_ids=tuple(
                None if index in self.fail else f"id-{index}" for index in range(len(items))
            ),
            failed=tuple(
                FailedEntry(index, items[index], code, "rejected", 5)
                for index, code in sorted(self.fail.items())
            ),
            calls=1,
        )


def order_event(event_id: str = "e-1", **detail: Any) -> dict[str, Any]:
    """An OrderPlaced event as EventBridge delivers it to a target."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": producer.DETAIL_TYPE,
        "source": producer.SOURCE,
        "account": "123456789012",
        "time": "2026-01-02T03:04:05Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail or {"order_id": "o-1", "quantity": 2},
    }


@pytest.fixture
def fresh_default_publisher() -> Iterator[None]:
    producer._default_publisher.cache_clear()
    yield
    producer._default_publisher.cache_clear()


# --- producer ----------------------------------------------------------------------------------


def test_publishes_one_order_placed_event_per_order() -> None:
    publisher = RecordingPublisher()
    response = producer.publish_orders(
        {
            "orders": [
                {"order_id": "o-1", "quantity": 2, "card_number": SECRET},
                {"order_id": "o-2", "quantity": 1},
            ]
        },
        publisher,
    )
    assert response == {"published": 2, "event_ids": ["id-0", "id-1"], "failed": []}
    [events] = publisher.published
    assert [e.to_entry("orders-bus") for e in events] == [
        {
            "Source": "orders",
            "DetailType": "OrderPlaced",
            "Detail": '{"order_id":"o-1","quantity":2}',  # only the order's own fields
            "EventBusName": "orders-bus",
        },
        {
            "Source": "orders",
            "DetailType": "OrderPlaced",
            "Detail": '{"order_id":"o-2","quantity":1}',
            "EventBusName": "orders-bus",
        },
    ]


def test_reports_the_orders_that_were_not_published() -> None:
    publisher = RecordingPublisher(fail={1: "ThrottlingException"})
    orders = [{"order_id": f"o-{i}", "quantity": 1} for i in range(3)]
    response = producer.publish_orders({"orders": orders}, publisher)
    assert response == {
        "published": 2,
        "event_ids": ["id-0", None, "id-2"],
        "failed": [{"index": 1, "error_code": "ThrottlingException"}],
    }


def test_no_orders_publishes_nothing() -> None:
    assert producer.publish_orders({"orders": []}, RecordingPublisher()) == {
        "published": 0,
        "event_ids": [],
        "failed": [],
    }


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ([], r'the request must be a JSON object with a list "orders"'),
        ({"orders": SECRET}, r'the request must be a JSON object with a list "orders"'),
        ({"orders": [SECRET]}, r"order #0 must be a JSON object, got str"),
        (
            {"orders": [{"order_id": "o-1", "quantity": 1}, {"quantity": 1}]},
            r"order #1: order_id must be a non-empty string, got NoneType",
        ),
        ({"orders": [{"order_id": "  ", "quantity": 1}]}, r"order #0: order_id must be"),
        (
            {"orders": [{"order_id": "o-1", "quantity": SECRET}]},
            r"order #0: quantity must be a positive integer, got str",
        ),
        ({"orders": [{"order_id": "o-1", "quantity": True}]}, r"got bool"),
        ({"orders": [{"order_id": "o-1", "quantity": 0}]}, r"got int"),
    ],
)
def test_an_invalid_order_fails_before_anything_is_published(
    request_body: Any, message: str
) -> None:
    publisher = RecordingPublisher()
    with pytest.raises(producer.InvalidOrderError, match=message) as raised:
        producer.publish_orders(request_body, publisher)
    assert SECRET not in str(raised.value)
    assert publisher.published == []


def test_handler_publishes_with_the_environment_publisher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publisher = RecordingPublisher()
    monkeypatch.setattr(producer, "_default_publisher", lambda: publisher)
    response = producer.handler({"orders": [{"order_id": "o-9", "quantity": 3}]}, None)
    assert response["published"] == 1
    assert len(publisher.published) == 1


def test_default_publisher_reads_the_bus_the_stack_sets(
    monkeypatch: pytest.MonkeyPatch, fresh_default_publisher: None
) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "ServerlessPatternsOrdersBus")
    publisher = producer._default_publisher()
    assert publisher.event_bus_name == "ServerlessPatternsOrdersBus"
    assert producer._default_publisher() is publisher  # one per execution environment


# --- consumers ---------------------------------------------------------------------------------


def test_an_order_event_is_accepted_and_logged_by_ids(caplog: pytest.LogCaptureFixture) -> None:
    envelope = EventEnvelope.from_event(order_event("e-7", order_id="o-7", quantity=4))
    with caplog.at_level(logging.INFO, logger=CONSUMER_LOGGER):
        result = consumer.handle_order_placed(envelope)
    assert result == {"order_id": "o-7", "status": "accepted"}
    [line] = [r for r in caplog.records if r.name == CONSUMER_LOGGER]
    assert line.getMessage() == "Order accepted"
    assert (vars(line)["order_id"], vars(line)["quantity"], vars(line)["event_id"]) == (
        "o-7",
        4,
        "e-7",
    )


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"quantity": 1}, r"Event e-2: detail.order_id must be a non-empty string, got NoneType"),
        ({"order_id": "", "quantity": 1}, r"detail.order_id must be a non-empty string, got str"),
        ({"order_id": "o-1", "quantity": SECRET}, r"detail.quantity must be a positive integer"),
        ({"order_id": "o-1", "quantity": -1}, r"detail.quantity must be a positive integer"),
        ({"order_id": "o-1", "quantity": False}, r"got bool"),
    ],
)
def test_an_invalid_order_event_names_the_event_not_the_value(
    detail: dict[str, Any], message: str
) -> None:
    envelope = EventEnvelope.from_event(order_event("e-2", **detail))
    with pytest.raises(consumer.InvalidOrderEventError, match=message) as raised:
        consumer.handle_order_placed(envelope)
    assert SECRET not in str(raised.value)


def test_buffered_consumer_fails_only_the_bad_records() -> None:
    # The module's queue_handler is this, made idempotent on the event id.
    handler = event_batch_handler(consumer.handle_order_placed, idempotent=False)
    records = [
        sqs_record(json.dumps(order_event("e-1")), message_id="m-1"),
        sqs_record(json.dumps(order_event("e-2", order_id="o-2", quantity=0)), message_id="m-2"),
        sqs_record("not json", message_id="m-3"),
        sqs_record(json.dumps(order_event("e-4", order_id="o-4", quantity=1)), message_id="m-4"),
    ]
    assert handler(sqs_event(records), None) == {
        "batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]
    }


def test_direct_consumer_returns_the_result() -> None:
    # The module's handler is this, made idempotent on the event id.
    handler = event_handler(consumer.handle_order_placed, idempotent=False)
    assert handler(order_event("e-5", order_id="o-5", quantity=1), None) == {
        "order_id": "o-5",
        "status": "accepted",
    }


@pytest.mark.parametrize("name", ["handler", "queue_handler"])
def test_module_handlers_are_idempotent_and_need_their_table(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDEMPOTENCY_TABLE_NAME", raising=False)
    handler = getattr(consumer, name)
    event: dict[str, Any] = (
        order_event()
        if name == "handler"
        else sqs_event([sqs_record(json.dumps(order_event()), message_id="m-1")])
    )
    with pytest.raises(ValueError, match="No idempotency table: pass table_name or set"):
        handler(event, None)
