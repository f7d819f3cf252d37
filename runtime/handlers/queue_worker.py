"""Reference QueueWorker handler: validates and processes order messages from SQS.

A message that is not a valid order is a poison message: its record fails, SQS redelivers it
up to ``maxReceiveCount`` times and then moves it to the dead-letter queue. Other records of
the batch are unaffected.
"""

from __future__ import annotations

import logging

from serverless_patterns.runtime.batch import SqsRecord, batch_handler
from serverless_patterns.runtime.handlers._orders import order_fields

logger = logging.getLogger(__name__)


class InvalidOrderError(ValueError):
    """The message is not a valid order; retrying cannot fix it."""


def parse_order(record: SqsRecord) -> tuple[str, int]:
    """Return ``(order_id, quantity)`` from the record's JSON body or raise a ValueError.

    The body must be a JSON object with ``order_id`` (a string that is not blank) and
    ``quantity`` (a positive integer). Error messages name the messageId and the field, never
    the body or the field's value.
    """
    data = record.json()
    if not isinstance(data, dict):
        raise InvalidOrderError(
            f"Record {record.message_id}: body must be a JSON object, got {type(data).__name__}"
        )
    return order_fields(data, where=f"Record {record.message_id}", error=InvalidOrderError)


def handle_record(record: SqsRecord) -> None:
    """Process one order message; raise a ValueError if it is not a valid order."""
    order_id, quantity = parse_order(record)
    logger.info(
        "Order processed",
        extra={"order_id": order_id, "quantity": quantity, "messageId": record.message_id},
    )


handler = batch_handler(handle_record)
