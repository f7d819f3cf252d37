"""Sending webhooks: signed deliveries to subscriber endpoints, retried, rate limited, guarded.

Each SQS message is one delivery ``{"subscriber_id", "event_id", "payload", "attempt"}``
(``attempt`` defaults to 1; see ``serverless_patterns.runtime.webhooks.delivery``, whose
``delivery_message`` builds it). A malformed message is dead-lettered. Per delivery:

1. The subscriber is read from the table (``contract.SUBSCRIBER_*`` attributes). An unknown
   subscriber is dead-lettered; a disabled one is dropped with a log line.
2. Per-endpoint rate limit (``rate_limit_per_second``, default 10; a token bucket per
   container): over the limit, the delivery is re-sent to the queue with a short delay
   instead of blocking.
3. SSRF guard: only ``https`` URLs (``http`` too when ``allow_private_network`` is true),
   and every address the host resolves to must be public (not private, loopback,
   link-local, multicast, reserved or unspecified) unless ``allow_private_network`` is
   true. The connection goes to the vetted address, so a second DNS answer cannot redirect it.
4. The body (the payload as JSON) is signed with the subscriber's secret(s) from Secrets
   Manager (cached) and POSTed with a bounded timeout; redirects are not followed.
5. Only 2xx is success. 410 disables the endpoint. 408, 425, 429, 5xx, network errors and
   timeouts are retried: the delivery is re-sent to the queue with ``attempt + 1`` and
   ``DelaySeconds`` from ``Retry-After`` or exponential backoff with full jitter (at most
   900 s). Other statuses are permanent failures. Permanent failures and deliveries out of
   attempts go to the dead-letter queue as ``{"reason", "status", "attempts", "delivery"}``
   with a ``reason`` message attribute.

A delivery is never lost: when re-sending or dead-lettering fails, the record fails
(``batchItemFailures``) and SQS delivers it again. No log line holds a payload, secret or
signature.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import logging
import math
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.json_input import MalformedJson, parse_json
from serverless_patterns.runtime.webhooks import contract
from serverless_patterns.runtime.webhooks.delivery import Delivery, MalformedDeliveryError
from serverless_patterns.runtime.webhooks.secrets import SecretCache, SecretFormatError
from serverless_patterns.runtime.webhooks.signing import WebhookVerificationError, headers
from serverless_patterns.runtime.webhooks.sqs_body import sqs_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_RATE_LIMIT_PER_SECOND",
    "DEFAULT_TIMEOUT_SECONDS",
    "MAX_DELAY_SECONDS",
    "Delivery",
    "MalformedDeliveryError",
    "Sender",
    "Subscriber",
    "TokenBucket",
    "UnsafeUrlError",
    "check_url",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_RATE_LIMIT_PER_SECOND = 10.0
#: SQS's longest DelaySeconds.
MAX_DELAY_SECONDS = 900
#: Statuses retried besides 5xx.
_RETRIED_STATUSES = frozenset({408, 425, 429})
#: At most this much of a response body is read (and discarded).
_RESPONSE_READ_LIMIT = 64 * 1024
USER_AGENT = "serverless-patterns-webhooks/1"

Resolver = Callable[[str, int], Sequence[str]]


class UnsafeUrlError(ValueError):
    """The SSRF guard refused an endpoint; ``reason`` says why (never a secret)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Subscriber:
    """A subscriber endpoint as stored in the table."""

    subscriber_id: str
    url: str
    secret_arn: str
    enabled: bool = True
    allow_private_network: bool = False
    rate_limit_per_second: float = DEFAULT_RATE_LIMIT_PER_SECOND

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Subscriber:
        """Reads a DynamoDB item (low-level attribute values); absent flags take defaults:
        enabled, no private network, 10 deliveries per second."""

        def string(name: str) -> str:
            value = item.get(name, {}).get("S")
            if not value:
                raise ValueError(f"subscriber item: {name} must be a non-empty string")
            return str(value)

        def flag(name: str, default: bool) -> bool:
            value = item.get(name, {}).get("BOOL")
            return default if value is None else bool(value)

        raw_rate = item.get(contract.SUBSCRIBER_RATE_LIMIT_ATTRIBUTE, {}).get("N")
        rate = float(raw_rate) if raw_rate is not None else DEFAULT_RATE_LIMIT_PER_SECOND
        return cls(
            subscriber_id=string(contract.SUBSCRIBER_ID_ATTRIBUTE),
            url=string(contract.SUBSCRIBER_URL_ATTRIBUTE),
            secret_arn=string(contract.SUBSCRIBER_SECRET_ARN_ATTRIBUTE),
            enabled=flag(contract.SUBSCRIBER_ENABLED_ATTRIBUTE, True),
            allow_private_network=flag(contract.SUBSCRIBER_ALLOW_PRIVATE_ATTRIBUTE, False),
            rate_limit_per_second=rate if rate > 0 else DEFAULT_RATE_LIMIT_PER_SECOND,
        )


