"""Queued webhook messages: behaviour the mutation run (issue 14) found unpinned."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from serverless_patterns.runtime.webhooks.message import (
    InvalidWebhookMessageError,
    QueuedWebhook,
    read_message,
    resolve_body,
    resolve_payload,
)

BODY = b"amount=42&currency=EUR"


def test_base64_with_a_character_outside_the_alphabet_is_refused() -> None:
    # Without validation b64decode drops such characters and decodes the rest silently.
    encoded = base64.b64encode(BODY).decode()
    message = {"id": "msg_1", "body_base64": encoded[:8] + "*" + encoded[8:]}
    with pytest.raises(InvalidWebhookMessageError) as raised:
        read_message(message)
    assert str(raised.value) == "webhook msg_1: body_base64 is not base64"
    assert read_message({"id": "msg_1", "body_base64": encoded}).body == BODY


def test_the_s3_client_is_passed_by_keyword_only() -> None:
    message = {"id": "msg_1", "body_base64": base64.b64encode(BODY).decode()}
    with pytest.raises(TypeError):
        read_message(message, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        resolve_body(message, None)  # type: ignore[call-arg]
    assert resolve_body(message, s3_client=None) == BODY


def test_the_repr_leaves_out_the_decoded_text() -> None:
    webhook = read_message({"id": "msg_1", "body": '{"n": 1}'})
    assert "_text" not in repr(webhook)


def test_resolve_payload_takes_the_s3_client_by_keyword_only() -> None:
    message = {"id": "msg_1", "body": '{"n": 1}'}
    with pytest.raises(TypeError):
        resolve_payload(message, None)  # type: ignore[call-arg]
    assert resolve_payload(message, s3_client=None) == {"n": 1}


def test_a_queued_webhook_is_frozen_and_compared_without_its_text() -> None:
    webhook = QueuedWebhook("msg_1", 1, {}, b'{"n":1}', True, '{"n":1}')
    assert webhook == QueuedWebhook("msg_1", 1, {}, b'{"n":1}', True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        webhook.body = b"{}"  # type: ignore[misc]


def test_only_string_headers_are_kept() -> None:
    headers = {"content-type": "text/plain", "x-count": 2, 3: "three"}
    webhook = read_message({"id": "msg_1", "body": "{}", "headers": headers})
    assert webhook.headers == {"content-type": "text/plain"}


def test_the_repr_of_a_queued_webhook_never_holds_its_body() -> None:
    """Logging the object (``logger.info("%r", webhook)``) must not print the payload."""
    webhook = QueuedWebhook(
        id="msg_1", timestamp=1, headers={}, body=b'{"card": "4111"}', is_json=True
    )
    assert "4111" not in repr(webhook) and "msg_1" in repr(webhook)
