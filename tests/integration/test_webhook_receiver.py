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

from serverless_patterns.runtime.handlers import webhook_receiver
from serverless_patterns.runtime.idempotency import schema
from serverless_patterns.runtime.webhooks import contract
from serverless_patterns.runtime.webhooks.receiver import resolve_body, resolve_payload
from serverless_patterns.runtime.webhooks.signing import headers as signed_headers
from tests.integration.sqs_poller import receive_all
from tests.runtime.api_events import proxy_event

SECRET = "whsec_" + base64.b64encode(b"receiver-secret-0123456789abcdef").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"rotated-secret-0123456789abcdefg").decode()
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
    assert message["payload"] == json.loads(BODY)
    assert message["headers"]["webhook-id"] == "msg_one"
    assert "webhook-signature" not in message["headers"]
    assert resolve_body(message) == json.dumps(json.loads(BODY)).encode()


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
