"""The approval API's routes: IAM-authorised decisions and signed links.

``POST /approvals`` (IAM mode) takes ``{"taskToken", "decision", "reason"?}`` from a caller API
Gateway has authenticated with SigV4 (``requestContext.identity.userArn`` names the approver;
without it the request is refused, so a misconfigured API without an authorizer fails closed).
``GET /approvals/link`` (signed-link mode) takes ``token``, ``decision``, ``expires`` and
``signature`` query parameters, verified against the secret in Secrets Manager.

Answers: 200 ``{"status": "approved" | "denied"}``; 400 malformed; 403 a tampered link or an
unauthenticated caller; 404 the route of the other mode; 409 ``AlreadyDecided`` (a token used
before, or no longer awaited: nothing is sent again); 410 an expired link.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from serverless_patterns.runtime.api.router import HttpError, Request, Router
from serverless_patterns.runtime.webhooks.secrets import SecretCache
from serverless_patterns.runtime.workflows.approval import (
    DECISIONS,
    MAX_TOKEN_LENGTH,
    AlreadyDecided,
    ApprovalDecider,
    Decision,
    LinkExpired,
    LinkInvalid,
    verify_link,
)

#: Environment of the callback function (set by ``ApprovalApi``).
MODE_ENV = "APPROVAL_MODE"
SECRET_ARN_ENV = "APPROVAL_SECRET_ARN"
MAX_LINK_LIFETIME_ENV = "APPROVAL_MAX_LINK_LIFETIME_SECONDS"
IAM_MODE = "iam"
LINK_MODE = "signed_links"
DECISION_PATH = "/approvals"
LINK_PATH = "/approvals/link"
_STATUS = {"approve": "approved", "deny": "denied"}


def build_router(
    *,
    mode: str,
    decider: ApprovalDecider,
    secrets: Callable[[], tuple[str, ...]] | None = None,
    max_link_lifetime_seconds: int | None = None,
) -> Router:
    """The callback's routes for ``mode`` (``iam`` or ``signed_links``)."""
    if mode not in (IAM_MODE, LINK_MODE):
        raise ValueError(f"mode must be {IAM_MODE!r} or {LINK_MODE!r}, got {mode!r}")
    router = Router()

    def send(decision: Decision) -> dict[str, str]:
        try:
            decider.decide(decision)
        except AlreadyDecided as error:
            raise HttpError(409, str(error), "AlreadyDecided") from None
        return {"status": _STATUS[decision.decision]}

    @router.route("POST", DECISION_PATH)
    def decide(request: Request) -> dict[str, str]:
        if mode != IAM_MODE:
            raise HttpError(404, "Not found")
        identity = request.event.get("requestContext", {}).get("identity") or {}
        approver = identity.get("userArn")
        if not approver:
            raise HttpError(403, "The caller is not authenticated", "Forbidden")
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The body must be a JSON object")
        token, choice, reason = body.get("taskToken"), body.get("decision"), body.get("reason", "")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            raise HttpError(400, "taskToken must be a non-empty string")
        if choice not in DECISIONS:
            raise HttpError(400, f"decision must be one of {', '.join(DECISIONS)}")
        if not isinstance(reason, str):
            raise HttpError(400, "reason must be a string")
        return send(Decision(token=token, decision=choice, approver=approver, reason=reason))

    @router.route("GET", LINK_PATH)
    def link(request: Request) -> dict[str, str]:
        if mode != LINK_MODE or secrets is None:
            raise HttpError(404, "Not found")
        try:
            decision = verify_link(
                secrets(), request.query, max_lifetime_seconds=max_link_lifetime_seconds
            )
        except LinkExpired as error:
            raise HttpError(410, str(error), "LinkExpired") from None
        except LinkInvalid as error:
            raise HttpError(403, str(error), "LinkInvalid") from None
        return send(decision)

    return router


def router_from_environment(decider: ApprovalDecider | None = None) -> Router:
    """The router configured by ``APPROVAL_MODE``, ``APPROVAL_SECRET_ARN`` and
    ``APPROVAL_MAX_LINK_LIFETIME_SECONDS``."""
    mode = os.environ.get(MODE_ENV, IAM_MODE)
    secrets: Callable[[], tuple[str, ...]] | None = None
    if mode == LINK_MODE:
        arn = os.environ[SECRET_ARN_ENV]
        cache = SecretCache()

        def secrets() -> tuple[str, ...]:
            return cache.get(arn)

    lifetime = os.environ.get(MAX_LINK_LIFETIME_ENV)
    return build_router(
        mode=mode,
        decider=decider or ApprovalDecider(),
        secrets=secrets,
        max_link_lifetime_seconds=int(lifetime) if lifetime else None,
    )
