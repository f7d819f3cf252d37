"""Standard Webhooks: signing, verifying, receiving and sending webhooks.

The signing helpers (standard library only) are re-exported here::

    from serverless_patterns.runtime.webhooks import headers, sign, verify

``receiver`` (API Gateway → verify → dedupe → queue) and ``sender`` (queue → signed POST with
retries) are imported from their modules; ``contract`` names the environment and table
attributes the constructs set.
"""

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
    "REASONS",
    "VerifiedWebhook",
    "WebhookVerificationError",
    "decode_secret",
    "headers",
    "sign",
    "verify",
]
