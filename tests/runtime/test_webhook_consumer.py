"""The reference webhook consumer: inline payloads, claim checks (moto S3), bad messages."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.handlers import webhook_consumer
from tests.runtime.sqs_events import sqs_event, sqs_record


def envelope_record(message: Any, message_id: str) -> dict[str, Any]:
    return sqs_record(json.dumps(message), message_id=message_id)


def test_inline_payload_is_processed_and_bad_messages_fail_alone() -> None:
    good = {"id": "msg_1", "timestamp": "1700000000", "headers": {}, "payload": {"a": 1}}
    event = sqs_event(
        [
            envelope_record(good, "good"),
            envelope_record({"payload": {"a": 1}}, "no-id"),
            sqs_record("not json", message_id="malformed"),
        ]
    )

    response = webhook_consumer.handler(event, None)

    assert response == {
        "batchItemFailures": [{"itemIdentifier": "no-id"}, {"itemIdentifier": "malformed"}]
    }
    assert webhook_consumer.handle_webhook(SqsRecord(envelope_record(good, "again"))) == {"a": 1}


def test_claim_check_is_read_from_s3(aws_client: Callable[[str], Any]) -> None:
    s3 = aws_client("s3")
    bucket = f"claims-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    body = json.dumps({"big": "x" * 1000}).encode()
    s3.put_object(Bucket=bucket, Key="webhooks/k", Body=body)
    claim = {"bucket": bucket, "key": "webhooks/k", "size": len(body)}
    good = {"id": "msg_2", "claim_check": {**claim, "sha256": hashlib.sha256(body).hexdigest()}}
    tampered = {"id": "msg_3", "claim_check": {**claim, "sha256": "0" * 64}}

    assert webhook_consumer.handle_webhook(SqsRecord(envelope_record(good, "m2"))) == {
        "big": "x" * 1000
    }
    with pytest.raises(ValueError, match="does not match its hash"):
        webhook_consumer.handle_webhook(SqsRecord(envelope_record(tampered, "m3")))


def test_a_form_webhook_is_processed_as_bytes_not_failed() -> None:
    # Issue 12 item 2: resolve_payload ran json.loads on a body_base64 form body, so every
    # non-JSON webhook the receiver accepted failed here and ended in the DLQ.
    form = b"event=invoice.paid&amount=42"
    message = {
        "id": "msg_form",
        "timestamp": 1_700_000_000,
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "body_base64": base64.b64encode(form).decode(),
    }
    event = sqs_event([envelope_record(message, "form")])
    assert webhook_consumer.handler(event, None) == {"batchItemFailures": []}
    assert webhook_consumer.handle_webhook(SqsRecord(envelope_record(message, "again"))) == form
