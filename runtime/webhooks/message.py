"""The queued webhook message: what a ``Receiver`` sends to its queue, and how consumers read it.

A message is a JSON object::

    {"id": "<webhook id>", "timestamp": <Unix seconds>, "headers": {"content-type": ...},
     "body": "<the body>"}

with exactly one of these body fields:

- ``body``: the body verbatim as a string, when it is UTF-8 JSON (``parse_json`` accepts it);
- ``body_base64``: any other body (form data, binary, invalid UTF-8, JSON with a 5,000-digit
  number or nesting 2,000 deep), base64-encoded;
- ``claim_check``: ``{"bucket", "key", "size", "sha256", "json"}`` for a message over the SQS
  limit; the exact body is the S3 object and ``json`` says whether it is JSON as above.

``resolve_body`` returns the exact bytes the sender signed, so a consumer can verify the
signature again or hash the body. ``resolve_payload`` parses the body as JSON only when it is
JSON, and otherwise returns the bytes; ``read_message`` gives both, and the content type.

Messages of earlier versions carry ``payload`` (the body parsed as JSON) instead of ``body``;
they are still read (their ``resolve_body`` is the payload serialised again, not the bytes
signed), so a queue holding them during an update drains normally.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from serverless_patterns.runtime.json_input import MalformedJson, parse_json

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "InvalidWebhookMessageError",
    "QueuedWebhook",
    "body_fields",
    "read_message",
    "resolve_body",
    "resolve_payload",
]


class InvalidWebhookMessageError(ValueError):
    """The message is not a webhook message from the receiver (never shows the body)."""


def body_fields(body: bytes) -> dict[str, str]:
    """The body field of a message for ``body``: ``{"body": text}`` for UTF-8 JSON, else
    ``{"body_base64": ...}``."""
    try:
        text = body.decode()
        parse_json(text)
    except (UnicodeDecodeError, MalformedJson):
        return {"body_base64": base64.b64encode(body).decode()}
    return {"body": text}


@dataclass(frozen=True)
class QueuedWebhook:
    """A webhook read back from the queue: the exact body, and whether it is JSON."""

    id: str
    timestamp: Any
    headers: Mapping[str, str]
    body: bytes = field(repr=False)  # never in a log line that prints the object
    is_json: bool
    _text: str | None = field(default=None, repr=False, compare=False)

    @property
    def content_type(self) -> str:
        """The request's Content-Type header; ``""`` when it had none."""
        return self.headers.get("content-type", "")

    def payload(self) -> Any:
        """The body parsed as JSON when it is JSON, else the body's bytes.

        Raises InvalidWebhookMessageError for a message that says JSON but holds none.
        """
        if not self.is_json:
            return self.body
        try:
            return parse_json(self.body if self._text is None else self._text)
        except MalformedJson as error:
            raise InvalidWebhookMessageError(
                f"webhook {self.id}: the body is marked JSON but is not ({error})"
            ) from None


def _string_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _claim_checked(claim: Any, webhook_id: str, s3_client: S3Client | None) -> tuple[bytes, bool]:
    if not isinstance(claim, Mapping) or not all(
        isinstance(claim.get(name), str) for name in ("bucket", "key", "sha256")
    ):
        raise InvalidWebhookMessageError(f"webhook {webhook_id}: malformed claim_check")
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    body = s3_client.get_object(Bucket=claim["bucket"], Key=claim["key"])["Body"].read()
    if hashlib.sha256(body).hexdigest() != claim["sha256"]:
        raise InvalidWebhookMessageError(
            f"claim check {claim['key']}: the object does not match its hash"
        )
    marked = claim.get("json")
    if isinstance(marked, bool):
        return body, marked
    return body, "body" in body_fields(body)  # written before the marker existed


def read_message(message: Any, *, s3_client: S3Client | None = None) -> QueuedWebhook:
    """A queued message read back (from S3 for a claim check).

    Raises InvalidWebhookMessageError for anything the receiver does not send: not an object,
    no string ``id``, no body field, a body field of the wrong type, base64 that does not
    decode, a claim-check object that does not match its SHA-256.
    """
    if not isinstance(message, Mapping) or not isinstance(message.get("id"), str):
        raise InvalidWebhookMessageError("not a webhook message (no string 'id')")
    webhook_id: str = message["id"]
    headers = _string_headers(message.get("headers"))
    timestamp = message.get("timestamp")
    text: str | None = None
    if message.get("claim_check"):
        body, is_json = _claim_checked(message["claim_check"], webhook_id, s3_client)
    elif isinstance(message.get("body"), str):
        text = message["body"]
        try:
            body, is_json = text.encode(), True
        except UnicodeEncodeError:
            raise InvalidWebhookMessageError(f"webhook {webhook_id}: body is not Unicode") from None
    elif isinstance(message.get("body_base64"), str):
        try:
            body, is_json = base64.b64decode(message["body_base64"], validate=True), False
        except (binascii.Error, ValueError):
            raise InvalidWebhookMessageError(
                f"webhook {webhook_id}: body_base64 is not base64"
            ) from None
    elif "payload" in message:  # an earlier version's message
        body, is_json = json.dumps(message["payload"]).encode(), True
    else:
        raise InvalidWebhookMessageError(f"webhook {webhook_id}: no body field")
    return QueuedWebhook(webhook_id, timestamp, headers, body, is_json, text)


def resolve_body(message: Mapping[str, Any], *, s3_client: S3Client | None = None) -> bytes:
    """The exact webhook body of a queued message (read from S3 for a claim check); see
    ``read_message`` for what it raises."""
    return read_message(message, s3_client=s3_client).body


def resolve_payload(message: Mapping[str, Any], *, s3_client: S3Client | None = None) -> Any:
    """The webhook body parsed as JSON when it is JSON, else its bytes (a form or binary body
    is never parsed); see ``read_message`` for what it raises."""
    return read_message(message, s3_client=s3_client).payload()
