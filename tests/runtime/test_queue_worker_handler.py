"""Unit tests for the reference QueueWorker handler."""

from __future__ import annotations

import json
import logging

import pytest

from serverless_patterns.runtime.batch import MalformedRecordError, SqsRecord
from serverless_patterns.runtime.handlers import queue_worker
from tests.runtime.sqs_events import sqs_event, sqs_record

LOGGER = "serverless_patterns.runtime.handlers.queue_worker"

POISON_BODIES = {
    "malformed-json": '{"order_id": "o-1", "quantity": 2',
    "not-json": "order o-1 x2",
    "array": '[{"order_id": "o-1", "quantity": 2}]',
    "string": '"o-1"',
    "missing-order-id": '{"quantity": 2}',
    "empty-order-id": '{"order_id": "", "quantity": 2}',
    "blank-order-id": '{"order_id": "   ", "quantity": 2}',
    "numeric-order-id": '{"order_id": 17, "quantity": 2}',
    "missing-quantity": '{"order_id": "o-1"}',
    "zero-quantity": '{"order_id": "o-1", "quantity": 0}',
    "negative-quantity": '{"order_id": "o-1", "quantity": -3}',
    "fractional-quantity": '{"order_id": "o-1", "quantity": 1.5}',
    "string-quantity": '{"order_id": "o-1", "quantity": "2"}',
    "boolean-quantity": '{"order_id": "o-1", "quantity": true}',
}


def test_valid_order_is_processed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    record = SqsRecord(sqs_record(json.dumps({"order_id": "o-42", "quantity": 3}), message_id="m1"))

    with caplog.at_level(logging.INFO, logger=LOGGER):
        queue_worker.handle_record(record)

    [line] = [r for r in caplog.records if r.name == LOGGER]
    assert line.getMessage() == "Order processed"
    assert (vars(line)["order_id"], vars(line)["quantity"], vars(line)["messageId"]) == (
        "o-42",
        3,
        "m1",
    )


def test_extra_fields_are_ignored() -> None:
    body = json.dumps({"order_id": "o-1", "quantity": 1, "note": "gift"})

    assert queue_worker.parse_order(SqsRecord(sqs_record(body))) == ("o-1", 1)


@pytest.mark.parametrize("body", POISON_BODIES.values(), ids=POISON_BODIES.keys())
def test_poison_message_raises_value_error_without_echoing_it(body: str) -> None:
    record = SqsRecord(sqs_record(body, message_id="m-poison"))

    with pytest.raises(ValueError, match="m-poison") as raised:
        queue_worker.handle_record(record)

    assert isinstance(raised.value, queue_worker.InvalidOrderError | MalformedRecordError)
    assert "o-1" not in str(raised.value)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (POISON_BODIES["array"], "JSON object"),
        (POISON_BODIES["blank-order-id"], "order_id"),
        (POISON_BODIES["string-quantity"], "quantity"),
    ],
)
def test_poison_message_error_names_the_problem(body: str, field: str) -> None:
    with pytest.raises(queue_worker.InvalidOrderError, match=field):
        queue_worker.parse_order(SqsRecord(sqs_record(body)))


def test_handler_reports_only_poison_messages_as_failed() -> None:
    records = [
        sqs_record(json.dumps({"order_id": "o-1", "quantity": 1}), message_id="m1"),
        sqs_record(POISON_BODIES["malformed-json"], message_id="m2"),
        sqs_record(json.dumps({"order_id": "o-3", "quantity": 5}), message_id="m3"),
        sqs_record(POISON_BODIES["zero-quantity"], message_id="m4"),
    ]

    response = queue_worker.handler(sqs_event(records), None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]}


def test_handler_accepts_empty_batch() -> None:
    assert queue_worker.handler({"Records": []}, None) == {"batchItemFailures": []}
