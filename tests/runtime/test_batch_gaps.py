"""SQS batch behaviour the mutation run (issue 14) found unpinned: each test names the mutant
of ``runtime/batch.py`` it kills.

"Using Lambda with Amazon SQS" (Lambda Developer Guide, event example) lists
``ApproximateReceiveCount`` among a record's ``attributes``; the helper must not depend on it.
"Handling errors for an SQS event source in Lambda": an empty or invalid ``itemIdentifier``
fails the whole batch, which is why a record without a messageId raises before any work.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from serverless_patterns.runtime.batch import (
    MalformedRecordError,
    MissingMessageIdError,
    SqsRecord,
    process_records,
    process_sqs_batch,
    sqs_records,
)
from tests.runtime.sqs_events import FIFO_QUEUE_ARN, sqs_event, sqs_record


def test_receive_count_is_1_when_the_attribute_is_absent() -> None:
    # Mutant: the default 1 of attributes.get("ApproximateReceiveCount", 1) becomes 0 or 2.
    raw = sqs_record("{}", message_id="m1")
    del raw["attributes"]["ApproximateReceiveCount"]
    assert SqsRecord(raw).receive_count == 1
    assert SqsRecord({"messageId": "m2", "attributes": None}).receive_count == 1


def test_receive_count_reads_the_attribute_as_a_number() -> None:
    assert SqsRecord(sqs_record("{}", message_id="m1", receive_count=7)).receive_count == 7


def test_repr_names_the_message_id_and_never_the_body() -> None:
    record = SqsRecord(sqs_record('{"card": "4111-1111-1111-1111"}', message_id="m-42"))
    assert repr(record) == "SqsRecord(message_id='m-42')"
    assert "4111" not in repr(record)


def test_absent_or_null_fields_read_as_empty() -> None:
    # Mutants: each `raw.get(...) or <empty>` becoming `and`.
    record = SqsRecord(
        {"messageId": "m1", "body": None, "attributes": None, "messageAttributes": None}
    )
    assert record.body == ""
    assert record.attributes == {}
    assert record.message_attributes == {}
    assert record.message_group_id is None
    assert not record.is_fifo
    assert SqsRecord({"messageId": "m1", "eventSourceARN": None}).is_fifo is False


def test_a_standard_queue_record_is_not_fifo_but_a_fifo_arn_alone_makes_it_fifo() -> None:
    # Mutants: `or` of is_fifo becoming `and`; endswith(".fifo") negated.
    assert SqsRecord(sqs_record("{}", message_id="m1")).is_fifo is False
    assert SqsRecord(sqs_record("{}", message_id="m1", queue_arn=FIFO_QUEUE_ARN)).is_fifo is True
    assert SqsRecord(sqs_record("{}", message_id="m1", group_id="g")).is_fifo is True


def test_malformed_json_error_gives_the_position_not_the_body() -> None:
    record = SqsRecord(sqs_record('{\n  "a": tru', message_id="m-7"))
    with pytest.raises(MalformedRecordError) as raised:
        record.json()
    message = str(raised.value)
    assert message.startswith("Record m-7: body is not valid JSON (")
    assert "line 2 column 8" in message
    assert "tru" not in message


def test_a_record_that_is_not_an_object_fails_the_batch_before_any_record_runs() -> None:
    # Gap: the old test checked only the exception type. Here a valid record comes first, so a
    # mutant that processes records while validating them runs it.
    seen: list[str] = []
    event: dict[str, Any] = {
        "Records": [sqs_record("{}", message_id="m0"), "not a record", {"messageId": "m2"}]
    }

    with pytest.raises(MissingMessageIdError) as raised:
        process_sqs_batch(event, lambda record: seen.append(record.message_id))

    assert str(raised.value) == (
        "Record 1 of the batch has no messageId; failing the whole batch so Lambda retries it"
    )
    assert seen == []


def test_sqs_records_keeps_every_record_in_order() -> None:
    event = sqs_event(sqs_record("{}", message_id=f"m{n}") for n in range(3))
    assert [record.message_id for record in sqs_records(event)] == ["m0", "m1", "m2"]


def test_a_handler_return_value_is_ignored_and_a_falsy_one_is_no_failure() -> None:
    event = sqs_event(sqs_record("{}", message_id=f"m{n}") for n in range(2))
    for value in (False, None, 0, "error"):

        def handle(record: SqsRecord, value: object = value) -> object:
            return value

        assert process_sqs_batch(event, handle) == {"batchItemFailures": []}


def test_base_exceptions_are_not_swallowed_as_record_failures() -> None:
    # A KeyboardInterrupt or SystemExit stops the invocation; only Exception fails one record.
    def interrupt(record: SqsRecord) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_sqs_batch(sqs_event([sqs_record("{}", message_id="m1")]), interrupt)


def test_process_records_fails_a_fifo_group_after_its_first_failure_across_groups() -> None:
    records = [
        SqsRecord(sqs_record(json.dumps(n), message_id=f"{g}{n}", group_id=g))
        for n, g in [(1, "A"), (1, "B"), (2, "A"), (2, "B")]
    ]
    seen: list[str] = []

    def handle(record: SqsRecord) -> None:
        seen.append(record.message_id)
        if record.message_id == "B1":
            raise RuntimeError("refused")

    response = process_records(records, handle)

    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ("B1", "B2")]}
    assert seen == ["A1", "B1", "A2"]
