"""The webhook sender handler against a local HTTP endpoint and the moto server."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.batch import process_sqs_batch
from serverless_patterns.runtime.handlers import webhook_sender
from serverless_patterns.runtime.webhooks import contract
from serverless_patterns.runtime.webhooks.sender import (
    MAX_DELAY_SECONDS,
    Sender,
    TokenBucket,
    UnsafeUrlError,
    check_url,
    parse_retry_after,
)
from serverless_patterns.runtime.webhooks.signing import verify
from tests.integration.webhook_endpoint import Answer, WebhookEndpoint, webhook_endpoint
from tests.runtime.sqs_events import sqs_event, sqs_record

SECRET = "whsec_" + base64.b64encode(b"subscriber-secret-0123456789abcd").decode()
PAYLOAD = {"type": "order.shipped", "data": {"order_id": "o-1", "quantity": 2}}


class World:
    """The sender's AWS resources on moto and helpers to drive it."""

    def __init__(self, aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> None:
        suffix = uuid.uuid4().hex[:12]
        self.dynamodb = aws_client("dynamodb")
        self.sqs = aws_client("sqs")
        self.table = f"subscribers-{suffix}"
        self.dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": contract.SUBSCRIBER_ID_ATTRIBUTE, "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": contract.SUBSCRIBER_ID_ATTRIBUTE, "AttributeType": "S"}
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.secret_arn = aws_client("secretsmanager").create_secret(
            Name=f"subscriber-{suffix}", SecretString=SECRET
        )["ARN"]
        self.queue_url = self.sqs.create_queue(QueueName=f"deliveries-{suffix}")["QueueUrl"]
        self.dlq_url = self.sqs.create_queue(QueueName=f"deliveries-dlq-{suffix}")["QueueUrl"]
        monkeypatch.setenv(contract.SENDER_SUBSCRIBERS_TABLE_ENV, self.table)
        monkeypatch.setenv(contract.SENDER_QUEUE_URL_ENV, self.queue_url)
        monkeypatch.setenv(contract.SENDER_DEAD_LETTER_QUEUE_URL_ENV, self.dlq_url)
        monkeypatch.setenv(contract.SENDER_TIMEOUT_ENV, "0.5")
        monkeypatch.setenv(contract.SENDER_MAX_ATTEMPTS_ENV, "3")
        webhook_sender.default_sender.cache_clear()

    def subscriber(self, url: str, *, allow_private: bool = True, rate: float | None = None) -> str:
        subscriber_id = f"sub-{uuid.uuid4().hex[:8]}"
        item: dict[str, Any] = {
            contract.SUBSCRIBER_ID_ATTRIBUTE: {"S": subscriber_id},
            contract.SUBSCRIBER_URL_ATTRIBUTE: {"S": url},
            contract.SUBSCRIBER_SECRET_ARN_ATTRIBUTE: {"S": self.secret_arn},
            contract.SUBSCRIBER_ENABLED_ATTRIBUTE: {"BOOL": True},
            contract.SUBSCRIBER_ALLOW_PRIVATE_ATTRIBUTE: {"BOOL": allow_private},
        }
        if rate is not None:
            item[contract.SUBSCRIBER_RATE_LIMIT_ATTRIBUTE] = {"N": str(rate)}
        self.dynamodb.put_item(TableName=self.table, Item=item)
        return subscriber_id

    def enabled(self, subscriber_id: str) -> bool:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={contract.SUBSCRIBER_ID_ATTRIBUTE: {"S": subscriber_id}}
        )["Item"]
        return bool(item[contract.SUBSCRIBER_ENABLED_ATTRIBUTE]["BOOL"])

    def receive(self, queue_url: str) -> list[dict[str, Any]]:
        """Every visible message of a queue, with its message attributes, deleted."""
        found: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", []):
            for message in batch:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                attributes = {
                    name: value["StringValue"]
                    for name, value in message.get("MessageAttributes", {}).items()
                }
                found.append({"body": json.loads(message["Body"]), "attributes": attributes})
        return found

    def delayed(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesDelayed"])


@pytest.fixture
def world(aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield World(aws_client, monkeypatch)
    webhook_sender.default_sender.cache_clear()


@pytest.fixture
def endpoint() -> Iterator[WebhookEndpoint]:
    with webhook_endpoint() as running:
        yield running


def delivery(subscriber_id: str, *, attempt: int = 1, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "subscriber_id": subscriber_id,
            "event_id": event_id or f"evt_{uuid.uuid4().hex}",
            "payload": PAYLOAD,
            "attempt": attempt,
        }
    )


def run(*bodies: str, sender: Sender | None = None) -> list[str]:
    """Deliver a batch; return the failed message ids."""
    event = sqs_event(sqs_record(body, message_id=f"m-{i}") for i, body in enumerate(bodies))
    if sender is None:
        response = webhook_sender.handler(event, None)
    else:
        response = process_sqs_batch(event, sender.deliver)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def no_jitter_sender() -> Sender:
    """The environment's sender with jitter drawing 0 s, so retries are visible at once."""
    return Sender.from_environment(uniform=lambda low, high: low)


def test_a_delivery_is_signed_and_the_receiver_verifies_it(
    world: World, endpoint: WebhookEndpoint
) -> None:
    subscriber = world.subscriber(endpoint.url)
    assert run(delivery(subscriber, event_id="evt_round_trip")) == []
    [request] = endpoint.received
    assert request.path == "/hooks"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == PAYLOAD
    verified = verify([SECRET], request.headers, request.body)
    assert verified.id == "evt_round_trip"
    assert abs(verified.timestamp - time.time()) < 30
    assert world.receive(world.queue_url) == []
    assert world.receive(world.dlq_url) == []


def test_410_disables_the_endpoint_and_ends_the_delivery(
    world: World, endpoint: WebhookEndpoint
) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(410))
    assert run(delivery(subscriber)) == []
    assert world.enabled(subscriber) is False
    assert world.receive(world.queue_url) == []
    assert world.receive(world.dlq_url) == []
    # Later deliveries to the disabled endpoint are dropped without a request.
    assert run(delivery(subscriber)) == []
    assert len(endpoint.received) == 1


