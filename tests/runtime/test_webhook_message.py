"""The queued webhook message (issue 12 items 2, 3, 4): exact bytes, SQS-safe, sized in UTF-8.

Messages are built by the receiver's own ``_enqueue`` with in-memory SQS and S3 stand-ins, and
read back with ``read_message`` / ``resolve_body`` / ``resolve_payload``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.webhooks.message import (
    InvalidWebhookMessageError,
    read_message,
    resolve_body,
    resolve_payload,
)
from serverless_patterns.runtime.webhooks.receiver import Receiver
from serverless_patterns.runtime.webhooks.signing import VerifiedWebhook
from serverless_patterns.runtime.webhooks.sqs_body import SQS_MESSAGE_LIMIT_BYTES, sqs_json
from tests.runtime.hostile_inputs import (
    HOSTILE_JSON_TEXTS,
    hostile_json_bytes,
    hostile_json_texts,
    json_values,
    marked_json_texts,
)

#: "Amazon SQS message quotas" (SQS Developer Guide), message content: the only characters
#: allowed are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
#: Put in bodies to check no error message repeats a body.
MARK = "BODY-MARK-7f3a"
SQS_REFUSED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class FakeSqs:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message(self, *, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        self.bodies.append(MessageBody)
        return {"MessageId": str(len(self.bodies))}


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[(Bucket, Key)] = Body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


def enqueue(body: bytes, content_type: str = "application/json") -> tuple[str, FakeS3]:
    """The SQS message body the receiver sends for a verified webhook of ``body``."""
    sqs, s3 = FakeSqs(), FakeS3()
    receiver = Receiver(
        secret_arn="arn:secret",
        queue_url="https://queue",
        claim_check_bucket="claims",
        sqs_client=sqs,  # type: ignore[arg-type]
        s3_client=s3,  # type: ignore[arg-type]
    )
    webhook = VerifiedWebhook("msg_1", 1_700_000_000, body)
    receiver._enqueue(webhook, {"content-type": content_type, "webhook-id": "msg_1"})
    [text] = sqs.bodies
    return text, s3


def queued(body: bytes, content_type: str = "application/json") -> tuple[dict[str, Any], FakeS3]:
    text, s3 = enqueue(body, content_type)
    return json.loads(text), s3


def test_an_inline_json_body_resolves_to_the_exact_bytes_signed() -> None:
    # Issue 12 item 4: 1.10 stayed 1.10, spacing and key order kept, non-ASCII not escaped.
    body = '{"amount": 1.10,  "note": "café ✓", "z": 1, "a": 2}'.encode()
    message, s3 = queued(body)
    assert "claim_check" not in message
    assert resolve_body(message, s3_client=s3) == body  # type: ignore[arg-type]
    assert resolve_payload(message) == {"amount": 1.1, "note": "café ✓", "z": 1, "a": 2}


def test_a_form_body_is_given_as_bytes_and_content_type_never_parsed() -> None:
    # Issue 12 item 2: resolve_payload used to json.loads a body_base64 body.
    body = b"event=invoice.paid&amount=42"
    message, _ = queued(body, "application/x-www-form-urlencoded")
    assert resolve_payload(message) == body
    webhook = read_message(message)
    assert (webhook.body, webhook.is_json) == (body, False)
    assert webhook.content_type == "application/x-www-form-urlencoded"


@pytest.mark.parametrize("text", HOSTILE_JSON_TEXTS[:6], ids=lambda t: t[:12])
def test_json_the_runtime_cannot_parse_takes_the_raw_body_path(text: str) -> None:
    # Issue 12 item 3: 5,000-digit integers and 2,000-deep nesting used to be a permanent 500.
    message, _ = queued(text.encode())
    assert "body_base64" in message
    assert resolve_payload(message) == text.encode()


def test_a_non_ascii_body_is_sized_by_its_utf8_bytes_and_stays_inline() -> None:
    # 60,000 "é" are 120,000 bytes in UTF-8 but 360,000 as \u00e9 escapes (over 256 KiB).
    body = json.dumps({"text": "é" * 60_000}, ensure_ascii=False).encode()
    assert len(body) < SQS_MESSAGE_LIMIT_BYTES < len(json.dumps(body.decode()))
    text, _ = enqueue(body)
    message = json.loads(text)
    assert "claim_check" not in message
    assert len(text.encode()) < SQS_MESSAGE_LIMIT_BYTES
    assert resolve_body(message) == body


def test_characters_sqs_refuses_are_escaped_and_round_trip() -> None:
    # "Amazon SQS message quotas": U+FFFE, U+FFFF and control characters are refused in a
    # message body, though they are valid in a UTF-8 JSON body.
    body = '{"a": "\ufffe\uffff\x01\x7f\u0085\U0001f600"}'.encode()
    text, _ = enqueue(body)
    assert SQS_REFUSED.search(text) is None
    assert resolve_body(json.loads(text)) == body


def test_a_claim_check_keeps_the_exact_bytes_and_whether_they_are_json() -> None:
    body = b'{"rows": [' + b"1.10, " * 60_000 + b"1.10]}"
    message, s3 = queued(body)
    claim = message["claim_check"]
    assert claim["json"] is True
    assert claim["sha256"] == hashlib.sha256(body).hexdigest()
    assert resolve_body(message, s3_client=s3) == body  # type: ignore[arg-type]
    assert resolve_payload(message, s3_client=s3)["rows"][0] == 1.1  # type: ignore[arg-type]
    form = b"x=" + b"y" * SQS_MESSAGE_LIMIT_BYTES
    message, s3 = queued(form, "application/x-www-form-urlencoded")
    assert message["claim_check"]["json"] is False
    assert resolve_payload(message, s3_client=s3) == form  # type: ignore[arg-type]


def test_messages_of_the_previous_version_are_still_read() -> None:
    # A queue may hold them during an update: payload (parsed JSON), body_base64 (not JSON),
    # and claim checks without the "json" marker.
    old_json = {"id": "m", "timestamp": 1, "headers": {}, "payload": {"a": [1, "é"]}}
    assert resolve_payload(old_json) == {"a": [1, "é"]}
    assert json.loads(resolve_body(old_json)) == {"a": [1, "é"]}
    old_form = {"id": "m", "headers": {}, "body_base64": base64.b64encode(b"a=1").decode()}
    assert resolve_payload(old_form) == b"a=1"
    s3 = FakeS3()
    for key, body in (("j", b'{"b": 2}'), ("f", b"b=2")):
        s3.objects[("claims", key)] = body
    for key, expected in (("j", {"b": 2}), ("f", b"b=2")):
        digest = hashlib.sha256(s3.objects[("claims", key)]).hexdigest()
        claim = {"bucket": "claims", "key": key, "size": 3, "sha256": digest}
        old_claim = {"id": "m", "timestamp": 1, "headers": {}, "claim_check": claim}
        assert resolve_payload(old_claim, s3_client=s3) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "message",
    [
        None,
        [],
        "text",
        {},
        {"id": 1, "body": "{}"},
        {"id": "m"},
        {"id": "m", "body": 5},
        {"id": "m", "body_base64": "not base64!"},
        {"id": "m", "body": '{"a": 1'},
        {"id": "m", "body": "\ud800"},
        {"id": "m", "claim_check": {"bucket": "b"}},
        {"id": "m", "claim_check": "s3://b/k"},
    ],
    ids=repr,
)
def test_a_message_the_receiver_never_sends_is_invalid(message: Any) -> None:
    with pytest.raises(InvalidWebhookMessageError):
        read_message(message).payload()


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=300)
    | hostile_json_bytes()
    | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"))
)
def test_any_signed_body_round_trips_exactly(body: bytes) -> None:
    """Property: for any bytes, the receiver's message holds only characters SQS accepts and
    ``resolve_body`` gives back those bytes; ``resolve_payload`` parses only JSON bodies."""
    text, _ = enqueue(body)
    assert SQS_REFUSED.search(text) is None
    message = json.loads(text)
    assert resolve_body(message) == body
    payload = resolve_payload(message)
    if "body" in message:
        # parse_json accepted it, so json.loads does too (compared as text: NaN != NaN)
        assert json.dumps(payload) == json.dumps(json.loads(body))
    else:
        assert payload == body


@settings(max_examples=200, deadline=None)
@given(
    message=json_values
    | st.fixed_dictionaries({"id": st.text(max_size=5)}, optional={"body": json_values})
    | st.fixed_dictionaries({"id": st.just("m"), "body": hostile_json_texts()})
    | st.fixed_dictionaries({"id": st.just("m"), "body": marked_json_texts(MARK)})
    | st.fixed_dictionaries({"id": st.just("m"), "body_base64": st.text(max_size=20)})
    | st.fixed_dictionaries({"id": st.just("m"), "claim_check": json_values})
)
def test_read_message_raises_only_invalid_webhook_message(message: Any) -> None:
    """Property: any JSON value is a webhook or an InvalidWebhookMessageError, never another
    error (a consumer fails only that record, with a message that holds no body)."""
    try:
        read_message(message).payload()
    except InvalidWebhookMessageError as error:
        assert MARK not in str(error)


def test_sqs_json_escapes_only_what_sqs_refuses() -> None:
    value = {"s": "é\ufffe\ud800\x00ok"}
    text = sqs_json(value)
    assert "é" in text
    assert SQS_REFUSED.search(text) is None
    assert json.loads(text) == value
