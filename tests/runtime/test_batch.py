"""Unit tests for the SQS partial batch response helper."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from serverless_patterns.runtime.batch import (
    MalformedRecordError,
    MissingMessageIdError,
    SqsRecord,
    batch_handler,
    process_sqs_batch,
)
from tests.runtime.sqs_events import (
    FIFO_QUEUE_ARN,
    STANDARD_QUEUE_ARN,
    sqs_event,
    sqs_record,
    string_attribute,
)


class Recorder:
    """A record handler that remembers what it was given and fails chosen message ids."""

    def __init__(self, fail: set[str] | None = None, parse_json: bool = False) -> None:
        self.seen: list[str] = []
        self.fail = fail or set()
        self.parse_json = parse_json

    def __call__(self, record: SqsRecord) -> None:
        self.seen.append(record.message_id)
        if self.parse_json:
            record.json()
        if record.message_id in self.fail:
            raise RuntimeError(f"downstream refused {record.message_id}")


def failures(*message_ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in message_ids]}


def order(n: int) -> str:
    return json.dumps({"order_id": f"order-{n}", "quantity": n})


def test_all_records_succeed() -> None:
    event = sqs_event(sqs_record(order(n), message_id=f"m{n}") for n in range(1, 4))
    handle = Recorder(parse_json=True)

    response = process_sqs_batch(event, handle)

    assert response == {"batchItemFailures": []}
    assert handle.seen == ["m1", "m2", "m3"]


def test_malformed_json_fails_only_that_record() -> None:
    event = sqs_event(
        [
            sqs_record(order(1), message_id="m1"),
            sqs_record('{"order_id": "order-2", "quantity": ', message_id="m2"),
            sqs_record(order(3), message_id="m3"),
        ]
    )
    handle = Recorder(parse_json=True)

    response = process_sqs_batch(event, handle)

    assert response == failures("m2")
    assert handle.seen == ["m1", "m2", "m3"]


def test_handler_exception_fails_only_that_record() -> None:
    event = sqs_event(sqs_record(order(n), message_id=f"m{n}") for n in range(1, 5))
    handle = Recorder(fail={"m2", "m4"})

    response = process_sqs_batch(event, handle)

    assert response == failures("m2", "m4")
    assert handle.seen == ["m1", "m2", "m3", "m4"]


@pytest.mark.parametrize("event", [{"Records": []}, {}, {"Records": None}])
def test_empty_batch_or_missing_records_has_no_failures(event: dict[str, Any]) -> None:
    handle = Recorder()

    assert process_sqs_batch(event, handle) == {"batchItemFailures": []}
    assert handle.seen == []


def test_response_shape_is_exactly_the_lambda_contract() -> None:
    event = sqs_event(
        [sqs_record(order(1), message_id="m1"), sqs_record(order(2), message_id="m2")]
    )

    response = process_sqs_batch(event, Recorder(fail={"m2"}))

    assert list(response) == ["batchItemFailures"]
    assert response["batchItemFailures"] == [{"itemIdentifier": "m2"}]
    assert list(response["batchItemFailures"][0]) == ["itemIdentifier"]
    assert json.loads(json.dumps(response)) == response


def test_standard_queue_keeps_processing_after_a_failure() -> None:
    event = sqs_event(sqs_record(order(n), message_id=f"m{n}") for n in range(1, 4))
    handle = Recorder(fail={"m1"})

    assert process_sqs_batch(event, handle) == failures("m1")
    assert handle.seen == ["m1", "m2", "m3"]


def test_fifo_failure_skips_rest_of_its_group_only() -> None:
    order_of_arrival = [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A")]
    order_of_arrival += [("b3", "B"), ("a4", "A"), ("c1", "C")]
    event = sqs_event(
        sqs_record(order(i), message_id=mid, group_id=group, queue_arn=FIFO_QUEUE_ARN)
        for i, (mid, group) in enumerate(order_of_arrival)
    )
    handle = Recorder(fail={"a2", "b3"})

    response = process_sqs_batch(event, handle)

    # a3 and a4 come after a failed record of group A: reported failed, never processed.
    assert response == failures("a2", "a3", "b3", "a4")
    assert handle.seen == ["a1", "b1", "a2", "b2", "b3", "c1"]


def test_fifo_detected_from_message_group_id_alone() -> None:
    event = sqs_event(
        sqs_record(order(i), message_id=f"m{i}", group_id="G", queue_arn=STANDARD_QUEUE_ARN)
        for i in range(1, 4)
    )
    handle = Recorder(fail={"m1"})

    assert process_sqs_batch(event, handle) == failures("m1", "m2", "m3")
    assert handle.seen == ["m1"]


def test_fifo_arn_without_group_ids_treats_batch_as_one_group() -> None:
    event = sqs_event(
        sqs_record(order(i), message_id=f"m{i}", queue_arn=FIFO_QUEUE_ARN) for i in range(1, 4)
    )
    handle = Recorder(fail={"m2"})

    assert process_sqs_batch(event, handle) == failures("m2", "m3")
    assert handle.seen == ["m1", "m2"]


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"messageId": ""}, id="empty"),
        pytest.param({"messageId": None}, id="none"),
        pytest.param({"messageId": 7}, id="not-a-string"),
        pytest.param({}, id="missing"),
    ],
)
def test_record_without_message_id_fails_whole_batch_before_processing(
    broken: dict[str, Any],
) -> None:
    bad = sqs_record(order(2))
    del bad["messageId"]
    bad.update(broken)
    event = sqs_event([sqs_record(order(1), message_id="m1"), bad])
    handle = Recorder()

    with pytest.raises(MissingMessageIdError, match="Record 1 of the batch has no messageId"):
        process_sqs_batch(event, handle)
    assert handle.seen == [], "no record may be processed when the batch will be retried"


def test_record_that_is_not_an_object_fails_whole_batch() -> None:
    with pytest.raises(MissingMessageIdError):
        process_sqs_batch({"Records": ["not a record"]}, Recorder())


def test_failure_is_logged_with_message_id_and_type_but_never_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "4111-1111-1111-1111"
    event = sqs_event(
        [
            sqs_record(json.dumps({"card": secret}), message_id="m-raises"),
            sqs_record('{"card": "' + secret, message_id="m-malformed"),
        ]
    )

    def handle(record: SqsRecord) -> None:
        record.json()
        raise KeyError("order_id")

    with caplog.at_level(logging.DEBUG, logger="serverless_patterns.runtime.batch"):
        response = process_sqs_batch(event, handle)

    assert response == failures("m-raises", "m-malformed")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(vars(r)["messageId"], vars(r)["errorType"]) for r in errors] == [
        ("m-raises", "KeyError"),
        ("m-malformed", "MalformedRecordError"),
    ]
    assert all(r.exc_info for r in errors)
    assert secret not in caplog.text


def test_fifo_skip_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    event = sqs_event(
        sqs_record(order(i), message_id=f"m{i}", group_id="G", queue_arn=FIFO_QUEUE_ARN)
        for i in range(1, 3)
    )
    with caplog.at_level(logging.WARNING, logger="serverless_patterns.runtime.batch"):
        process_sqs_batch(event, Recorder(fail={"m1"}))

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [vars(r)["messageId"] for r in warnings] == ["m2"]


def test_malformed_record_error_names_message_id_not_body() -> None:
    record = SqsRecord(sqs_record('{"secret": "hunter2"', message_id="m-9"))

    with pytest.raises(MalformedRecordError) as raised:
        record.json()

    assert isinstance(raised.value, ValueError)
    assert "m-9" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_sqs_record_exposes_standard_record_fields() -> None:
    raw = sqs_record(
        order(1),
        message_id="m1",
        receive_count=3,
        message_attributes={"source": string_attribute("web")},
    )

    record = SqsRecord(raw)

    assert record.raw is raw
    assert record.message_id == "m1"
    assert record.body == order(1)
    assert record.json() == {"order_id": "order-1", "quantity": 1}
    assert record.attributes["SenderId"] == raw["attributes"]["SenderId"]
    assert record.message_attributes == {"source": string_attribute("web")}
    assert record.message_group_id is None
    assert record.receive_count == 3
    assert not record.is_fifo


def test_sqs_record_exposes_fifo_fields() -> None:
    record = SqsRecord(
        sqs_record(order(1), message_id="m1", group_id="customer-7", queue_arn=FIFO_QUEUE_ARN)
    )

    assert record.message_group_id == "customer-7"
    assert record.receive_count == 1
    assert record.is_fifo


def test_batch_handler_builds_a_lambda_handler() -> None:
    handle = Recorder(fail={"m2"})
    handler = batch_handler(handle)
    event = sqs_event(sqs_record(order(n), message_id=f"m{n}") for n in range(1, 4))

    assert handler(event, object()) == failures("m2")
    assert handle.seen == ["m1", "m2", "m3"]
