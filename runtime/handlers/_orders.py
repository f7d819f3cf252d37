"""The order the reference handlers accept, wherever it arrives from (a request, an SQS
message, an EventBridge event): ``order_id``, a string that is not blank, and ``quantity``,
a positive integer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def order_fields(
    data: Mapping[str, Any], *, where: str, error: type[ValueError], field_prefix: str = ""
) -> tuple[str, int]:
    """``(order_id, quantity)`` of ``data``, or ``error`` naming ``where`` the order came from
    and the field (as ``field_prefix`` + its name), never the field's value."""
    order_id = data.get("order_id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise error(
            f"{where}: {field_prefix}order_id must be a non-empty string, "
            f"got {type(order_id).__name__}"
        )
    quantity = data.get("quantity")
    # bool is an int subclass; true is not a quantity.
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise error(
            f"{where}: {field_prefix}quantity must be a positive integer, "
            f"got {type(quantity).__name__}"
        )
    return order_id, quantity
