"""Standard Webhooks signatures: sign a webhook, verify one.

A signature is ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}." + body>`` keyed with the
secret, a ``whsec_``-prefixed base64 string, padded or not (or the raw key bytes). Headers are
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (several
space-separated signatures, so a sender can sign with an old and a new secret while rotating).
``verify`` also accepts svix's names ``svix-id``, ``svix-timestamp`` and ``svix-signature``
(same scheme): like svix's own library (``svix.webhooks.Webhook.verify``), it takes the three
headers of one family, the ``webhook-*`` ones when all three are present, else the ``svix-*``
ones.

::

    from serverless_patterns.runtime.webhooks.signing import headers, verify

    outgoing = headers(secret, "msg_123", int(time.time()), body)
    verified = verify([secret], incoming_headers, raw_body)  # raises WebhookVerificationError

Comparisons are constant-time (``hmac.compare_digest``). No message of this module contains
a secret, a signature or a body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ID_HEADER",
    "REASONS",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "SVIX_ID_HEADER",
    "SVIX_SIGNATURE_HEADER",
    "SVIX_TIMESTAMP_HEADER",
    "TIMESTAMP_HEADER",
    "VerifiedWebhook",
    "WebhookVerificationError",
    "decode_secret",
    "headers",
    "sign",
    "verify",
]

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SVIX_ID_HEADER = "svix-id"
SVIX_TIMESTAMP_HEADER = "svix-timestamp"
SVIX_SIGNATURE_HEADER = "svix-signature"
#: The header families accepted, in order of preference: (id, timestamp, signature).
_HEADER_FAMILIES = (
    (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER),
    (SVIX_ID_HEADER, SVIX_TIMESTAMP_HEADER, SVIX_SIGNATURE_HEADER),
)
#: Digits of the largest timestamp read (leading zeros aside): 10**15 s is 31 million years away.
_MAX_TIMESTAMP_DIGITS = 15
SECRET_PREFIX = "whsec_"
#: The only signature version this module signs and verifies; other versions are ignored.
_VERSION = "v1"
#: Default timestamp tolerance in each direction (the specification's five minutes).
DEFAULT_TOLERANCE_SECONDS = 300
#: Length of a base64-encoded HMAC-SHA256 digest.
_DIGEST_BYTES = hashlib.sha256().digest_size

#: Every ``WebhookVerificationError.reason``.
REASONS = frozenset(
    {
        "missing_header",  # webhook-id, -timestamp or -signature (or svix-*) absent or empty
        "malformed_timestamp",  # webhook-timestamp is not an integer number of seconds
        "timestamp_too_old",  # older than the tolerance
        "timestamp_too_new",  # further in the future than the tolerance
        "malformed_signature",  # the signature list has no parseable "<version>,<base64>"
        "no_supported_signature",  # only signatures of versions other than v1
        "bad_secret",  # a secret is not base64 (padding optional), or is empty
        "no_secret",  # no secret was given to verify with
        "no_matching_signature",  # no v1 signature matches any secret
        "malformed_body",  # (receiver) a body flagged base64 that does not decode
    }
)


class WebhookVerificationError(Exception):
    """A webhook failed verification; ``reason`` is one of ``REASONS``.

    The message names the reason and never contains a secret, a signature or the body.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class VerifiedWebhook:
    """A webhook whose signature matched: its id, its timestamp and the exact body."""

    id: str
    timestamp: int
    body: bytes


def decode_secret(secret: str | bytes) -> bytes:
    """The HMAC key of a secret: raw bytes as given; a string is base64 after an optional
    ``whsec_`` prefix, with or without its ``=`` padding (the Standard Webhooks reference
    library pads before decoding too).

    Raises WebhookVerificationError("bad_secret") for an empty key, or a character outside the
    base64 alphabet (the message never contains the secret).
    """
    if isinstance(secret, bytes):
        key = secret
    else:
        text = secret.strip()
        if text.startswith(SECRET_PREFIX):
            text = text[len(SECRET_PREFIX) :]
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookVerificationError("bad_secret", "the secret is not valid base64") from None
    if not key:
        raise WebhookVerificationError("bad_secret", "the secret is empty")
    return key


