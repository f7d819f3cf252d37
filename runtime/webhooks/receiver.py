"""Receiving webhooks behind API Gateway: verify, dedupe on ``webhook-id``, enqueue, 202.

::

    from serverless_patterns.runtime.webhooks.receiver import Receiver

    receiver = Receiver.from_environment()

    def handler(event, context):
        return receiver.handle(event, context)

Per request (a REST API Lambda proxy event):

1. The raw body bytes are taken exactly as received (``isBase64Encoded`` decoded): the
   signature covers those bytes, never a re-serialised JSON document.
2. The Standard Webhooks signature is verified with the secret(s) from Secrets Manager
   (cached per container for ``secret_cache_seconds``); ``svix-*`` headers are accepted in
   place of ``webhook-*``. A failure answers 401
   ``{"error": "invalid_signature", "reason": "<code>"}``, enqueues nothing and is logged
   with its reason and the webhook id only (never the secret, signature or body). A secret
   that cannot be read or decoded is the server's fault: 500 ``{"error": "internal_error"}``
   and one ERROR line whose ``errorCode`` is ``contract.SECRET_ERROR_CODE`` (for an alarm).
3. The webhook id is the idempotency key: a duplicate returns the stored 202 result without
   enqueueing again; a duplicate arriving while the first is still being enqueued answers
   409, so the sender retries later.
4. The message is sent to the queue: ``{"id", "timestamp", "headers", "body"}`` with the body
   verbatim when it is UTF-8 JSON, ``body_base64`` otherwise (see
   ``serverless_patterns.runtime.webhooks.message``). A message over the SQS limit (256 KiB,
   counted in UTF-8) is replaced by a claim check: the raw body goes to the S3 bucket under
   ``contract.CLAIM_CHECK_PREFIX`` and the message carries ``claim_check`` instead
   (``resolve_body`` returns the exact bytes signed, ``resolve_payload`` the parsed JSON or
   the bytes).
5. 202 ``{"id": "<webhook-id>"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from serverless_patterns.runtime.idempotency import (
    DynamoDBStore,
    IdempotencyAlreadyInProgressError,
    IdempotentBatch,
    Keyed,
    idempotency_key,
)
from serverless_patterns.runtime.idempotency.session import remaining_time_of
from serverless_patterns.runtime.webhooks import contract
from serverless_patterns.runtime.webhooks.message import body_fields, resolve_body, resolve_payload
from serverless_patterns.runtime.webhooks.secrets import SecretCache
from serverless_patterns.runtime.webhooks.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    ID_HEADER,
    SVIX_ID_HEADER,
    SVIX_TIMESTAMP_HEADER,
    TIMESTAMP_HEADER,
    VerifiedWebhook,
    WebhookVerificationError,
    decode_secret,
    verify,
)
from serverless_patterns.runtime.webhooks.sqs_body import (
    SQS_MESSAGE_LIMIT_BYTES,
    sqs_json,
    utf8_size,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "FORWARDED_HEADERS",
    "SQS_MESSAGE_LIMIT_BYTES",
    "Receiver",
    "raw_body",
    "resolve_body",
    "resolve_payload",
]

logger = logging.getLogger(__name__)

#: Request headers copied into the queued message (lower case); never the signature.
FORWARDED_HEADERS = (
    "content-type",
    ID_HEADER,
    TIMESTAMP_HEADER,
    SVIX_ID_HEADER,
    SVIX_TIMESTAMP_HEADER,
    "user-agent",
)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {raw!r}")
    return value


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body exactly as the client sent it (base64 decoded when API Gateway
    encoded it); ``b""`` when there is none.

    Raises WebhookVerificationError("malformed_body") for a body flagged base64 that is not,
    and for a body that is not a string of Unicode text.
    """
    body = event.get("body")
    if body is None:
        return b""
    try:
        if not isinstance(body, str):
            raise ValueError("the body is not a string")
        if event.get("isBase64Encoded"):
            return base64.b64decode(body, validate=True)
        return body.encode()
    except (binascii.Error, ValueError):  # UnicodeEncodeError (lone surrogates) included
        raise WebhookVerificationError(
            "malformed_body", "the body is not text, or is flagged base64 but does not decode"
        ) from None