def test_429_is_retried_after_retry_after_with_the_next_attempt_then_succeeds(
    world: World, endpoint: WebhookEndpoint
) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(429, {"Retry-After": "1"}), Answer(200))
    assert run(delivery(subscriber, event_id="evt_429")) == []
    # Re-sent with DelaySeconds=1: invisible at first.
    assert world.delayed(world.queue_url) == 1
    assert world.receive(world.queue_url) == []
    time.sleep(1.2)
    [retry] = world.receive(world.queue_url)
    assert retry["body"]["attempt"] == 2
    assert retry["body"]["event_id"] == "evt_429"
    assert retry["body"]["payload"] == PAYLOAD
    assert retry["attributes"] == {"reason": "http_429", "attempt": "2", "delay_seconds": "1"}
    assert run(json.dumps(retry["body"])) == []
    assert len(endpoint.received) == 2
    assert all(verify([SECRET], r.headers, r.body).id == "evt_429" for r in endpoint.received)
    assert world.receive(world.queue_url) == []
    assert world.receive(world.dlq_url) == []


def test_500_is_retried_with_backoff_until_exhausted_then_dead_lettered(
    world: World, endpoint: WebhookEndpoint
) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.default = Answer(500)
    sender = no_jitter_sender()
    body = delivery(subscriber, event_id="evt_500")
    attempts = []
    for _ in range(3):  # SENDER_MAX_ATTEMPTS_ENV = 3
        assert run(body, sender=sender) == []
        attempts.append(json.loads(body)["attempt"])
        retried = world.receive(world.queue_url)
        if not retried:
            break
        [message] = retried
        assert message["attributes"]["reason"] == "http_500"
        assert message["attributes"]["delay_seconds"] == "0"
        body = json.dumps(message["body"])
    assert attempts == [1, 2, 3]
    assert len(endpoint.received) == 3
    [dead] = world.receive(world.dlq_url)
    assert dead["attributes"] == {"reason": "exhausted:http_500"}
    assert dead["body"]["reason"] == "exhausted:http_500"
    assert dead["body"]["status"] == 500
    assert dead["body"]["attempts"] == 3
    assert dead["body"]["delivery"]["event_id"] == "evt_500"
    assert dead["body"]["delivery"]["payload"] == PAYLOAD


