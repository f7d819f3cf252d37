"""The webhook receiver handler against the moto server: Secrets Manager, DynamoDB, SQS, S3."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.handlers import webhook_receiver
from serverless_patterns.runtime.idempotency import schema
from serverless_patterns.runtime.webhooks import contract
from serverless_patterns.runtime.webhooks import receiver as receiver_module
from serverless_patterns.runtime.webhooks.receiver import resolve_body, resolve_payload
from serverless_patterns.runtime.webhooks.signing import headers as signed_headers
from tests.integration.sqs_poller import queue_depth, receive_all
from tests.runtime.api_events import proxy_event
from tests.runtime.hostile_inputs import (
    header_maps,
    hostile_json_bytes,
    hostile_json_texts,
    marked_json_texts,
    mixed_case,
    multi_value_header_maps,
)

SECRET = "whsec_" + base64.b64encode(b"receiver-secret-0123456789abcdef").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"rotated-secret-0123456789abcdefg").decode()
#: Put in bodies to check no log line repeats a body.
MARK = "BODY-MARK-5c1e"
BODY = b'{"type": "invoice.paid", "data": {"amount": 42, "note": "caf\xc3\xa9"}}'


@pytest.fixture
def receiver_env(
    aws_client: Callable[[str], Any],
    idempotency_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    """A secret, a queue and a bucket on moto, and the receiver's environment pointing at them."""
    suffix = uuid.uuid4().hex[:12]
    secrets, sqs, s3 = aws_client("secretsmanager"), aws_client("sqs"), aws_client("s3")
    arn = secrets.create_secret(Name=f"webhook-{suffix}", SecretString=SECRET)["ARN"]
    queue_url = sqs.create_queue(QueueName=f"webhooks-{suffix}")["QueueUrl"]
    bucket = f"claims-{suffix}"
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv(contract.RECEIVER_SECRET_ARN_ENV, arn)
    monkeypatch.setenv(contract.RECEIVER_QUEUE_URL_ENV, queue_url)
    monkeypatch.setenv(contract.RECEIVER_CLAIM_CHECK_BUCKET_ENV, bucket)
    monkeypatch.setenv(schema.TABLE_NAME_ENV, idempotency_table)
    monkeypatch.delenv(contract.RECEIVER_SECRET_CACHE_ENV, raising=False)
    webhook_receiver.default_receiver.cache_clear()
    yield {
        "arn": arn,
        "queue_url": queue_url,
        "bucket": bucket,
        "sqs": sqs,
        "s3": s3,
        "secrets": secrets,
    }
    webhook_receiver.default_receiver.cache_clear()


