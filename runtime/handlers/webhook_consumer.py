"""Reference consumer of verified webhooks: the QueueWorker behind a WebhookReceiver.

Each message is what the receiver enqueued: ``{id, timestamp, headers, payload}``, or a claim
check pointing at the raw body in S3 for payloads too large for the queue. A message that is
not such an envelope, or whose claim check cannot be read, fails only its own record.
"""

from __future__ import annotations

import logging
from typing import Any

from serverless_patterns.runtime.batch import SqsRecord, batch_handler
from serverless_patterns.runtime.webhooks.receiver import resolve_payload

logger = logging.getLogger(__name__)


class InvalidWebhookMessageError(ValueError):
    """The message is not a webhook envelope from the receiver."""


def handle_webhook(record: SqsRecord) -> Any:
    """Resolve the webhook's payload (from S3 for a claim check) and process it."""
    message = record.json()
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        raise InvalidWebhookMessageError(
            f"Record {record.message_id}: not a webhook envelope (no string 'id')"
        )
    payload = resolve_payload(message)
    logger.info(
        "Webhook processed",
        extra={
            "webhookId": message["id"],
            "messageId": record.message_id,
            "payloadType": type(payload).__name__,
        },
    )
    return payload


handler = batch_handler(handle_webhook)