def test_backoff_is_exponential_with_full_jitter_and_capped(world: World) -> None:
    highest = Sender.from_environment(uniform=lambda low, high: high)
    assert [highest.backoff_seconds(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert highest.backoff_seconds(30) == MAX_DELAY_SECONDS
    lowest = Sender.from_environment(uniform=lambda low, high: low)
    assert lowest.backoff_seconds(5) == 0


def test_a_retry_after_longer_than_15_minutes_is_capped(
    world: World, endpoint: WebhookEndpoint
) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(503, {"Retry-After": "7200"}))
    assert run(delivery(subscriber)) == []
    assert world.delayed(world.queue_url) == 1  # DelaySeconds=900, never visible in this test


def test_a_slow_response_times_out_and_is_retried(world: World, endpoint: WebhookEndpoint) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(200, delay_seconds=2.0))  # SENDER_TIMEOUT_ENV = 0.5
    started = time.monotonic()
    assert run(delivery(subscriber), sender=no_jitter_sender()) == []
    assert time.monotonic() - started < 1.8
    [retry] = world.receive(world.queue_url)
    assert retry["attributes"]["reason"] == "timeout"
    assert retry["body"]["attempt"] == 2


def test_other_4xx_fail_permanently_without_retry(world: World, endpoint: WebhookEndpoint) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(400))
    assert run(delivery(subscriber)) == []
    assert world.receive(world.queue_url) == []
    [dead] = world.receive(world.dlq_url)
    assert (dead["body"]["reason"], dead["body"]["status"], dead["body"]["attempts"]) == (
        "http_400",
        400,
        1,
    )


def test_redirects_are_not_followed(world: World, endpoint: WebhookEndpoint) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(307, {"Location": "http://169.254.169.254/latest/meta-data"}))
    assert run(delivery(subscriber)) == []
    assert len(endpoint.received) == 1
    [dead] = world.receive(world.dlq_url)
    assert dead["body"]["reason"] == "http_307"


def test_a_connection_refused_is_retried(world: World) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscriber = world.subscriber(f"http://127.0.0.1:{port}/hooks")
    assert run(delivery(subscriber), sender=no_jitter_sender()) == []
    [retry] = world.receive(world.queue_url)
    assert retry["attributes"]["reason"].startswith("network_error:")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "ftp://example.com/hooks",
    ],
)
def test_the_ssrf_guard_refuses_private_addresses_unless_allow_listed(
    world: World, endpoint: WebhookEndpoint, url: str
) -> None:
    port = endpoint.url.split(":")[2].split("/")[0]
    subscriber = world.subscriber(url.format(port=port), allow_private=False)
    assert run(delivery(subscriber)) == []
    assert endpoint.received == []
    [dead] = world.receive(world.dlq_url)
    assert dead["body"]["reason"].startswith("unsafe_url:")
    assert world.receive(world.queue_url) == []