def request(
    body: bytes = BODY,
    *,
    secret: str | list[str] = SECRET,
    msg_id: str | None = None,
    timestamp: int | None = None,
    base64_body: bool = False,
    header_changes: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    hdrs: dict[str, str] = {"Content-Type": "application/json"}
    hdrs.update(signed_headers(secret, msg_id, timestamp or int(time.time()), body))
    for name, value in (header_changes or {}).items():
        if value is None:
            hdrs.pop(name, None)
        else:
            hdrs[name] = value
    if base64_body:
        return proxy_event("POST", "/webhooks", body=body, headers=hdrs)
    return proxy_event("POST", "/webhooks", body=body.decode(), headers=hdrs)


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = webhook_receiver.handler(event, None)
    return response["statusCode"], json.loads(response["body"])


def messages(env: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in receive_all(env["sqs"], env["queue_url"])]


@pytest.mark.parametrize("base64_body", [False, True], ids=["plain", "base64"])
def test_a_signed_webhook_is_enqueued_once_and_answered_202(
    receiver_env: dict[str, Any], base64_body: bool
) -> None:
    event = request(msg_id="msg_one", base64_body=base64_body)
    assert event["isBase64Encoded"] is base64_body
    status, body = call(event)
    assert (status, body) == (202, {"id": "msg_one"})
    [message] = messages(receiver_env)
    assert message["id"] == "msg_one"
    assert message["body"] == BODY.decode()
    assert resolve_payload(message) == json.loads(BODY)
    assert message["headers"]["webhook-id"] == "msg_one"
    assert "webhook-signature" not in message["headers"]
    assert resolve_body(message) == BODY  # the exact bytes signed (issue 12 item 4)


def test_a_binary_body_is_verified_on_its_exact_bytes(receiver_env: dict[str, Any]) -> None:
    raw = bytes(range(256))
    status, _ = call(request(raw, base64_body=True, msg_id="msg_bin"))
    assert status == 202
    [message] = messages(receiver_env)
    assert resolve_body(message) == raw


def test_a_body_reserialised_differently_is_rejected(receiver_env: dict[str, Any]) -> None:
    event = request()
    event["body"] = json.dumps(json.loads(BODY))  # same JSON, other bytes
    assert call(event) == (401, {"error": "invalid_signature", "reason": "no_matching_signature"})
    assert messages(receiver_env) == []


def _tamper_body(event: dict[str, Any]) -> None:
    event["body"] = event["body"].replace("42", "43")


def _bad_base64(event: dict[str, Any]) -> None:
    event["isBase64Encoded"] = True
    event["body"] = "not base64 !!"


REJECTIONS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "no signature": (lambda: request(header_changes={"webhook-signature": None}), "missing_header"),
    "no id": (lambda: request(header_changes={"webhook-id": None}), "missing_header"),
    "no timestamp": (lambda: request(header_changes={"webhook-timestamp": None}), "missing_header"),
    "wrong secret": (lambda: request(secret=NEW_SECRET), "no_matching_signature"),
    "malformed list": (
        lambda: request(header_changes={"webhook-signature": "v1 garbage"}),
        "malformed_signature",
    ),
    "too old": (lambda: request(timestamp=int(time.time()) - 400), "timestamp_too_old"),
    "too new": (lambda: request(timestamp=int(time.time()) + 400), "timestamp_too_new"),
    "changed id": (
        lambda: request(msg_id="msg_a", header_changes={"webhook-id": "msg_b"}),
        "no_matching_signature",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_every_rejection_is_401_with_its_reason_enqueues_nothing_and_logs_no_secret(
    receiver_env: dict[str, Any], caplog: pytest.LogCaptureFixture, case: str
) -> None:
    make, reason = REJECTIONS[case]
    event = make()
    caplog.set_level(logging.DEBUG, logger="serverless_patterns")
    assert call(event) == (401, {"error": "invalid_signature", "reason": reason})
    assert messages(receiver_env) == []
    assert_logs_clean(caplog, event)
    assert any(getattr(r, "reason", None) == reason for r in caplog.records)


@pytest.mark.parametrize("tamper", [_tamper_body, _bad_base64], ids=["body", "bad base64"])
def test_a_tampered_or_undecodable_body_is_rejected(
    receiver_env: dict[str, Any], caplog: pytest.LogCaptureFixture, tamper: Any
) -> None:
    event = request()
    tamper(event)
    caplog.set_level(logging.DEBUG, logger="serverless_patterns")
    status, body = call(event)
    assert status == 401
    assert body["reason"] == (
        "no_matching_signature" if tamper is _tamper_body else "malformed_body"
    )
    assert messages(receiver_env) == []
    assert_logs_clean(caplog, event)


def assert_logs_clean(caplog: pytest.LogCaptureFixture, event: dict[str, Any]) -> None:
    forbidden = [SECRET, SECRET.removeprefix("whsec_"), BODY.decode(), "invoice.paid"]
    signature = event["headers"].get("webhook-signature")
    if signature:
        forbidden += [signature, *(part.split(",", 1)[-1] for part in signature.split())]
    ours = [r for r in caplog.records if r.name.startswith("serverless_patterns")]
    assert ours, "the rejection is logged"
    for record in ours:
        text = record.getMessage() + " " + repr(record.__dict__)
        for value in forbidden:
            assert value not in text


def test_replays_of_the_same_webhook_id_are_enqueued_once(receiver_env: dict[str, Any]) -> None:
    event = request(msg_id="msg_replayed")
    answers = [call(event) for _ in range(3)]
    assert answers == [(202, {"id": "msg_replayed"})] * 3
    # A re-signed retry of the same webhook (new timestamp) is a duplicate too.
    assert call(request(msg_id="msg_replayed", timestamp=int(time.time()) - 5))[0] == 202
    assert [m["id"] for m in messages(receiver_env)] == ["msg_replayed"]


def test_a_large_payload_goes_to_s3_behind_a_claim_check(receiver_env: dict[str, Any]) -> None:
    big = json.dumps({"type": "export.ready", "rows": ["x" * 100] * 3000}).encode()
    assert len(big) > 256 * 1024
    status, _ = call(request(big, msg_id="msg_big"))
    assert status == 202
    [message] = messages(receiver_env)
    assert "payload" not in message
    claim = message["claim_check"]
    assert claim["bucket"] == receiver_env["bucket"]
    assert claim["key"].startswith(contract.CLAIM_CHECK_PREFIX)
    assert claim["size"] == len(big)
    stored = receiver_env["s3"].get_object(Bucket=claim["bucket"], Key=claim["key"])
    assert stored["Body"].read() == big
    assert resolve_body(message) == big
    assert resolve_payload(message) == json.loads(big)


def test_a_payload_just_under_the_limit_stays_in_the_queue(receiver_env: dict[str, Any]) -> None:
    body = json.dumps({"blob": "y" * (250 * 1024)}).encode()
    assert call(request(body, msg_id="msg_under"))[0] == 202
    [message] = messages(receiver_env)
    assert "claim_check" not in message
    assert resolve_payload(message) == json.loads(body)


def test_a_rotated_secret_takes_effect_after_the_cache_ttl(
    receiver_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.RECEIVER_SECRET_CACHE_ENV, "1")
    webhook_receiver.default_receiver.cache_clear()
    assert call(request(secret=SECRET))[0] == 202
    receiver_env["secrets"].put_secret_value(
        SecretId=receiver_env["arn"], SecretString=json.dumps([NEW_SECRET])
    )
    # Within the TTL the cached secret still applies.
    assert call(request(secret=SECRET))[0] == 202
    assert call(request(secret=NEW_SECRET))[0] == 401
    time.sleep(1.1)
    assert call(request(secret=NEW_SECRET))[0] == 202
    assert call(request(secret=SECRET)) == (
        401,
        {"error": "invalid_signature", "reason": "no_matching_signature"},
    )
    assert len(messages(receiver_env)) == 3


def test_a_secret_list_accepts_either_secret_while_rotating(
    receiver_env: dict[str, Any],
) -> None:
    receiver_env["secrets"].put_secret_value(
        SecretId=receiver_env["arn"], SecretString=json.dumps([NEW_SECRET, SECRET])
    )
    assert call(request(secret=SECRET))[0] == 202
    assert call(request(secret=NEW_SECRET))[0] == 202
    assert call(request(secret=[NEW_SECRET, SECRET]))[0] == 202
    assert len(messages(receiver_env)) == 3


def test_an_unreadable_secret_is_a_500_and_enqueues_nothing(
    receiver_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.RECEIVER_SECRET_ARN_ENV, receiver_env["arn"] + "-missing")
    webhook_receiver.default_receiver.cache_clear()
    assert call(request()) == (500, {"error": "internal_error"})
    assert messages(receiver_env) == []


# --- issue 12 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount": ' + b"7" * 5_000 + b"}",
        b"[" * 2_000 + b"]" * 2_000,
    ],
    ids=["5,000-digit integer", "nesting 2,000 deep"],
)
def test_a_signed_body_json_cannot_parse_is_enqueued_raw_not_a_500(
    receiver_env: dict[str, Any], body: bytes
) -> None:
    # Issue 12 item 3: only UnicodeDecodeError and JSONDecodeError were caught, so these
    # validly signed bodies answered 500 on every retry.
    assert call(request(body, msg_id="msg_raw")) == (202, {"id": "msg_raw"})
    [message] = messages(receiver_env)
    assert "body_base64" in message
    assert resolve_body(message) == body
    assert resolve_payload(message) == body


