"""Reference EventBusFanOut producer: publishes one ``OrderPlaced`` event per order it is given.

Invoke it (synchronously) with ``{"orders": [{"order_id": "o-1", "quantity": 2}, ...]}``. Every
order is checked before anything is published: one that is not valid fails the invocation
with a ValueError naming its index and field, never its value. The events go to the bus named
by ``EVENT_BUS_NAME`` in batched PutEvents calls (``EventPublisher``), and the response says
what was published::

    {"published": 2, "event_ids": ["...", "..."], "failed": []}

An order whose event was still rejected after the publisher's retries is listed in ``failed``
with its index and EventBridge's error code (its ``event_ids`` entry is null), so the caller
can resend exactly those orders; the others are not sent again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from serverless_patterns.runtime.events.publisher import Event, EventPublisher
from serverless_patterns.runtime.handlers._orders import order_fields

logger = logging.getLogger(__name__)

#: The ``source`` and ``detail-type`` of the events, matched by the reference stack's rule.
SOURCE = "orders"
DETAIL_TYPE = "OrderPlaced"


class InvalidOrderError(ValueError):
    """An order in the request is not valid; nothing was published."""


def parse_orders(event: Any) -> list[dict[str, Any]]:
    """The orders of the request, as ``{"order_id": str, "quantity": int}`` (other fields are
    not published). Raises InvalidOrderError naming the index and field of the first problem."""
    if not isinstance(event, Mapping) or not isinstance(event.get("orders"), list):
        raise InvalidOrderError('the request must be a JSON object with a list "orders"')
    orders: list[dict[str, Any]] = []
    for index, order in enumerate(event["orders"]):
        if not isinstance(order, Mapping):
            raise InvalidOrderError(
                f"order #{index} must be a JSON object, got {type(order).__name__}"
            )
        order_id, quantity = order_fields(order, where=f"order #{index}", error=InvalidOrderError)
        orders.append({"order_id": order_id, "quantity": quantity})
    return orders


def order_placed_event(order: Mapping[str, Any]) -> Event:
    """The ``OrderPlaced`` event of one parsed order."""
    return Event(source=SOURCE, detail_type=DETAIL_TYPE, detail=dict(order))


def publish_orders(event: Any, publisher: EventPublisher) -> dict[str, Any]:
    """Checks every order, publishes one event each, and reports what was published."""
    orders = parse_orders(event)
    result = publisher.publish(order_placed_event(order) for order in orders)
    failed = [{"index": f.index, "error_code": f.error_code} for f in result.failed]
    if failed:
        logger.warning(
            "Some order events were not published",
            extra={"published": result.published_count, "failed": len(failed)},
        )
    else:
        logger.info("Order events published", extra={"published": result.published_count})
    return {
        "published": result.published_count,
        "event_ids": list(result.event_ids),
        "failed": failed,
    }


@functools.cache
def _default_publisher() -> EventPublisher:
    """One publisher per execution environment: its client and connections are reused."""
    return EventPublisher()


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: ``publish_orders`` with this environment's publisher."""
    return publish_orders(event, _default_publisher())
