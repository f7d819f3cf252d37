"""The approval callback: signed links (tampered, expired, replayed) and IAM decisions.

Step Functions is stubbed with botocore's Stubber; a token no longer awaited is answered with
``TaskTimedOut``, the error "SendTaskSuccess" (Step Functions API reference) lists for a task
that has already completed or timed out.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from serverless_patterns.runtime.workflows.approval import (
    DENIED_ERROR,
    ApprovalDecider,
    LinkExpired,
    LinkInvalid,
    approval_link,
    sign,
    verify_link,
)
from serverless_patterns.runtime.workflows.callback import (
    IAM_MODE,
    LINK_MODE,
    LINK_PATH,
    build_router,
)
from tests.runtime.api_events import proxy_event

SECRET = "s3cret-signing-key"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAT" + "x" * 40
NOW = 1_800_000_000


def _params(
    decision: str = "approve", expires: int = NOW + 3600, changes: dict[str, str] | None = None
) -> dict[str, str]:
    params = {
        "token": TOKEN,
        "decision": decision,
        "expires": str(expires),
        "signature": sign(SECRET, TOKEN, decision, expires),
    }
    params.update(changes or {})
    return params


def test_a_genuine_link_verifies() -> None:
    decision = verify_link([SECRET], _params(), now=NOW)
    assert (decision.token, decision.decision) == (TOKEN, "approve")


def test_the_previous_secret_still_verifies_during_a_rotation() -> None:
    assert verify_link(["new-secret", SECRET], _params("deny"), now=NOW).decision == "deny"


@pytest.mark.parametrize(
    "tampered",
    [
        {"decision": "deny"},  # a deny link turned into an approval, or the reverse
        {"expires": str(NOW + 7200)},  # the expiry pushed back
        {"token": TOKEN + "y"},  # another task's token
        {"signature": sign("wrong", TOKEN, "approve", NOW + 3600)},
        {"signature": ""},
    ],
)
def test_a_tampered_link_is_invalid(tampered: dict[str, str]) -> None:
    with pytest.raises(LinkInvalid):
        verify_link([SECRET], _params(changes=tampered), now=NOW)


def test_the_bare_token_is_not_enough() -> None:
    with pytest.raises(LinkInvalid):
        verify_link([SECRET], {"token": TOKEN, "decision": "approve"}, now=NOW)


def test_an_expired_link_is_expired_not_invalid() -> None:
    with pytest.raises(LinkExpired):
        verify_link([SECRET], _params(expires=NOW - 1), now=NOW)
    with pytest.raises(LinkExpired):
        verify_link([SECRET], _params(expires=NOW), now=NOW)


def test_an_expiry_beyond_the_lifetime_is_refused() -> None:
    with pytest.raises(LinkInvalid):
        verify_link([SECRET], _params(expires=NOW + 3601), now=NOW, max_lifetime_seconds=3600)


def test_approval_link_round_trips() -> None:
    from urllib.parse import parse_qsl, urlsplit

    url = approval_link("https://x/prod/approvals/link", SECRET, TOKEN, "deny", expires=NOW + 60)
    params = dict(parse_qsl(urlsplit(url).query))
    assert verify_link([SECRET], params, now=NOW).decision == "deny"


@given(
    token=st.text(min_size=1, max_size=200),
    field=st.sampled_from(["token", "decision", "expires", "signature"]),
    junk=st.text(max_size=50),
)
def test_any_change_to_a_field_breaks_the_link(token: str, field: str, junk: str) -> None:
    expires = NOW + 60
    params = {
        "token": token,
        "decision": "approve",
        "expires": str(expires),
        "signature": sign(SECRET, token, "approve", expires),
    }
    if params[field] == junk:
        return
    params[field] = junk
    with pytest.raises((LinkInvalid, LinkExpired)):
        verify_link([SECRET], params, now=NOW)


class _Stubbed:
    def __init__(self) -> None:
        self.client = boto3.client("stepfunctions", region_name="us-east-1")
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def expect_success(self, approver: str = "signed-link") -> None:
        output = json.dumps({"decision": "approve", "approver": approver, "reason": ""})
        self.stubber.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": output})

    def expect_spent(self, method: str = "send_task_success") -> None:
        self.stubber.add_client_error(method, "TaskTimedOut", http_status_code=400)


def _link_event(params: dict[str, str]) -> dict[str, Any]:
    return proxy_event("GET", LINK_PATH, query={k: [v] for k, v in params.items()})


def _link_router(stub: _Stubbed) -> Any:
    return build_router(
        mode=LINK_MODE,
        decider=ApprovalDecider(stub.client),
        secrets=lambda: (SECRET,),
        max_link_lifetime_seconds=7 * 24 * 3600,
    )


def _now_params(decision: str = "approve", offset: int = 3600) -> dict[str, str]:
    expires = int(time.time()) + offset
    return {
        "token": TOKEN,
        "decision": decision,
        "expires": str(expires),
        "signature": sign(SECRET, TOKEN, decision, expires),
    }


def test_a_signed_link_approves_once_and_a_replay_is_409() -> None:
    stub = _Stubbed()
    stub.expect_success()
    stub.expect_spent()
    router = _link_router(stub)
    params = _now_params()
    first = router.handler(_link_event(params))
    assert (first["statusCode"], json.loads(first["body"])) == (200, {"status": "approved"})
    replay = router.handler(_link_event(params))
    assert replay["statusCode"] == 409
    assert json.loads(replay["body"])["error"]["code"] == "AlreadyDecided"
    stub.stubber.assert_no_pending_responses()


def test_tampered_and_expired_links_are_4xx_and_send_nothing() -> None:
    stub = _Stubbed()  # no responses queued: any call to Step Functions would raise
    router = _link_router(stub)
    tampered = {**_now_params("deny"), "decision": "approve"}
    assert router.handler(_link_event(tampered))["statusCode"] == 403
    assert router.handler(_link_event(_now_params(offset=-1)))["statusCode"] == 410
    assert router.handler(_link_event({"token": TOKEN}))["statusCode"] == 403


def test_a_denial_is_send_task_failure_with_approval_denied() -> None:
    stub = _Stubbed()
    stub.stubber.add_response(
        "send_task_failure",
        {},
        {
            "taskToken": TOKEN,
            "error": DENIED_ERROR,
            "cause": json.dumps({"decision": "deny", "approver": "signed-link", "reason": ""}),
        },
    )
    response = _link_router(stub).handler(_link_event(_now_params("deny")))
    assert json.loads(response["body"]) == {"status": "denied"}


def _iam_event(body: Any, *, authenticated: bool = True) -> dict[str, Any]:
    event = proxy_event("POST", "/approvals", body=json.dumps(body))
    if not authenticated:
        event["requestContext"]["identity"]["userArn"] = None
    return event


def test_iam_mode_decides_with_the_caller_as_approver() -> None:
    stub = _Stubbed()
    approver = "arn:aws:sts::123456789012:assumed-role/caller/session"
    stub.expect_success(approver)
    router = build_router(mode=IAM_MODE, decider=ApprovalDecider(stub.client))
    response = router.handler(_iam_event({"taskToken": TOKEN, "decision": "approve"}))
    assert response["statusCode"] == 200
    stub.stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("body", "authenticated", "status"),
    [
        ({"taskToken": TOKEN, "decision": "approve"}, False, 403),
        ({"taskToken": TOKEN, "decision": "maybe"}, True, 400),
        ({"taskToken": "", "decision": "approve"}, True, 400),
        (["not", "an", "object"], True, 400),
    ],
)
def test_iam_mode_refuses_bad_requests(body: Any, authenticated: bool, status: int) -> None:
    router = build_router(mode=IAM_MODE, decider=ApprovalDecider(_Stubbed().client))
    assert router.handler(_iam_event(body, authenticated=authenticated))["statusCode"] == status


def test_each_mode_serves_only_its_route() -> None:
    stub = _Stubbed()
    iam = build_router(mode=IAM_MODE, decider=ApprovalDecider(stub.client))
    assert iam.handler(_link_event(_now_params()))["statusCode"] == 404
    links = _link_router(stub)
    assert (
        links.handler(_iam_event({"taskToken": TOKEN, "decision": "approve"}))["statusCode"] == 404
    )
