"""The delivery message: ``delivery_message`` builds what the sender's parser reads, and the
parser refuses what the builder refuses (plain pytest and hypothesis, no AWS)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.webhooks import (
    DELIVERY_QUEUE_URL_ENV,
    MalformedDeliveryError,
    contract,
    delivery_message,
)
from serverless_patterns.runtime.webhooks.delivery import MAX_SUBSCRIBER_ID_BYTES, Delivery
from serverless_patterns.runtime.webhooks.sender import Sender
from tests.runtime.sqs_events import sqs_record

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
subscriber_ids = st.text(min_size=1, max_size=600).filter(
    lambda s: len(s.encode()) <= MAX_SUBSCRIBER_ID_BYTES
)
event_ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)
attempts = st.integers(min_value=1, max_value=10**6)

not_strings = st.none() | st.integers() | st.booleans() | st.lists(st.text(), max_size=2)
bad_subscriber_ids = (
    not_strings
    | st.just("")
    | st.just("\ud800")
    | st.text(min_size=MAX_SUBSCRIBER_ID_BYTES + 1, max_size=MAX_SUBSCRIBER_ID_BYTES + 5)
    | st.just("é" * (MAX_SUBSCRIBER_ID_BYTES // 2 + 1))
)
bad_event_ids = (
    not_strings
    | st.just("")
    | st.text(min_size=1).filter(lambda s: any(not "!" <= c <= "~" for c in s))
)
bad_attempts = st.integers(max_value=0) | st.booleans() | st.floats() | st.text() | st.none()
not_json_payloads = st.sampled_from([math.nan, math.inf, -math.inf, {"a": [math.nan]}])


def parse(body: str) -> Delivery:
    """What the sender does with a message body."""
    return Delivery.from_json(SqsRecord(sqs_record(body)).json())


@settings(deadline=None)
@given(subscriber_id=subscriber_ids, event_id=event_ids, payload=json_values)
def test_built_messages_parse_back_to_the_same_delivery(
    subscriber_id: str, event_id: str, payload: Any
) -> None:
    body = delivery_message(subscriber_id=subscriber_id, event_id=event_id, payload=payload)
    assert parse(body) == Delivery(subscriber_id, event_id, payload, 1)
    assert json.loads(body)["attempt"] == 1


@settings(deadline=None)
@given(subscriber_id=subscriber_ids, event_id=event_ids, payload=json_values, attempt=attempts)
def test_resent_deliveries_parse_back(
    subscriber_id: str, event_id: str, payload: Any, attempt: int
) -> None:
    delivery = Delivery(subscriber_id, event_id, payload, attempt)
    assert parse(json.dumps(delivery.to_json())) == delivery


def check_both_refuse(fields: dict[str, Any]) -> None:
    with pytest.raises(MalformedDeliveryError):
        delivery_message(**fields)
    with pytest.raises(MalformedDeliveryError):
        Delivery.from_json(fields)


@settings(deadline=None)
@given(subscriber_id=bad_subscriber_ids, event_id=event_ids)
def test_bad_subscriber_ids_are_refused_by_both(subscriber_id: Any, event_id: str) -> None:
    check_both_refuse({"subscriber_id": subscriber_id, "event_id": event_id, "payload": {}})


@settings(deadline=None)
@given(subscriber_id=subscriber_ids, event_id=bad_event_ids)
def test_bad_event_ids_are_refused_by_both(subscriber_id: str, event_id: Any) -> None:
    check_both_refuse({"subscriber_id": subscriber_id, "event_id": event_id, "payload": {}})


@settings(deadline=None)
@given(payload=not_json_payloads)
def test_payloads_that_are_not_json_are_refused_by_both(payload: Any) -> None:
    check_both_refuse({"subscriber_id": "s", "event_id": "e", "payload": payload})


@settings(deadline=None)
@given(attempt=bad_attempts)
def test_bad_attempts_are_refused_by_the_parser(attempt: Any) -> None:
    with pytest.raises(MalformedDeliveryError, match="attempt must be a positive integer"):
        Delivery.from_json(
            {"subscriber_id": "s", "event_id": "e", "payload": 1, "attempt": attempt}
        )


@pytest.mark.parametrize("payload", [{1, 2}, b"bytes", object()])
def test_the_builder_refuses_values_json_cannot_hold(payload: Any) -> None:
    with pytest.raises(MalformedDeliveryError, match="payload must be a JSON value"):
        delivery_message(subscriber_id="s", event_id="e", payload=payload)


def test_the_message_is_compact_json_with_every_field() -> None:
    body = delivery_message(subscriber_id="acme", event_id="evt_1", payload={"type": "a.b"})
    assert body == (
        '{"subscriber_id":"acme","event_id":"evt_1","payload":{"type":"a.b"},"attempt":1}'
    )


def test_a_missing_payload_or_a_non_object_is_refused_by_the_parser() -> None:
    with pytest.raises(MalformedDeliveryError, match="payload is missing"):
        Delivery.from_json({"subscriber_id": "s", "event_id": "e"})
    with pytest.raises(MalformedDeliveryError, match="must be a JSON object"):
        Delivery.from_json([])


def test_the_queue_url_variable_is_the_senders() -> None:
    assert DELIVERY_QUEUE_URL_ENV == contract.SENDER_QUEUE_URL_ENV == "WEBHOOK_DELIVERY_QUEUE_URL"


class _Recorder:
    """Stands in for a boto3 client: records every call, answers nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {}

        return call


@pytest.mark.parametrize("event_id", ["evt 1", "evt\r\nX-Injected: 1", "évt"])
def test_the_sender_dead_letters_an_event_id_no_header_can_carry(event_id: str) -> None:
    """Before, such an id reached http.client, which raised outside the retry handling."""
    sqs, dynamodb = _Recorder(), _Recorder()
    sender = Sender(
        subscribers_table="subscribers",
        queue_url="https://sqs/deliveries",
        dead_letter_queue_url="https://sqs/dlq",
        sqs_client=sqs,  # type: ignore[arg-type]
        dynamodb_client=dynamodb,  # type: ignore[arg-type]
    )
    body = json.dumps({"subscriber_id": "s", "event_id": event_id, "payload": {}})
    sender.deliver(SqsRecord(sqs_record(body)))
    assert dynamodb.calls == []
    [(name, call)] = sqs.calls
    assert name == "send_message" and call["QueueUrl"] == "https://sqs/dlq"
    assert json.loads(call["MessageBody"])["reason"] == "malformed_delivery"