def test_a_webhook_signed_with_svix_header_names_is_accepted(receiver_env: dict[str, Any]) -> None:
    # Issue 12 item 6: svix sends svix-id / svix-timestamp / svix-signature.
    signed = signed_headers(SECRET, "msg_svix", int(time.time()), BODY)
    hdrs = {"Content-Type": "application/json"} | {
        name.replace("webhook-", "Svix-"): value for name, value in signed.items()
    }
    event = proxy_event("POST", "/webhooks", body=BODY.decode(), headers=hdrs)
    assert call(event) == (202, {"id": "msg_svix"})
    [message] = messages(receiver_env)
    assert message["id"] == "msg_svix"
    assert message["headers"]["svix-id"] == "msg_svix"
    assert "svix-signature" not in message["headers"]


def test_an_unpadded_secret_verifies(receiver_env: dict[str, Any]) -> None:
    # Issue 12 item 5: "whsec_...=" without its "=" was a 401 bad_secret.
    unpadded = SECRET.rstrip("=")
    assert unpadded != SECRET
    receiver_env["secrets"].put_secret_value(SecretId=receiver_env["arn"], SecretString=unpadded)
    assert call(request(secret=SECRET, msg_id="msg_unpadded")) == (202, {"id": "msg_unpadded"})


BROKEN_SECRET = "whsec_not*base64*" + "q" * 24


