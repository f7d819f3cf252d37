"""Reference consumer of verified webhooks: the QueueWorker behind a WebhookReceiver.

Each message is what the receiver enqueued (see ``serverless_patterns.runtime.webhooks.message``):
the exact body inline, base64-encoded, or behind a claim check in S3. A JSON body is processed
as its parsed value; any other body (a form, binary data) as its bytes and content type. A
message that is not such an envelope, or whose claim check cannot be read, fails only its own
record.
"""

from __future__ import annotations

import logging
from typing import Any

from serverless_patterns.runtime.batch import SqsRecord, batch_handler
from serverless_patterns.runtime.json_input import MalformedJson, parse_json
from serverless_patterns.runtime.webhooks.message import InvalidWebhookMessageError, read_message

__all__ = ["InvalidWebhookMessageError", "handle_webhook", "handler"]

logger = logging.getLogger(__name__)


def handle_webhook(record: SqsRecord) -> Any:
    """Read the webhook (from S3 for a claim check) and process it; returns its payload: the
    parsed JSON, or the body's bytes when it is not JSON."""
    try:
        message = parse_json(record.body)
    except MalformedJson as error:
        raise InvalidWebhookMessageError(f"Record {record.message_id}: {error}") from None
    webhook = read_message(message)
    payload = webhook.payload()
    logger.info(
        "Webhook processed",
        extra={
            "webhookId": webhook.id,
            "messageId": record.message_id,
            "contentType": webhook.content_type[:128],
            "bodyBytes": len(webhook.body),
            "payloadType": type(payload).__name__,
        },
    )
    return payload


handler = batch_handler(handle_webhook)