def test_the_allow_listed_local_endpoint_is_delivered_to(
    world: World, endpoint: WebhookEndpoint
) -> None:
    refused = world.subscriber(endpoint.url, allow_private=False)
    allowed = world.subscriber(endpoint.url, allow_private=True)
    assert run(delivery(refused), delivery(allowed)) == []
    assert len(endpoint.received) == 1
    [dead] = world.receive(world.dlq_url)
    assert dead["body"]["delivery"]["subscriber_id"] == refused


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["93.184.215.14", "10.0.0.5"], "private_address"),
        (["::ffff:127.0.0.1"], "loopback_address"),
        (["169.254.169.254"], "link_local_address"),
        (["fe80::1%eth0"], "link_local_address"),
        (["224.0.0.1"], "multicast_address"),
        (["0.0.0.0"], "unspecified_address"),
        (["100.64.0.1"], "not_global_address"),
        (["240.0.0.1"], "reserved_address"),
    ],
)
def test_check_url_checks_every_resolved_address(addresses: list[str], reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as caught:
        check_url("https://hooks.example.com/x", resolve=lambda host, port: addresses)
    assert caught.value.reason == reason
    allowed = check_url(
        "https://hooks.example.com/x",
        allow_private_network=True,
        resolve=lambda host, port: addresses,
    )
    assert allowed == addresses


def test_check_url_accepts_public_https_and_refuses_plain_http() -> None:
    public = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert check_url("https://hooks.example.com/x", resolve=lambda h, p: public) == public
    with pytest.raises(UnsafeUrlError, match="scheme_not_allowed"):
        check_url("http://hooks.example.com/x", resolve=lambda h, p: public)


def test_rate_limit_over_the_limit_is_re_sent_with_a_delay_not_blocked(
    world: World, endpoint: WebhookEndpoint
) -> None:
    subscriber = world.subscriber(endpoint.url, rate=1)
    slept: list[float] = []

    def note_sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.MonkeyPatch.context() as patch:  # no wall-clock bound: a loaded machine is slow
        patch.setattr(time, "sleep", note_sleep)
        assert run(delivery(subscriber), delivery(subscriber, event_id="evt_later")) == []
    assert not [seconds for seconds in slept if seconds >= 0.5], "the sender waited for a token"
    assert len(endpoint.received) == 1
    assert world.delayed(world.queue_url) == 1
    time.sleep(1.2)
    [later] = world.receive(world.queue_url)
    assert later["body"]["event_id"] == "evt_later"
    assert later["body"]["attempt"] == 1  # rate limiting does not use up an attempt
    assert later["attributes"]["reason"] == "rate_limited"
    assert int(later["attributes"]["delay_seconds"]) >= 1


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(2, clock=lambda: now[0])
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.take() == 0.0


def test_a_delivery_whose_retry_cannot_be_queued_fails_its_record(
    world: World, endpoint: WebhookEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber = world.subscriber(endpoint.url)
    endpoint.default = Answer(503)
    monkeypatch.setenv(contract.SENDER_QUEUE_URL_ENV, world.queue_url + "-deleted")
    webhook_sender.default_sender.cache_clear()
    ok = world.subscriber(endpoint.url.replace("/hooks", "/other"))
    endpoint.script(Answer(503), Answer(200))
    assert run(delivery(subscriber), delivery(ok)) == ["m-0"]


def test_unknown_subscribers_and_malformed_messages_are_dead_lettered(world: World) -> None:
    assert run(delivery("sub-missing"), '{"subscriber_id": 5}', "not json") == []
    reasons = sorted(m["body"]["reason"] for m in world.receive(world.dlq_url))
    assert reasons == ["malformed_delivery", "malformed_delivery", "unknown_subscriber"]


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("¹") is None  # a digit to str.isdigit, not to float


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.none(), st.text(), st.from_regex(r"\s*[0-9\u00b9\u00b2\u00b3\u0660-\u0669]{1,6}\s*")
    )
)
def test_retry_after_from_any_header_is_none_or_seconds_and_never_raises(
    value: str | None,
) -> None:
    seconds = parse_retry_after(value, now=1445412480)
    assert seconds is None or seconds >= 0


def test_a_subscriber_item_without_a_url_is_dead_lettered(world: World) -> None:
    subscriber = world.subscriber("https://hooks.example.com/x")
    world.dynamodb.update_item(
        TableName=world.table,
        Key={contract.SUBSCRIBER_ID_ATTRIBUTE: {"S": subscriber}},
        UpdateExpression="REMOVE #url",
        ExpressionAttributeNames={"#url": contract.SUBSCRIBER_URL_ATTRIBUTE},
    )
    assert run(delivery(subscriber)) == []
    [dead] = world.receive(world.dlq_url)
    assert dead["body"]["reason"] == "invalid_subscriber"


def test_logs_hold_no_payload_secret_or_signature(
    world: World, endpoint: WebhookEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="serverless_patterns")
    subscriber = world.subscriber(endpoint.url)
    endpoint.script(Answer(200), Answer(500), Answer(400), Answer(410))
    assert run(*(delivery(subscriber) for _ in range(4))) == []
    signatures = [r.headers["webhook-signature"] for r in endpoint.received]
    assert len(signatures) == 4
    ours = [r for r in caplog.records if r.name.startswith("serverless_patterns")]
    assert len(ours) >= 4
    forbidden = [SECRET, SECRET.removeprefix("whsec_"), "order.shipped", "o-1", *signatures]
    forbidden += [s.split(",", 1)[1] for s in signatures]
    for record in ours:
        text = record.getMessage() + " " + repr(record.__dict__)
        for value in forbidden:
            assert value not in text