def _header_map(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _lower_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """Header names in lower case; ``headers`` wins over ``multiValueHeaders`` (its last
    value); null values, and names or values that are not strings, are ignored."""
    headers: dict[str, str] = {}
    for name, values in _header_map(event.get("multiValueHeaders")).items():
        last = values[-1] if isinstance(values, list) and values else values
        if isinstance(name, str) and isinstance(last, str):
            headers[name.lower()] = last
    for name, value in _header_map(event.get("headers")).items():
        if isinstance(name, str) and isinstance(value, str):
            headers[name.lower()] = value
    return headers


class Receiver:
    """The webhook receiver; see the module docstring for what one request does.

    :param secret_arn: the Secrets Manager secret holding one ``whsec_`` secret or a JSON
        list of them.
    :param queue_url: where verified webhooks are sent.
    :param claim_check_bucket: where bodies too large for the queue go. Default: - none; a
        message over the limit then fails with 500 (the sender retries).
    :param tolerance_seconds: allowed timestamp skew in each direction. Default: - 300 s.
    :param secret_cache_seconds: how long the secret is reused before it is read again.
        Default: - 300 s.
    :param store: the idempotency store. Default: - ``DynamoDBStore()`` from the environment,
        created on the first request.
    :param namespace: prefix of the idempotency keys. Default: - ``<function name>.webhooks``.
    :param sqs_client: Default: - created on first use.
    :param s3_client: Default: - created on first use.
    :param secrets: a secret cache. Default: - a new ``SecretCache(secret_cache_seconds)``.
    :param clock: the current Unix time for the timestamp window. Default: - ``time.time``.
    """

    def __init__(
        self,
        *,
        secret_arn: str,
        queue_url: str,
        claim_check_bucket: str | None = None,
        tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
        secret_cache_seconds: float = 300.0,
        store: DynamoDBStore | None = None,
        namespace: str | None = None,
        sqs_client: SQSClient | None = None,
        s3_client: S3Client | None = None,
        secrets: SecretCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not secret_arn:
            raise ValueError("secret_arn is required")
        if not queue_url:
            raise ValueError("queue_url is required")
        self.secret_arn = secret_arn
        self.queue_url = queue_url
        self.claim_check_bucket = claim_check_bucket or None
        self.tolerance_seconds = tolerance_seconds
        self.secrets = secrets or SecretCache(secret_cache_seconds)
        self.namespace = namespace or (
            f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'local')}.webhooks"
        )
        self._store = store
        self._sqs = sqs_client
        self._s3 = s3_client
        self._clock = clock

    @classmethod
    def from_environment(cls, **overrides: Any) -> Receiver:
        """A receiver configured by the ``contract.RECEIVER_*`` environment variables."""
        settings: dict[str, Any] = {
            "secret_arn": os.environ.get(contract.RECEIVER_SECRET_ARN_ENV, ""),
            "queue_url": os.environ.get(contract.RECEIVER_QUEUE_URL_ENV, ""),
            "claim_check_bucket": os.environ.get(contract.RECEIVER_CLAIM_CHECK_BUCKET_ENV),
            "tolerance_seconds": _env_number(
                contract.RECEIVER_TOLERANCE_ENV, DEFAULT_TOLERANCE_SECONDS
            ),
            "secret_cache_seconds": _env_number(contract.RECEIVER_SECRET_CACHE_ENV, 300.0),
        }
        if not settings["secret_arn"]:
            raise ValueError(f"{contract.RECEIVER_SECRET_ARN_ENV} is not set")
        if not settings["queue_url"]:
            raise ValueError(f"{contract.RECEIVER_QUEUE_URL_ENV} is not set")
        settings.update(overrides)
        return cls(**settings)

    @property
    def store(self) -> DynamoDBStore:
        """The idempotency store, created on first use."""
        if self._store is None:
            self._store = DynamoDBStore()
        return self._store

    @property
    def sqs(self) -> SQSClient:
        """The SQS client, created on first use."""
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        return self._sqs

    @property
    def s3(self) -> S3Client:
        """The S3 client, created on first use."""
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    # --- one request --------------------------------------------------------------------

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """Answers one API Gateway proxy event: 202, 401 (with a reason), 409 or 500."""
        if not isinstance(event, Mapping):
            event = {}
        headers = _lower_headers(event)
        try:
            keys = self._keys()
        except Exception as exc:  # Secrets Manager unreachable, a SecretFormatError, bad base64
            logger.error(
                "%s: the webhook secret could not be read or decoded (%s); answering 500",
                contract.SECRET_ERROR_CODE,
                type(exc).__name__,
                extra={"errorCode": contract.SECRET_ERROR_CODE, "errorType": type(exc).__name__},
            )
            return _response(500, {"error": "internal_error"})
        try:
            webhook = self._verify(keys, headers, raw_body(event))
        except WebhookVerificationError as exc:
            webhook_id = headers.get(ID_HEADER) or headers.get(SVIX_ID_HEADER) or ""
            logger.warning(
                "Webhook rejected: %s",
                exc.reason,
                extra={"reason": exc.reason, "webhookId": webhook_id[:128]},
            )
            return _response(401, {"error": "invalid_signature", "reason": exc.reason})

        keyed = Keyed(idempotency_key(self.namespace, webhook.id))
        try:
            with IdempotentBatch(self.store, [keyed], remaining_time_of(context)) as batch:
                result = batch.run(0, lambda: self._enqueue(webhook, headers))
        except IdempotencyAlreadyInProgressError:
            logger.info("Webhook %s is already being processed", webhook.id)
            return _response(409, {"error": "in_progress", "id": webhook.id})
        except Exception as exc:  # an IdempotencyError, or SQS / S3 unreachable
            logger.error(
                "Webhook %s not enqueued: %s",
                webhook.id,
                type(exc).__name__,
                extra={"webhookId": webhook.id, "errorType": type(exc).__name__},
            )
            return _response(500, {"error": "internal_error"})
        return _response(202, result)

    def _keys(self) -> list[bytes]:
        """The HMAC keys of the configured secrets; raises when one cannot be read or decoded
        (a WebhookVerificationError("bad_secret") here is the server's misconfiguration)."""
        return [decode_secret(secret) for secret in self.secrets.get(self.secret_arn)]

    def _verify(
        self, keys: list[bytes], headers: Mapping[str, str], body: bytes
    ) -> VerifiedWebhook:
        now = self._clock() if self._clock else None
        tolerance = int(self.tolerance_seconds)
        return verify(keys, headers, body, tolerance_seconds=tolerance, now=now)

    def _enqueue(self, webhook: VerifiedWebhook, headers: Mapping[str, str]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": webhook.id,
            "timestamp": webhook.timestamp,
            "headers": {name: headers[name] for name in FORWARDED_HEADERS if name in headers},
            **body_fields(webhook.body),
        }
        text = sqs_json(message)
        claim_checked = utf8_size(text) > SQS_MESSAGE_LIMIT_BYTES
        if claim_checked:
            text = sqs_json(self._claim_check(webhook, message))
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=text)
        logger.info(
            "Webhook %s enqueued",
            webhook.id,
            extra={"webhookId": webhook.id, "claimCheck": claim_checked},
        )
        return {"id": webhook.id}

    def _claim_check(self, webhook: VerifiedWebhook, message: dict[str, Any]) -> dict[str, Any]:
        if not self.claim_check_bucket:
            raise ValueError(
                f"webhook {webhook.id} is over the SQS limit and no claim-check bucket is set "
                f"({contract.RECEIVER_CLAIM_CHECK_BUCKET_ENV})"
            )
        digest = hashlib.sha256(webhook.body).hexdigest()
        key = f"{contract.CLAIM_CHECK_PREFIX}{hashlib.sha256(webhook.id.encode()).hexdigest()}"
        self.s3.put_object(
            Bucket=self.claim_check_bucket,
            Key=key,
            Body=webhook.body,
            ContentType=message["headers"].get("content-type", "application/octet-stream"),
        )
        pointer = {name: message[name] for name in ("id", "timestamp", "headers")}
        pointer["claim_check"] = {
            "bucket": self.claim_check_bucket,
            "key": key,
            "size": len(webhook.body),
            "sha256": digest,
            "json": "body" in message,
        }
        return pointer
