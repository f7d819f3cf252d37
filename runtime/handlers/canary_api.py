"""Reference CanaryApi handler: a small JSON API over the runtime router.

Routes: ``GET /health`` (used by the deployment's smoke checks), ``POST /orders`` (validates
an order and accepts it) and ``GET /orders/{order_id}``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from serverless_patterns.runtime.api.router import HttpError, Request, Response, Router

logger = logging.getLogger(__name__)
router = Router()


@router.route("GET", "/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness plus the version that answered (what the smoke checks compare)."""
    return {"status": "ok", "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")}


@router.route("POST", "/orders")
def create_order(request: Request) -> Response:
    """Accepts ``{"order_id": str, "quantity": positive int}``; 422 names the bad field."""
    data = request.json()
    if not isinstance(data, dict):
        raise HttpError(422, "The body must be a JSON object")
    order_id = data.get("order_id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise HttpError(422, "order_id must be a non-empty string")
    quantity = data.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise HttpError(422, "quantity must be a positive integer")
    logger.info("Order accepted", extra={"correlationId": request.correlation_id})
    return Response(201, {"order_id": order_id, "quantity": quantity, "status": "accepted"})


@router.route("GET", "/orders/{order_id}")
def get_order(request: Request) -> dict[str, Any]:
    """Echoes the order id with a status (the reference API keeps no state)."""
    return {"order_id": request.path_params["order_id"], "status": "accepted"}


handler = router.handler