# --- SSRF guard -------------------------------------------------------------------------------


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _unsafe_address(address: str) -> str | None:
    """Why an address is not a public unicast address; None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not_global", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


def check_url(
    url: str, *, allow_private_network: bool = False, resolve: Resolver = _resolve
) -> list[str]:
    """The addresses a delivery to ``url`` may connect to; raises UnsafeUrlError.

    Refused: schemes other than https (http too unless ``allow_private_network``), URLs
    without a host, and, unless ``allow_private_network``, hosts of which any resolved
    address is private, loopback, link-local, multicast, reserved, unspecified or otherwise
    not global. Resolution errors (``socket.gaierror``) propagate: they may be transient.
    """
    parts = urllib.parse.urlsplit(url)
    allowed_schemes = ("https", "http") if allow_private_network else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeUrlError("scheme_not_allowed", f"scheme {parts.scheme!r} is not allowed")
    host = parts.hostname
    if not host:
        raise UnsafeUrlError("no_host", "the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrlError("bad_port", "the URL's port is not valid") from None
    addresses = list(dict.fromkeys(resolve(host, port)))
    if not addresses:
        raise UnsafeUrlError("no_address", f"{host} resolves to no address")
    if not allow_private_network:
        for address in addresses:
            why = _unsafe_address(address)
            if why is not None:
                raise UnsafeUrlError(
                    f"{why}_address", f"{host} resolves to a {why.replace('_', '-')} address"
                )
    return addresses


# --- rate limiting ----------------------------------------------------------------------------


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``max(1, rate)``.

    :param clock: a monotonic clock in seconds. Default: - ``time.monotonic``.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._clock = clock
        self._lock = threading.Lock()
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._updated = clock()

    def take(self) -> float:
        """Takes a token: 0.0 when one was available, else the seconds until one will be."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


# --- HTTP -------------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a vetted address while sending the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to a vetted address; TLS still verifies the URL's host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None when
    absent or unreadable; never negative."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # isdigit alone accepts "¹", which float refuses
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class _Outcome:
    """What one attempt came to: delivered, gone, retry or failed."""

    kind: str
    reason: str
    status: int | None = None
    retry_after: float | None = None


def _classify(status: int, retry_after: float | None) -> _Outcome:
    if 200 <= status < 300:
        return _Outcome("delivered", "delivered", status)
    if status == 410:
        return _Outcome("gone", "gone", status)
    if status in _RETRIED_STATUSES or 500 <= status < 600:
        return _Outcome("retry", f"http_{status}", status, retry_after)
    return _Outcome("failed", f"http_{status}", status)


# --- the sender -------------------------------------------------------------------------------


def _env_number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name} must be a number of at least {minimum}, got {raw!r}")
    return value


def _string_attribute(value: str) -> MessageAttributeValueTypeDef:
    return {"DataType": "String", "StringValue": value}


