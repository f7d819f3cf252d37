"""The delivery message: what a producer sends to a ``WebhookSender``'s delivery queue.

One SQS message is one delivery of one event to one subscriber, a JSON object::

    {"subscriber_id": "acme", "event_id": "evt_123", "payload": {...}, "attempt": 1}

- ``subscriber_id``: the subscriber's key in the subscribers table; a non-empty string of at
  most 2048 bytes in UTF-8 (a DynamoDB partition key value: "Constraints in Amazon
  DynamoDB", partition key length).
- ``event_id``: sent as the ``webhook-id`` header and signed (Standard Webhooks); subscribers
  deduplicate on it, so keep it stable for one event and subscriber. Visible ASCII only
  (``!`` to ``~``): an HTTP header value cannot carry control characters, and receivers strip
  surrounding spaces before verifying.
- ``payload``: any JSON value; it is POSTed as the body, compact JSON. NaN and infinities are
  not JSON and are refused.
- ``attempt``: a positive integer, 1 when absent; the sender counts retries with it.

A producer builds the body with ``delivery_message`` and sends it to the queue whose URL a
``WebhookSender.add_producer`` function finds in ``DELIVERY_QUEUE_URL_ENV``::

    sqs.send_message(
        QueueUrl=os.environ[DELIVERY_QUEUE_URL_ENV],
        MessageBody=delivery_message(subscriber_id="acme", event_id="evt_123", payload=event),
    )
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from serverless_patterns.runtime.webhooks import contract

__all__ = [
    "DELIVERY_QUEUE_URL_ENV",
    "MAX_SUBSCRIBER_ID_BYTES",
    "Delivery",
    "MalformedDeliveryError",
    "delivery_message",
]

#: The environment variable holding the delivery queue URL (the sender's and its producers').
DELIVERY_QUEUE_URL_ENV = contract.SENDER_QUEUE_URL_ENV
#: DynamoDB's largest partition key value, in bytes.
MAX_SUBSCRIBER_ID_BYTES = 2048


class MalformedDeliveryError(ValueError):
    """A delivery message lacks a field or has one of the wrong type (never shows the payload)."""


def _compact_json(value: Any) -> str:
    """``value`` as compact JSON; MalformedDeliveryError when the payload in it is no JSON."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise MalformedDeliveryError("payload must be a JSON value (no NaN or infinity)") from None


def _check(subscriber_id: Any, event_id: Any, attempt: Any) -> None:
    """Raises MalformedDeliveryError unless the fields are as the module docstring says."""
    if not isinstance(subscriber_id, str) or not subscriber_id:
        raise MalformedDeliveryError("subscriber_id must be a non-empty string")
    try:
        size = len(subscriber_id.encode())
    except UnicodeEncodeError:
        raise MalformedDeliveryError("subscriber_id must be valid Unicode") from None
    if size > MAX_SUBSCRIBER_ID_BYTES:
        raise MalformedDeliveryError(
            f"subscriber_id must be at most {MAX_SUBSCRIBER_ID_BYTES} bytes in UTF-8, got {size}"
        )
    if not isinstance(event_id, str) or not event_id:
        raise MalformedDeliveryError("event_id must be a non-empty string")
    if not all("!" <= char <= "~" for char in event_id):
        raise MalformedDeliveryError("event_id must hold visible ASCII characters only")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise MalformedDeliveryError("attempt must be a positive integer")


@dataclass(frozen=True)
class Delivery:
    """One delivery of one event to one subscriber."""

    subscriber_id: str
    event_id: str
    payload: Any
    attempt: int = 1

    @classmethod
    def from_json(cls, data: Any) -> Delivery:
        """Reads a parsed delivery message; raises MalformedDeliveryError."""
        if not isinstance(data, Mapping):
            raise MalformedDeliveryError("a delivery must be a JSON object")
        attempt = data.get("attempt", 1)
        _check(data.get("subscriber_id"), data.get("event_id"), attempt)
        if "payload" not in data:
            raise MalformedDeliveryError("payload is missing")
        delivery = cls(data["subscriber_id"], data["event_id"], data["payload"], attempt)
        _ = delivery.body  # refuses a payload that is no JSON, once; the sender POSTs it
        return delivery

    @cached_property
    def body(self) -> str:
        """The payload as compact JSON, the body POSTed; raises MalformedDeliveryError."""
        return _compact_json(self.payload)

    def to_json(self) -> dict[str, Any]:
        """The message form of this delivery."""
        return {
            "subscriber_id": self.subscriber_id,
            "event_id": self.event_id,
            "payload": self.payload,
            "attempt": self.attempt,
        }


def delivery_message(*, subscriber_id: str, event_id: str, payload: Any) -> str:
    """The body of a first delivery message, compact JSON; raises MalformedDeliveryError (a
    ValueError) for a field the sender would refuse (see the module docstring)."""
    _check(subscriber_id, event_id, 1)
    return _compact_json(Delivery(subscriber_id, event_id, payload).to_json())