@pytest.mark.parametrize(
    "stored", [BROKEN_SECRET, json.dumps([SECRET, BROKEN_SECRET])], ids=["one", "in a list"]
)
def test_an_undecodable_secret_is_a_500_with_one_alarmable_error_line(
    receiver_env: dict[str, Any], caplog: pytest.LogCaptureFixture, stored: str
) -> None:
    # Issue 12 item 5: the server's misconfiguration was reported to the sender as 401.
    receiver_env["secrets"].put_secret_value(SecretId=receiver_env["arn"], SecretString=stored)
    caplog.set_level(logging.DEBUG, logger="serverless_patterns")
    event = request()
    assert call(event) == (500, {"error": "internal_error"})
    assert messages(receiver_env) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [getattr(r, "errorCode", None) for r in errors] == [contract.SECRET_ERROR_CODE]
    assert errors[0].getMessage().startswith(contract.SECRET_ERROR_CODE)
    text = " ".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert "not*base64" not in text
    assert_logs_clean(caplog, event)


# --- properties (issue 12: "make it hard to reintroduce") -------------------------------------

_NO_FIXTURE_RESET = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_signature_headers = st.sampled_from(
    ["webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-signature"]
).flatmap(mixed_case)


#: Bodies holding MARK (lone surrogates kept as their bytes).
_marked_bodies = marked_json_texts(MARK).map(lambda t: t.encode("utf-8", "surrogatepass"))


@st.composite
def unverifiable_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Proxy events whose signature cannot verify: hostile bodies and header maps, signature
    headers with arbitrary values, or a real signature made with another secret."""
    body = draw(hostile_json_bytes() | st.binary(max_size=100) | _marked_bodies)
    event = proxy_event("POST", "/webhooks", body=body, base64_body=True)
    event["headers"] = draw(header_maps())
    event["multiValueHeaders"] = draw(multi_value_header_maps())
    extra = draw(st.dictionaries(_signature_headers, st.text(max_size=60), max_size=4))
    if draw(st.booleans()):
        extra |= signed_headers(NEW_SECRET, "msg_x", int(time.time()), body)
    if extra:
        event["headers"] = {**(event["headers"] or {}), **extra}
    if draw(st.booleans()):
        event["isBase64Encoded"] = False
        event["body"] = draw(hostile_json_texts() | st.none() | st.text(max_size=30))
    return event


@_NO_FIXTURE_RESET
@given(event=unverifiable_requests())
def test_nothing_is_enqueued_unless_the_signature_verifies(
    receiver_env: dict[str, Any], caplog: pytest.LogCaptureFixture, event: dict[str, Any]
) -> None:
    """Property (moto SQS): for unsigned or wrongly signed input the answer is a JSON 401
    (client input is never a 5xx), the queue stays empty, and no log holds the body or a
    signature."""
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="serverless_patterns")
    response = webhook_receiver.handler(event, None)
    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["error"] == "invalid_signature"
    assert queue_depth(receiver_env["sqs"], receiver_env["queue_url"]) == 0
    logged = " ".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert MARK not in logged
    for value in (event.get("headers") or {}).values():
        if isinstance(value, str) and value.startswith("v1,"):
            assert value not in logged


@_NO_FIXTURE_RESET
@given(
    body=st.binary(max_size=400) | hostile_json_bytes() | _marked_bodies,
    encoding=st.fixed_dictionaries({"base64": st.booleans(), "svix": st.booleans()}),
)
def test_any_validly_signed_body_is_enqueued_once_and_round_trips(
    receiver_env: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    body: bytes,
    encoding: dict[str, bool],
) -> None:
    """Property (moto SQS and S3): any signed bytes answer 202 JSON and resolve_body gives
    them back exactly, inline or claim-checked (the limit is lowered to 300 bytes here so both
    paths run); no log holds the body."""
    monkeypatch.setattr(receiver_module, "SQS_MESSAGE_LIMIT_BYTES", 300)
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="serverless_patterns")
    msg_id = f"msg_{uuid.uuid4().hex}"
    hdrs = signed_headers(SECRET, msg_id, int(time.time()), body)
    if encoding["svix"]:
        hdrs = {name.replace("webhook-", "svix-"): value for name, value in hdrs.items()}
    base64_body = encoding["base64"]
    try:
        text = body.decode()
    except UnicodeDecodeError:
        base64_body = True  # API Gateway passes a body that is not text as base64
    event = proxy_event(
        "POST",
        "/webhooks",
        body=body if base64_body else text,
        base64_body=base64_body,
        headers=hdrs,
    )
    assert call(event) == (202, {"id": msg_id})
    [message] = messages(receiver_env)
    assert resolve_body(message) == body
    if len(body) > 300:
        assert "claim_check" in message
    logged = " ".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert MARK not in logged
