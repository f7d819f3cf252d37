"""Reference StreamConsumer handler: validates and processes order events from a Kinesis stream.

A record that is not a valid order is a poison record: it becomes the checkpoint, the records
after it wait, and Lambda retries from it until the mapping's retry bound, then describes the
batch in the on-failure destination and moves on. Records of other shards are unaffected.
"""

from __future__ import annotations

import logging

from serverless_patterns.runtime.handlers._orders import order_fields
from serverless_patterns.runtime.streams import KinesisRecord, StreamRecord, stream_batch_handler

logger = logging.getLogger(__name__)


class InvalidOrderEventError(ValueError):
    """The record is not a valid order; retrying cannot fix it."""


def parse_order(record: StreamRecord) -> tuple[str, int]:
    """``(order_id, quantity)`` of a Kinesis record's JSON data, or InvalidOrderEventError
    naming the sequence number and the field, never the data."""
    where = f"Record {record.sequence_number}"
    if not isinstance(record, KinesisRecord):
        raise InvalidOrderEventError(f"{where}: not a Kinesis record")
    data = record.json()
    if not isinstance(data, dict):
        raise InvalidOrderEventError(
            f"{where}: data must be a JSON object, got {type(data).__name__}"
        )
    return order_fields(data, where=where, error=InvalidOrderEventError)


def handle_record(record: StreamRecord) -> None:
    """Process one order event; raise a ValueError if it is not a valid order."""
    order_id, quantity = parse_order(record)
    logger.info(
        "Order event processed",
        extra={
            "order_id": order_id,
            "quantity": quantity,
            "sequenceNumber": record.sequence_number,
        },
    )


handler = stream_batch_handler(handle_record)
