"""Webhook receiver behind API Gateway (REST proxy): verify, dedupe, enqueue, 202.

Configured by the ``contract.RECEIVER_*`` environment variables and
``IDEMPOTENCY_TABLE_NAME``; see ``serverless_patterns.runtime.webhooks.receiver``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from serverless_patterns.runtime.webhooks.receiver import Receiver


@functools.cache
def default_receiver() -> Receiver:
    """The container's receiver (and its secret cache), built from the environment once."""
    return Receiver.from_environment()


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return default_receiver().handle(event, context)