class Sender:
    """Delivers webhooks; see the module docstring for what one delivery does.

    :param subscribers_table: the subscribers table.
    :param queue_url: the delivery queue (retries are re-sent to it with a delay).
    :param dead_letter_queue_url: where exhausted and permanently failed deliveries go.
    :param max_attempts: attempts before a delivery is dead-lettered. Default: - 8.
    :param timeout_seconds: connect and read timeout of each attempt. Default: - 10 s.
    :param base_delay_seconds: backoff before the second attempt; doubles per attempt, with
        full jitter, capped at 900 s. Default: - 2 s.
    :param secret_cache_seconds: how long a subscriber's secret is reused. Default: - 300 s.
    :param resolve: host name resolution for the SSRF guard. Default: - ``getaddrinfo``.
    :param uniform: draws the jittered delay in ``[a, b]``. Default: - ``random.uniform``.
    :param clock: monotonic clock of the rate limiter. Default: - ``time.monotonic``.
    :param sqs_client: Default: - created on first use.
    :param dynamodb_client: Default: - created on first use.
    :param secrets: Default: - a new ``SecretCache(secret_cache_seconds)``.
    """

    def __init__(
        self,
        *,
        subscribers_table: str,
        queue_url: str,
        dead_letter_queue_url: str,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        base_delay_seconds: float = 2.0,
        secret_cache_seconds: float = 300.0,
        resolve: Resolver = _resolve,
        uniform: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], float] = time.monotonic,
        sqs_client: SQSClient | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        secrets: SecretCache | None = None,
    ) -> None:
        for name, value in (
            ("subscribers_table", subscribers_table),
            ("queue_url", queue_url),
            ("dead_letter_queue_url", dead_letter_queue_url),
        ):
            if not value:
                raise ValueError(f"{name} is required")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
        self.subscribers_table = subscribers_table
        self.queue_url = queue_url
        self.dead_letter_queue_url = dead_letter_queue_url
        self.max_attempts = max_attempts
        self.timeout_seconds = timeout_seconds
        self.base_delay_seconds = base_delay_seconds
        self.secrets = secrets or SecretCache(secret_cache_seconds)
        self._resolve = resolve
        self._uniform = uniform
        self._clock = clock
        self._sqs = sqs_client
        self._dynamodb = dynamodb_client
        self._buckets: dict[str, TokenBucket] = {}
        self._buckets_lock = threading.Lock()
        self._tls = ssl.create_default_context()

    @classmethod
    def from_environment(cls, **overrides: Any) -> Sender:
        """A sender configured by the ``contract.SENDER_*`` environment variables."""
        settings: dict[str, Any] = {
            "subscribers_table": os.environ.get(contract.SENDER_SUBSCRIBERS_TABLE_ENV, ""),
            "queue_url": os.environ.get(contract.SENDER_QUEUE_URL_ENV, ""),
            "dead_letter_queue_url": os.environ.get(contract.SENDER_DEAD_LETTER_QUEUE_URL_ENV, ""),
            "max_attempts": int(
                _env_number(contract.SENDER_MAX_ATTEMPTS_ENV, DEFAULT_MAX_ATTEMPTS, minimum=1)
            ),
            "timeout_seconds": _env_number(
                contract.SENDER_TIMEOUT_ENV, DEFAULT_TIMEOUT_SECONDS, minimum=0.001
            ),
        }
        for env, key in (
            (contract.SENDER_SUBSCRIBERS_TABLE_ENV, "subscribers_table"),
            (contract.SENDER_QUEUE_URL_ENV, "queue_url"),
            (contract.SENDER_DEAD_LETTER_QUEUE_URL_ENV, "dead_letter_queue_url"),
        ):
            if not settings[key] and key not in overrides:
                raise ValueError(f"{env} is not set")
        settings.update(overrides)
        return cls(**settings)

    @property
    def sqs(self) -> SQSClient:
        """The SQS client, created on first use."""
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        return self._sqs

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client, created on first use."""
        if self._dynamodb is None:
            import boto3

            self._dynamodb = boto3.client("dynamodb")
        return self._dynamodb

    def backoff_seconds(self, attempt: int) -> int:
        """The delay before attempt ``attempt + 1``: full jitter over
        ``base * 2 ** (attempt - 1)``, capped at 900 s, in whole seconds."""
        cap = min(float(MAX_DELAY_SECONDS), self.base_delay_seconds * 2 ** (attempt - 1))
        return min(MAX_DELAY_SECONDS, max(0, math.ceil(self._uniform(0.0, cap))))

    # --- one delivery -------------------------------------------------------------------

    def deliver(self, record: SqsRecord) -> None:
        """Handles one delivery message. Raises only when the message must be retried by SQS
        (the subscriber, the secret or the queues could not be reached)."""
        try:
            delivery = Delivery.from_json(parse_json(record.body))
        except (MalformedDeliveryError, MalformedJson) as exc:
            logger.error("Delivery message %s is malformed: %s", record.message_id, exc)
            self._dead_letter_raw(record, "malformed_delivery")
            return
        try:
            subscriber = self._subscriber(delivery.subscriber_id)
        except ValueError as exc:  # the item lacks the URL or the secret ARN
            logger.error("Subscriber %s is invalid: %s", delivery.subscriber_id, exc)
            self._dead_letter(delivery, "invalid_subscriber")
            return
        if subscriber is None:
            self._dead_letter(delivery, "unknown_subscriber")
            return
        if not subscriber.enabled:
            logger.warning(
                "Delivery of %s to %s dropped: the subscriber is disabled",
                delivery.event_id,
                delivery.subscriber_id,
                extra=self._log_fields(delivery),
            )
            return
        self._attempt(delivery, subscriber)

    def _attempt(self, delivery: Delivery, subscriber: Subscriber) -> None:
        wait = self._bucket(subscriber).take()
        if wait > 0:
            self._resend(delivery, max(1, math.ceil(wait)), "rate_limited", next_attempt=False)
            return
        try:
            addresses = check_url(
                subscriber.url,
                allow_private_network=subscriber.allow_private_network,
                resolve=self._resolve,
            )
        except UnsafeUrlError as exc:
            logger.error(
                "Delivery of %s to %s refused by the SSRF guard: %s",
                delivery.event_id,
                delivery.subscriber_id,
                exc.reason,
                extra=self._log_fields(delivery),
            )
            self._dead_letter(delivery, f"unsafe_url:{exc.reason}")
            return
        except OSError:
            self._retry(delivery, _Outcome("retry", "dns_error"))
            return
        try:
            secrets = self.secrets.get(subscriber.secret_arn)
            body = delivery.body.encode()
            signed = headers(secrets, delivery.event_id, int(time.time()), body)
        except (SecretFormatError, WebhookVerificationError) as exc:
            reason = getattr(exc, "reason", "bad_secret")
            self._dead_letter(delivery, f"bad_secret:{reason}")
            return
        outcome = self._post(subscriber.url, addresses[0], body, signed)
        self._settle(delivery, outcome)

    def _settle(self, delivery: Delivery, outcome: _Outcome) -> None:
        fields = {**self._log_fields(delivery), "status": outcome.status, "reason": outcome.reason}
        if outcome.kind == "delivered":
            logger.info(
                "Delivered %s to %s", delivery.event_id, delivery.subscriber_id, extra=fields
            )
        elif outcome.kind == "gone":
            logger.warning(
                "Subscriber %s answered 410 Gone: disabling it",
                delivery.subscriber_id,
                extra=fields,
            )
            self._disable(delivery.subscriber_id)
        elif outcome.kind == "retry":
            self._retry(delivery, outcome)
        else:
            self._dead_letter(delivery, outcome.reason, outcome.status)

    def _retry(self, delivery: Delivery, outcome: _Outcome) -> None:
        if delivery.attempt >= self.max_attempts:
            self._dead_letter(delivery, f"exhausted:{outcome.reason}", outcome.status)
            return
        if outcome.retry_after is not None:
            delay = min(MAX_DELAY_SECONDS, math.ceil(outcome.retry_after))
        else:
            delay = self.backoff_seconds(delivery.attempt)
        self._resend(delivery, delay, outcome.reason, next_attempt=True)

    def _resend(self, delivery: Delivery, delay: int, reason: str, *, next_attempt: bool) -> None:
        attempt = delivery.attempt + 1 if next_attempt else delivery.attempt
        again = Delivery(delivery.subscriber_id, delivery.event_id, delivery.payload, attempt)
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=sqs_json(again.to_json()),
            DelaySeconds=delay,
            MessageAttributes={
                "reason": _string_attribute(reason),
                "attempt": {"DataType": "Number", "StringValue": str(attempt)},
                "delay_seconds": {"DataType": "Number", "StringValue": str(delay)},
            },
        )
        logger.info(
            "Delivery of %s to %s re-sent in %d s (attempt %d): %s",
            delivery.event_id,
            delivery.subscriber_id,
            delay,
            attempt,
            reason,
            extra={**self._log_fields(again), "delaySeconds": delay, "reason": reason},
        )

    def _dead_letter(self, delivery: Delivery, reason: str, status: int | None = None) -> None:
        wrapper = {
            "reason": reason,
            "status": status,
            "attempts": delivery.attempt,
            "delivery": delivery.to_json(),
        }
        self._send_dead_letter(wrapper, reason)
        logger.error(
            "Delivery of %s to %s dead-lettered: %s",
            delivery.event_id,
            delivery.subscriber_id,
            reason,
            extra={**self._log_fields(delivery), "reason": reason, "status": status},
        )

    def _dead_letter_raw(self, record: SqsRecord, reason: str) -> None:
        wrapper = {"reason": reason, "status": None, "attempts": 0, "raw_body": record.body}
        self._send_dead_letter(wrapper, reason)

    def _send_dead_letter(self, wrapper: Mapping[str, Any], reason: str) -> None:
        self.sqs.send_message(
            QueueUrl=self.dead_letter_queue_url,
            MessageBody=sqs_json(wrapper),
            MessageAttributes={"reason": _string_attribute(reason)},
        )

    def _subscriber(self, subscriber_id: str) -> Subscriber | None:
        item = self.dynamodb.get_item(
            TableName=self.subscribers_table,
            Key={contract.SUBSCRIBER_ID_ATTRIBUTE: {"S": subscriber_id}},
            ConsistentRead=True,
        ).get("Item")
        return Subscriber.from_item(item) if item else None

    def _disable(self, subscriber_id: str) -> None:
        self.dynamodb.update_item(
            TableName=self.subscribers_table,
            Key={contract.SUBSCRIBER_ID_ATTRIBUTE: {"S": subscriber_id}},
            UpdateExpression="SET #enabled = :false",
            ConditionExpression="attribute_exists(#id)",
            ExpressionAttributeNames={
                "#enabled": contract.SUBSCRIBER_ENABLED_ATTRIBUTE,
                "#id": contract.SUBSCRIBER_ID_ATTRIBUTE,
            },
            ExpressionAttributeValues={":false": {"BOOL": False}},
        )

    def _bucket(self, subscriber: Subscriber) -> TokenBucket:
        with self._buckets_lock:
            bucket = self._buckets.get(subscriber.subscriber_id)
            if bucket is None or bucket.rate != subscriber.rate_limit_per_second:
                bucket = TokenBucket(subscriber.rate_limit_per_second, clock=self._clock)
                self._buckets[subscriber.subscriber_id] = bucket
            return bucket

    def _post(self, url: str, address: str, body: bytes, signed: Mapping[str, str]) -> _Outcome:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = _PinnedHTTPSConnection(
                host, port, address, self.timeout_seconds, self._tls
            )
        else:
            connection = _PinnedHTTPConnection(host, port, address, self.timeout_seconds)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        request_headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **signed,
        }
        try:
            connection.request("POST", target, body=body, headers=request_headers)
            response = connection.getresponse()
            response.read(_RESPONSE_READ_LIMIT)
            retry_after = parse_retry_after(response.getheader("Retry-After"))
            return _classify(response.status, retry_after)
        except TimeoutError:
            return _Outcome("retry", "timeout")
        except (OSError, http.client.HTTPException) as exc:
            return _Outcome("retry", f"network_error:{type(exc).__name__}")
        finally:
            connection.close()

    @staticmethod
    def _log_fields(delivery: Delivery) -> dict[str, Any]:
        return {
            "eventId": delivery.event_id,
            "subscriberId": delivery.subscriber_id,
            "attempt": delivery.attempt,
        }
