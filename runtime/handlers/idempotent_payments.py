"""Reference IdempotentConsumer handler: captures each payment once, however often it arrives.

Messages are JSON objects ``{"payment_id": str, "amount_cents": int, "currency": str}``. The
payment id is the idempotency key; a redelivered or resent payment is skipped, and one that
reuses a payment id with a different amount or currency fails (and, after
``maxReceiveCount`` receives, waits in the dead-letter queue for a person).
"""

from __future__ import annotations

import logging

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.idempotency import idempotent_batch_handler

logger = logging.getLogger(__name__)


class InvalidPaymentError(ValueError):
    """The message is not a valid payment; retrying cannot fix it."""


def capture_payment(record: SqsRecord) -> dict[str, object]:
    """Validate and capture one payment; the returned receipt is stored for duplicates."""
    payment = record.json()
    if not isinstance(payment, dict):
        raise InvalidPaymentError(f"Record {record.message_id}: body must be a JSON object")
    amount = payment.get("amount_cents")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidPaymentError(
            f"Record {record.message_id}: amount_cents must be a positive integer"
        )
    logger.info(
        "Payment captured",
        extra={"payment_id": payment["payment_id"], "messageId": record.message_id},
    )
    return {"payment_id": payment["payment_id"], "status": "captured"}


handler = idempotent_batch_handler(
    capture_payment,
    key="payment_id",
    payload_validation="[amount_cents, currency]",
)
