"""Reference EventBusFanOut consumers: process each ``OrderPlaced`` event once per event id.

The same work, ``handle_order_placed``, behind the two ways a rule delivers an event:

- ``handler``: for a Lambda target, which EventBridge invokes with the event itself
  (``event_handler``);
- ``queue_handler``: for a ``BufferedTarget``'s QueueWorker, which receives the events in SQS
  batches (``event_batch_handler``, with partial batch responses).

Both are idempotent on the event id, with the table and window from
``IDEMPOTENCY_TABLE_NAME`` / ``IDEMPOTENCY_EXPIRES_AFTER_SECONDS`` (the constructs' idempotency
option sets them): a redelivered copy of an event returns the stored result without running
the work again. An event whose detail is not a valid order fails with a ValueError naming the
event id and the field, never the value.
"""

from __future__ import annotations

import logging

from serverless_patterns.runtime.events.envelope import (
    EventEnvelope,
    event_batch_handler,
    event_handler,
)
from serverless_patterns.runtime.handlers._orders import order_fields

logger = logging.getLogger(__name__)


class InvalidOrderEventError(ValueError):
    """The event's detail is not a valid order; retrying cannot fix it."""


def parse_order(event: EventEnvelope) -> tuple[str, int]:
    """``(order_id, quantity)`` from the event's detail, or InvalidOrderEventError."""
    return order_fields(
        event.detail,
        where=f"Event {event.id}",
        error=InvalidOrderEventError,
        field_prefix="detail.",
    )


def handle_order_placed(event: EventEnvelope) -> dict[str, object]:
    """Accepts one order; the returned result is stored and answers duplicates of the event."""
    order_id, quantity = parse_order(event)
    logger.info(
        "Order accepted",
        extra={"order_id": order_id, "quantity": quantity, "event_id": event.id},
    )
    return {"order_id": order_id, "status": "accepted"}


handler = event_handler(handle_order_placed)
queue_handler = event_batch_handler(handle_order_placed)
