"""The contract between the webhook constructs (CDK side) and the runtime: names only.

Constructs import these names to configure functions and tables; the runtime reads the
environment and items with them. Keep this module free of imports.
"""

# --- receiver -------------------------------------------------------------------------------
#: ARN of the Secrets Manager secret holding the ``whsec_...`` signing secret(s); a JSON list of
#: secrets or one secret string (several secrets: rotation).
RECEIVER_SECRET_ARN_ENV = "WEBHOOK_SECRET_ARN"
#: URL of the queue verified webhooks are sent to.
RECEIVER_QUEUE_URL_ENV = "WEBHOOK_QUEUE_URL"
#: Bucket for payloads too large for the queue (claim check).
RECEIVER_CLAIM_CHECK_BUCKET_ENV = "WEBHOOK_CLAIM_CHECK_BUCKET"
#: Timestamp tolerance in seconds (default 300).
RECEIVER_TOLERANCE_ENV = "WEBHOOK_TOLERANCE_SECONDS"
#: How long the verifier caches the secret before reading it again, in seconds (default 300).
RECEIVER_SECRET_CACHE_ENV = "WEBHOOK_SECRET_CACHE_SECONDS"
#: Key prefix of claim-check objects in the bucket.
CLAIM_CHECK_PREFIX = "webhooks/"
#: ``errorCode`` (and first word) of the one ERROR line the receiver logs when its secret cannot
#: be read or decoded (it then answers 500); a metric filter can match it for an alarm.
SECRET_ERROR_CODE = "WebhookSecretUnusable"

# --- sender ---------------------------------------------------------------------------------
#: Table of subscriber endpoints.
SENDER_SUBSCRIBERS_TABLE_ENV = "WEBHOOK_SUBSCRIBERS_TABLE"
#: URL of the delivery queue (retries are re-sent to it with a delay).
SENDER_QUEUE_URL_ENV = "WEBHOOK_DELIVERY_QUEUE_URL"
#: URL of the dead-letter queue for exhausted deliveries (sent with the reason).
SENDER_DEAD_LETTER_QUEUE_URL_ENV = "WEBHOOK_DEAD_LETTER_QUEUE_URL"
#: Delivery attempts before a delivery is dead-lettered (default 8).
SENDER_MAX_ATTEMPTS_ENV = "WEBHOOK_MAX_ATTEMPTS"
#: HTTP timeout per delivery attempt in seconds (default 10).
SENDER_TIMEOUT_ENV = "WEBHOOK_TIMEOUT_SECONDS"

#: Subscribers table: partition key (string).
SUBSCRIBER_ID_ATTRIBUTE = "subscriber_id"
#: The endpoint URL (https, or http only when allow-listed).
SUBSCRIBER_URL_ATTRIBUTE = "url"
#: ARN of the Secrets Manager secret holding the subscriber's ``whsec_...`` secret.
SUBSCRIBER_SECRET_ARN_ATTRIBUTE = "secret_arn"
#: Boolean; False once the endpoint answered 410 Gone.
SUBSCRIBER_ENABLED_ATTRIBUTE = "enabled"
#: Boolean; True lets the endpoint resolve to private, loopback or link-local addresses.
SUBSCRIBER_ALLOW_PRIVATE_ATTRIBUTE = "allow_private_network"
#: Deliveries per second allowed to this endpoint (number; default 10).
SUBSCRIBER_RATE_LIMIT_ATTRIBUTE = "rate_limit_per_second"

#: The DynamoDB item actions the sender calls on the subscribers table.
SUBSCRIBER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")

# --- handlers --------------------------------------------------------------------------------
RECEIVER_HANDLER = "serverless_patterns.runtime.handlers.webhook_receiver.handler"
SENDER_HANDLER = "serverless_patterns.runtime.handlers.webhook_sender.handler"
