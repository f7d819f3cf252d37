"""Human approval callbacks: signed, expiring links and the decision sent to Step Functions.

A link carries the task token, the decision (``approve`` or ``deny``), an expiry (Unix seconds)
and an HMAC-SHA256 over all three with a secret from Secrets Manager, so neither the token
alone nor a link with another decision or a later expiry is accepted. A verified decision is
sent with SendTaskSuccess (approve: ``{"decision": "approve", ...}``) or SendTaskFailure
(deny: error ``ApprovalDenied``), which the ``ApprovalStep`` routes through its Choice. A token
Step Functions no longer waits on (already decided, timed out, or its execution ended) raises
``AlreadyDecided``: nothing is sent twice ("SendTaskSuccess": TaskTimedOut, TaskDoesNotExist
and InvalidToken errors).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "APPROVE",
    "DECISIONS",
    "DENIED_ERROR",
    "DENY",
    "AlreadyDecided",
    "ApprovalDecider",
    "Decision",
    "LinkExpired",
    "LinkInvalid",
    "approval_link",
    "sign",
    "verify_link",
]

APPROVE = "approve"
DENY = "deny"
DECISIONS = (APPROVE, DENY)
#: The error SendTaskFailure reports for a denial; the ApprovalStep catches it.
DENIED_ERROR = "ApprovalDenied"
#: Errors of SendTaskSuccess/Failure for a token no longer awaited.
_SPENT_TOKEN_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
#: Step Functions' limit on a task token's length ("SendTaskSuccess": taskToken 1-2048).
MAX_TOKEN_LENGTH = 2048


class LinkInvalid(ValueError):
    """A link is malformed or its signature does not match (tampered)."""


class LinkExpired(ValueError):
    """A link's signature matches but its expiry has passed."""


class AlreadyDecided(Exception):
    """Step Functions no longer waits on this token; nothing was sent."""


@dataclass(frozen=True)
class Decision:
    """A verified decision on one task token."""

    token: str
    decision: str
    approver: str
    reason: str = ""


def _message(token: str, decision: str, expires: int) -> bytes:
    # JSON keeps the three fields unambiguous whatever characters the token holds.
    return json.dumps([token, decision, expires], separators=(",", ":")).encode()


def sign(secret: str, token: str, decision: str, expires: int) -> str:
    """The link signature: base64url (no padding) HMAC-SHA256 of token, decision and expiry."""
    digest = hmac.new(secret.encode(), _message(token, decision, expires), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def approval_link(base_url: str, secret: str, token: str, decision: str, *, expires: int) -> str:
    """A signed link deciding ``token``: ``base_url?token=..&decision=..&expires=..&signature=..``.

    :param base_url: the approval API's link endpoint (``ApprovalApi.link_url``).
    :param secret: the current signing secret.
    :param expires: Unix time in seconds after which the link is refused.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    query = urlencode(
        {
            "token": token,
            "decision": decision,
            "expires": str(expires),
            "signature": sign(secret, token, decision, expires),
        }
    )
    return f"{base_url}?{query}"


def verify_link(
    secrets: Sequence[str],
    params: Mapping[str, str],
    *,
    now: float | None = None,
    max_lifetime_seconds: int | None = None,
) -> Decision:
    """The decision a link carries, once its signature matches one of ``secrets`` (the
    current and, while rotating, the previous one) and it has not expired.

    Raises ``LinkInvalid`` for a missing or malformed field, an unknown decision, a signature
    that matches no secret, or an expiry further away than ``max_lifetime_seconds``; and
    ``LinkExpired`` for a genuine link past its expiry. Signatures are compared in constant time.
    """
    token = params.get("token") or ""
    decision = params.get("decision") or ""
    raw_expires = params.get("expires") or ""
    signature = params.get("signature") or ""
    if not token or len(token) > MAX_TOKEN_LENGTH or decision not in DECISIONS:
        raise LinkInvalid("the link is malformed")
    if not raw_expires.isascii() or not raw_expires.isdigit() or len(raw_expires) > 12:
        raise LinkInvalid("the link is malformed")
    expires = int(raw_expires)
    if not any(
        hmac.compare_digest(sign(secret, token, decision, expires).encode(), signature.encode())
        for secret in secrets
    ):
        raise LinkInvalid("the link's signature does not match")
    current = time.time() if now is None else now
    if expires <= current:
        raise LinkExpired("the link has expired")
    if max_lifetime_seconds is not None and expires - current > max_lifetime_seconds:
        raise LinkInvalid("the link's expiry is further away than links may live")
    return Decision(token=token, decision=decision, approver="signed-link")


class ApprovalDecider:
    """Sends a verified decision to Step Functions.

    :param client: a Step Functions client. Default: - one created on first use.
    """

    def __init__(self, client: Any = None, *, factory: Callable[[], Any] | None = None) -> None:
        self._client = client
        self._factory = factory

    @property
    def client(self) -> Any:
        if self._client is None:
            if self._factory is not None:
                self._client = self._factory()
            else:
                import boto3

                self._client = boto3.client("stepfunctions")
        return self._client

    def decide(self, decision: Decision) -> None:
        """Approve: SendTaskSuccess with ``{"decision", "approver", "reason"}``. Deny:
        SendTaskFailure with error ``ApprovalDenied`` and the same JSON as cause.
        Raises ``AlreadyDecided`` when the token is no longer awaited."""
        from botocore.exceptions import ClientError

        detail = json.dumps(
            {
                "decision": decision.decision,
                "approver": decision.approver,
                "reason": decision.reason,
            }
        )
        try:
            if decision.decision == APPROVE:
                self.client.send_task_success(taskToken=decision.token, output=detail)
            else:
                self.client.send_task_failure(
                    taskToken=decision.token, error=DENIED_ERROR, cause=detail
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _SPENT_TOKEN_ERRORS:
                raise AlreadyDecided("the task is no longer waiting for a decision") from None
            raise
