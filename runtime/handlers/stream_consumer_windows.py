"""Reference tumbling-window handler: order totals per window from a DynamoDB table stream.

Each INSERT of an order item (``order_id`` and ``quantity`` in its new image) adds to the
window's totals; at the end of each window the totals are written once to the table named by
``WINDOW_TABLE_NAME``. Other changes (MODIFY, REMOVE) are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from serverless_patterns.runtime.handlers._orders import order_fields
from serverless_patterns.runtime.streams import (
    DynamoDBRecord,
    StreamRecord,
    tumbling_window_handler,
)


class InvalidOrderItemError(ValueError):
    """An inserted item is not a valid order."""


def add_orders(totals: dict[str, Any], records: Sequence[StreamRecord]) -> dict[str, Any]:
    """``totals`` with the inserted orders of ``records`` added: ``orders`` and ``quantity``."""
    orders = int(totals.get("orders", 0))
    quantity = int(totals.get("quantity", 0))
    for record in records:
        if not isinstance(record, DynamoDBRecord) or record.event_name != "INSERT":
            continue
        _, amount = order_fields(
            record.new_image or {},
            where=f"Record {record.sequence_number}",
            error=InvalidOrderItemError,
        )
        orders += 1
        quantity += amount
    return {"orders": orders, "quantity": quantity}


handler = tumbling_window_handler(add_orders)