def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    # surrogatepass: an id no HTTP header can carry still signs (and never matches) without error
    signed = f"{msg_id}.{timestamp}.".encode("utf-8", "surrogatepass") + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str | bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{msg_id}.{timestamp}." + body`` with ``secret``.

    Raises WebhookVerificationError("bad_secret") when the secret cannot be decoded.
    """
    digest = _digest(decode_secret(secret), msg_id, str(int(timestamp)), body)
    return f"{_VERSION},{base64.b64encode(digest).decode()}"


def headers(
    secrets: str | bytes | Sequence[str | bytes], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for a body, signed with one secret or several
    (one signature each, space-separated: for rotation)."""
    keys: Sequence[str | bytes] = [secrets] if isinstance(secrets, str | bytes) else secrets
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: " ".join(sign(key, msg_id, timestamp, body) for key in keys),
    }


def _signed_headers(values: Mapping[str, str]) -> tuple[str, str, str]:
    """(id, timestamp, signature) of the first header family present in full; names match
    case-insensitively, the first non-empty value of a name counts."""
    found: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(key, str) and isinstance(value, str) and value.strip():
            found.setdefault(key.lower(), value.strip())
    for family in _HEADER_FAMILIES:
        if all(name in found for name in family):
            msg_id, timestamp, signature = (found[name] for name in family)
            return msg_id, timestamp, signature
    missing = next(name for name in _HEADER_FAMILIES[0] if name not in found)
    raise WebhookVerificationError("missing_header", f"the {missing} header is missing or empty")


def _signatures(header: str) -> list[bytes]:
    """The decoded v1 signatures of a header; unknown versions are skipped."""
    found: list[bytes] = []
    parsed = 0
    for part in header.split():
        version, comma, encoded = part.partition(",")
        if not comma or not version or not encoded:
            continue
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        parsed += 1
        if version == _VERSION and len(decoded) == _DIGEST_BYTES:
            found.append(decoded)
    if not parsed:
        raise WebhookVerificationError(
            "malformed_signature", "no signature of the form <version>,<base64> was found"
        )
    if not found:
        raise WebhookVerificationError(
            "no_supported_signature", f"no {_VERSION} signature was found"
        )
    return found


def verify(
    secrets: Sequence[str | bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> VerifiedWebhook:
    """Checks a webhook's headers and exact raw body; returns it, or raises
    WebhookVerificationError with a ``reason``.

    :param secrets: the secrets any signature may be made with (several while rotating);
        each a ``whsec_`` base64 string or raw bytes. Every one must decode.
    :param headers: the request headers; names are matched case-insensitively, and
        ``svix-*`` names are accepted in place of ``webhook-*`` ones.
    :param body: the raw body exactly as received (not re-serialised JSON).
    :param tolerance_seconds: how far the timestamp may lie from ``now``, in each direction.
        Default: - 300 seconds.
    :param now: the current Unix time. Default: - ``time.time()``.
    """
    msg_id, raw_timestamp, signature_header = _signed_headers(headers)
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise WebhookVerificationError(
            "malformed_timestamp", "the webhook-timestamp header is not a Unix time in seconds"
        )
    digits = raw_timestamp.lstrip("0") or "0"
    if len(digits) > _MAX_TIMESTAMP_DIGITS:
        # int() of over 4,300 digits raises ValueError; any such number is too far ahead anyway.
        raise WebhookVerificationError("timestamp_too_new", "the timestamp is too new")
    timestamp = int(digits)
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise WebhookVerificationError("timestamp_too_old", "the timestamp is too old")
    if timestamp > current + tolerance_seconds:
        raise WebhookVerificationError("timestamp_too_new", "the timestamp is too new")
    candidates = _signatures(signature_header)
    if isinstance(secrets, str | bytes):
        secrets = [secrets]
    keys = [decode_secret(secret) for secret in secrets]
    if not keys:
        raise WebhookVerificationError("no_secret", "no secret to verify with")
    matched = False
    for key in keys:
        expected = _digest(key, msg_id, raw_timestamp, body)
        for candidate in candidates:
            # No early exit: the time taken does not tell which signature matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError(
            "no_matching_signature", "no signature matches the body, id and timestamp"
        )
    return VerifiedWebhook(msg_id, timestamp, body)
