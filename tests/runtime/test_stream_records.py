"""Stream records and the checkpointing processor, without AWS.

Partial batch responses for streams: "Configuring partial batch response with Kinesis Data
Streams and Lambda" (the first failed record's sequence number; Lambda retries from the lowest
one reported).
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from serverless_patterns.runtime.handlers import stream_consumer
from serverless_patterns.runtime.streams import (
    DynamoDBRecord,
    KinesisRecord,
    MalformedStreamRecordError,
    MissingSequenceNumberError,
    StreamRecord,
    process_stream_batch,
    stream_records,
)
from tests.runtime.stream_events import event

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"


def kinesis(sequence: str, data: bytes, shard: str = "shardId-000000000000") -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "p",
            "sequenceNumber": sequence,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventID": f"{shard}:{sequence}",
        "eventSourceARN": STREAM_ARN,
    }


def test_kinesis_record_decodes_base64_data_and_json() -> None:
    record = KinesisRecord(
        kinesis(
            "49590338271490256608559692538361571095921575989136588898",
            b'{"order_id": "o-1", "quantity": 2}',
        )
    )
    assert record.data == b'{"order_id": "o-1", "quantity": 2}'
    assert record.json() == {"order_id": "o-1", "quantity": 2}
    assert record.shard_id == "shardId-000000000000"
    assert record.event_id.endswith(":49590338271490256608559692538361571095921575989136588898")
    assert record.approximate_arrival_timestamp == 1545084650.987


@pytest.mark.parametrize(
    ("raw_data", "message"),
    [
        ("***", "not valid base64"),
        (base64.b64encode(b"\xff").decode(), "not UTF-8"),
        (base64.b64encode(b"{").decode(), "not valid JSON"),
    ],
)
def test_bad_kinesis_data_raises_naming_the_sequence_number_only(
    raw_data: str, message: str
) -> None:
    raw = kinesis("7", b"")
    raw["kinesis"]["data"] = raw_data
    with pytest.raises(MalformedStreamRecordError, match=f"^Record 7: data is {message}") as exc:
        KinesisRecord(raw).json()
    assert raw_data not in str(exc.value)


def test_dynamodb_images_become_plain_python_values() -> None:
    serialize = TypeSerializer().serialize
    item = {
        "pk": "o-1",
        "quantity": Decimal(3),
        "price": Decimal("2.50"),
        "tags": {"a", "b"},
        "blob": b"\x00\x01",
        "nested": {"list": [Decimal(1), "x", None, True]},
    }
    raw = {
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"pk": {"S": "o-1"}},
            "NewImage": {k: serialize(v) for k, v in item.items()},
            "OldImage": {"pk": {"S": "o-1"}, "quantity": {"N": "1"}},
            "SequenceNumber": "4421584500000000017450439091",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    [record] = stream_records(event([raw]))
    assert isinstance(record, DynamoDBRecord)
    assert record.keys == {"pk": "o-1"}
    assert record.old_image == {"pk": "o-1", "quantity": 1}
    new = record.new_image
    assert new == {
        "pk": "o-1",
        "quantity": 3,
        "price": Decimal("2.50"),
        "tags": {"a", "b"},
        "blob": b"\x00\x01",
        "nested": {"list": [1, "x", None, True]},
    }
    assert type(new["quantity"]) is int and type(new["blob"]) is bytes


def test_a_record_without_sequence_number_fails_the_whole_batch_before_any_runs() -> None:
    ran: list[str] = []
    raw = kinesis("1", b"{}")
    missing = kinesis("", b"{}")
    with pytest.raises(MissingSequenceNumberError, match="Record 1 of the batch"):
        process_stream_batch(event([raw, missing]), lambda r: ran.append(r.sequence_number))
    assert ran == []


def test_empty_batch_has_no_failures() -> None:
    assert process_stream_batch({"Records": []}, lambda r: None) == {"batchItemFailures": []}
    assert process_stream_batch({}, lambda r: None) == {"batchItemFailures": []}


@given(
    outcomes=st.lists(st.booleans(), min_size=0, max_size=30),
)
def test_stops_at_the_first_failure_and_reports_only_it(outcomes: list[bool]) -> None:
    """Property: records before the first failure run, the failure is the only item reported,
    and nothing after it runs."""
    records = [kinesis(str(1000 + i), b"{}") for i in range(len(outcomes))]
    ran: list[str] = []

    def handle(record: StreamRecord) -> None:
        ran.append(record.sequence_number)
        if not outcomes[int(record.sequence_number) - 1000]:
            raise RuntimeError("boom")

    response = process_stream_batch(event(records), handle)
    first_failure = next((i for i, ok in enumerate(outcomes) if not ok), None)
    if first_failure is None:
        assert response == {"batchItemFailures": []}
        assert ran == [str(1000 + i) for i in range(len(outcomes))]
    else:
        assert response == {"batchItemFailures": [{"itemIdentifier": str(1000 + first_failure)}]}
        assert ran == [str(1000 + i) for i in range(first_failure + 1)]


def test_failure_log_names_the_sequence_number_not_the_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = b'{"order_id": "SECRET-VALUE", "quantity": -1}'
    response = stream_consumer.handler(event([kinesis("42", secret)]), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "42"}]}
    assert "42" in caplog.text
    assert "SECRET-VALUE" not in caplog.text


@given(data=st.binary(max_size=200))
def test_reference_handler_never_raises_on_arbitrary_data(data: bytes) -> None:
    """Whatever a producer writes, the reference handler fails that record (the checkpoint)
    or processes it; it never fails the invocation as a whole."""
    response = stream_consumer.handler(event([kinesis("5", data)]), None)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("order_id"), str):
        assert response == {"batchItemFailures": [{"itemIdentifier": "5"}]}
    else:
        assert response["batchItemFailures"] in ([], [{"itemIdentifier": "5"}])
