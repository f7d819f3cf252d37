"""Standard Webhooks: signing, verifying, receiving and sending webhooks.

The signing helpers (standard library only) are re-exported here::

    from serverless_patterns.runtime.webhooks import headers, sign, verify

So are the delivery message builder and the environment variable holding the delivery queue
URL, for producers of a ``WebhookSender``::

    from serverless_patterns.runtime.webhooks import DELIVERY_QUEUE_URL_ENV, delivery_message

``receiver`` (API Gateway → verify → dedupe → queue) and ``sender`` (queue → signed POST with
retries) are imported from their modules; ``contract`` names the environment and table
attributes the constructs set.
"""

from serverless_patterns.runtime.webhooks.delivery import (
    DELIVERY_QUEUE_URL_ENV,
    MalformedDeliveryError,
    delivery_message,
)
from serverless_patterns.runtime.webhooks.signing import (
    REASONS,
    VerifiedWebhook,
    WebhookVerificationError,
    decode_secret,
    headers,
    sign,
    verify,
)

__all__ = [
    "DELIVERY_QUEUE_URL_ENV",
    "REASONS",
    "MalformedDeliveryError",
    "VerifiedWebhook",
    "WebhookVerificationError",
    "decode_secret",
    "delivery_message",
    "headers",
    "sign",
    "verify",
]
