"""Properties of the webhook SQS handlers (issue 12): the consumer and the sender list exactly
the bad records in ``batchItemFailures``, never raise for a well-formed batch, and log no body.

Plain pytest and hypothesis with in-memory SQS and DynamoDB stand-ins (no AWS).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.handlers import webhook_consumer, webhook_sender
from serverless_patterns.runtime.webhooks import delivery_message
from serverless_patterns.runtime.webhooks.sender import Sender
from tests.runtime.hostile_inputs import json_values, marked_json_texts, sqs_bodies, sqs_text
from tests.runtime.sqs_events import sqs_event, sqs_record
from tests.runtime.test_webhook_message import SQS_REFUSED, enqueue

MARK = "BODY-MARK-a91d"
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_marked_bytes = marked_json_texts(MARK).map(lambda t: t.encode("utf-8", "surrogatepass"))
_invalid_envelopes = st.sampled_from(
    [
        {"body": "{}"},
        {"id": 7, "body": "{}"},
        {"id": "m"},
        {"id": "m", "body": 5},
        {"id": "m", "body_base64": "%%%"},
        {"id": "m", "body": '{"note": "' + MARK + '"'},
        {"id": "m", "claim_check": {"bucket": 1}},
    ]
).map(json.dumps)


@st.composite
def consumer_batches(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[str]]:
    """Records of receiver messages (any signed body) mixed with bad ones; the bad ids."""
    records, bad = [], set()
    for index in range(draw(st.integers(min_value=0, max_value=6))):
        message_id = f"m{index}"
        if draw(st.booleans()):
            body = draw(st.binary(max_size=80) | _marked_bytes)
            text, _ = enqueue(body, draw(st.sampled_from(["application/json", "text/plain"])))
        else:
            text = draw(sqs_bodies() | _invalid_envelopes | marked_json_texts(MARK).map(sqs_text))
            bad.add(message_id)
        records.append(sqs_record(text, message_id=message_id))
    return records, bad


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return " ".join(
        record.getMessage() + repr(record.__dict__) + (record.exc_text or "")
        for record in caplog.records
    )


@PROPERTY
@given(batch=consumer_batches())
def test_the_consumer_fails_exactly_the_bad_records(
    caplog: pytest.LogCaptureFixture, batch: tuple[list[dict[str, Any]], set[str]]
) -> None:
    """Property: every message the receiver writes (JSON, form, binary, hostile bodies) is
    processed; every other body fails only its own record; no log holds a body."""
    records, bad = batch
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    response = webhook_consumer.handler(sqs_event(records), None)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == bad
    assert len(response["batchItemFailures"]) == len(bad)
    assert MARK not in _logged(caplog)


# --- sender -----------------------------------------------------------------------------------

DOWN = "down"  # a subscriber whose table read fails: the record must be retried by SQS


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        return {"MessageId": str(len(self.sent))}


class FakeDynamoDB:
    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        if Key["subscriber_id"]["S"] == DOWN:
            raise ConnectionError("table unreachable")
        return {}  # unknown subscriber: dead-lettered


@st.composite
def sender_batches(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[str]]:
    """Deliveries to an unknown or an unreachable subscriber, and malformed messages."""
    records, bad = [], set()
    for index in range(draw(st.integers(min_value=0, max_value=6))):
        message_id = f"d{index}"
        kind = draw(st.sampled_from(["unknown", "down", "malformed"]))
        if kind == "malformed":
            body = draw(sqs_bodies() | marked_json_texts(MARK).map(sqs_text))
        else:
            payload = {"note": MARK, "data": draw(json_values.filter(_finite))}
            subscriber = DOWN if kind == "down" else "ghost"
            body = delivery_message(subscriber_id=subscriber, event_id="evt_1", payload=payload)
        if kind == "down":
            bad.add(message_id)
        records.append(sqs_record(body, message_id=message_id))
    return records, bad


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


@PROPERTY
@given(batch=sender_batches())
def test_the_sender_fails_exactly_the_records_it_cannot_settle(
    caplog: pytest.LogCaptureFixture, batch: tuple[list[dict[str, Any]], set[str]]
) -> None:
    """Property: malformed and undeliverable messages are dead-lettered (one SQS-safe message
    each) and not failed; only records whose subscriber cannot be read fail; nothing raises
    and no log holds a payload."""
    records, bad = batch
    sqs = FakeSqs()
    sender = Sender(
        subscribers_table="subscribers",
        queue_url="https://queue",
        dead_letter_queue_url="https://dlq",
        sqs_client=sqs,  # type: ignore[arg-type]
        dynamodb_client=FakeDynamoDB(),  # type: ignore[arg-type]
    )
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(webhook_sender, "default_sender", lambda: sender):
        response = webhook_sender.handler(sqs_event(records), None)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == bad
    assert len(sqs.sent) == len(records) - len(bad)
    for request in sqs.sent:
        assert request["QueueUrl"] == "https://dlq"
        assert SQS_REFUSED.search(request["MessageBody"]) is None
    assert MARK not in _logged(caplog)


def test_a_delivery_with_a_5000_digit_number_is_dead_lettered_not_retried() -> None:
    # record.json() caught only JSONDecodeError before; the sender now parses with parse_json.
    body = re.sub("1", "1" * 5_000, '{"subscriber_id": "s", "event_id": "e", "payload": 1}')
    sqs = FakeSqs()
    sender = Sender(
        subscribers_table="t",
        queue_url="q",
        dead_letter_queue_url="dlq",
        sqs_client=sqs,  # type: ignore[arg-type]
        dynamodb_client=FakeDynamoDB(),  # type: ignore[arg-type]
    )
    with mock.patch.object(webhook_sender, "default_sender", lambda: sender):
        deep = '{"subscriber_id": "s", "payload": ' + "[" * 2_000 + "]" * 2_000 + "}"
        event = sqs_event([sqs_record(body, message_id="a"), sqs_record(deep, message_id="b")])
        assert webhook_sender.handler(event, None) == {"batchItemFailures": []}
    assert [json.loads(r["MessageBody"])["reason"] for r in sqs.sent] == [
        "malformed_delivery",
        "malformed_delivery",
    ]
