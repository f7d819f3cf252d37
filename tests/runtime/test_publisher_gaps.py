"""EventPublisher behaviour the mutation run (issue 14) found unpinned.

PutEvents answers come over HTTP: a scripted proxy (``ScriptedProxy``) in front of the moto
server answers each PutEvents request with the next scripted response (an AWS error, a
truncated result list, a dropped connection) or forwards it to moto. AWS pages relied on:
"PutEvents" (EventBridge API Reference: at most 10 entries; one result entry per request entry,
in order; the ``ErrorCode`` of a failed entry) and "Retry behavior" (AWS SDKs and Tools
Reference Guide: throttling, HTTP 429 and 5xx responses and transient connection errors are
retried; other 4xx errors are not).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config

from serverless_patterns.runtime.events.publisher import (
    MAX_REQUEST_BYTES,
    Event,
    EventPublisher,
    FailedEntry,
    PublishError,
    PublishResult,
    split_into_calls,
)
from tests.integration.forwarding_proxy import (
    ForwardingProxy,
    Request,
    Response,
    aws_json_error,
    aws_json_headers,
    running,
    without_checksum,
)
from tests.moto_fixtures import AWS_REGION

PUT_EVENTS = "AWSEvents.PutEvents"

Answer = Callable[["ScriptedProxy", Request], Response]
"""How the proxy answers one PutEvents request."""


class DropConnection(Exception):
    """Raised by an answer: the proxy closes the connection without a response."""


@dataclass
class ScriptedProxy(ForwardingProxy):
    """Answers the n-th PutEvents request with ``script[n]`` (forwards once it runs out) and
    records the entries of each request."""

    script: list[Answer] = field(default_factory=list)
    entries: list[list[dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Request) -> Response:
        if request.target != PUT_EVENTS:
            return self.forward(request)
        with self._lock:
            self.entries.append(json.loads(request.body)["Entries"])
            step = self.script.pop(0) if self.script else forward
        return step(self, request)


def forward(proxy: ScriptedProxy, request: Request) -> Response:
    return proxy.forward(request)


def error(status: int, code: str) -> Answer:
    return lambda proxy, request: aws_json_error(status, code, "scripted", json_version="1.1")


def drop(proxy: ScriptedProxy, request: Request) -> Response:
    # The handler thread dies: the client sees the connection closed before any response.
    raise DropConnection


def results(*codes: str | None) -> Answer:
    """A PutEvents answer made up here: per entry, an EventId (None) or that ErrorCode."""
    entries = [
        {"EventId": f"id-{n}"} if code is None else {"ErrorCode": code, "ErrorMessage": "x"}
        for n, code in enumerate(codes)
    ]
    body = {"FailedEntryCount": sum(code is not None for code in codes), "Entries": entries}
    return lambda proxy, request: (200, aws_json_headers("1.1"), json.dumps(body).encode())


def truncated(keep: int) -> Answer:
    """moto publishes every entry, the client is told about the first ``keep`` only."""

    def answer(proxy: ScriptedProxy, request: Request) -> Response:
        status, headers, payload = proxy.forward(request)
        body = json.loads(payload)
        body["Entries"] = body["Entries"][:keep]
        return status, without_checksum(headers), json.dumps(body).encode()

    return answer


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[ScriptedProxy]:
    with running(ScriptedProxy(moto_endpoint)) as started:
        yield started


@pytest.fixture
def quiet_dropped_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """socketserver prints the traceback of a handler that raised; a dropped connection is
    the point of the test, not news."""
    from socketserver import BaseServer

    monkeypatch.setattr(BaseServer, "handle_error", lambda self, request, address: None)


def publisher_via(proxy: ScriptedProxy, **kwargs: Any) -> EventPublisher:
    client = boto3.client(
        "events",
        endpoint_url=proxy.url,
        region_name=AWS_REGION,
        config=Config(retries={"total_max_attempts": 1}),
    )
    settings: dict[str, Any] = {"max_concurrency": 1, "sleep": lambda seconds: None}
    return EventPublisher(client=client, **(settings | kwargs))


def events(count: int) -> list[Event]:
    return [Event("test.gaps", "Gap", {"n": n}) for n in range(count)]


# --- whole-call errors ---------------------------------------------------------------------


@pytest.mark.usefixtures("quiet_dropped_connections")
def test_a_dropped_connection_is_resent_and_then_succeeds(proxy: ScriptedProxy) -> None:
    proxy.script = [drop, drop]
    result = publisher_via(proxy, max_attempts=3).publish(events(2))

    assert result.ok and result.calls == 3
    assert all(event_id for event_id in result.event_ids)
    assert len(proxy.entries) == 3 and proxy.entries[0] == proxy.entries[2]


@pytest.mark.usefixtures("quiet_dropped_connections")
def test_a_connection_dropped_every_time_fails_every_entry_after_max_attempts(
    proxy: ScriptedProxy,
) -> None:
    proxy.script = [drop] * 3
    result = publisher_via(proxy, max_attempts=3).publish(events(2))

    assert result.calls == 3 and result.event_ids == (None, None)
    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (0, "ConnectionClosedError", 3),
        (1, "ConnectionClosedError", 3),
    ]


def test_a_botocore_error_that_is_not_a_connection_error_is_not_resent(
    proxy: ScriptedProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # No credentials anywhere: botocore raises NoCredentialsError before sending anything.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    client = boto3.Session().client("events", endpoint_url=proxy.url, region_name=AWS_REGION)
    publisher = EventPublisher(client=client, max_attempts=4, sleep=lambda seconds: None)

    result = publisher.publish(events(1))

    assert result.calls == 1 and proxy.entries == []
    assert [(f.error_code, f.attempts) for f in result.failed] == [("NoCredentialsError", 1)]
    assert result.failed[0].error_message == "Unable to locate credentials"


@pytest.mark.parametrize(
    ("status", "resent"),
    [(429, True), (500, True), (503, True), (599, True), (400, False), (403, False), (499, False)],
)
def test_an_unknown_error_code_is_resent_by_its_http_status(
    proxy: ScriptedProxy, status: int, resent: bool
) -> None:
    proxy.script = [error(status, "SomethingUnlisted")]
    result = publisher_via(proxy, max_attempts=2).publish(events(1))

    if resent:
        assert result.ok and result.calls == 2
    else:
        assert result.calls == 1
        assert [(f.error_code, f.error_message, f.attempts) for f in result.failed] == [
            ("SomethingUnlisted", "scripted", 1)
        ]


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalFailure",
        "InternalException",
        "ServiceUnavailable",
    ],
)
def test_a_throttling_or_internal_error_code_is_resent_even_with_a_400(
    proxy: ScriptedProxy, code: str
) -> None:
    proxy.script = [error(400, code)]
    assert publisher_via(proxy, max_attempts=2).publish(events(1)).calls == 2


def test_a_retryable_call_error_on_the_last_attempt_is_reported_with_its_code(
    proxy: ScriptedProxy,
) -> None:
    proxy.script = [error(503, "ServiceUnavailable")] * 2
    result = publisher_via(proxy, max_attempts=2).publish(events(1))

    assert result.calls == 2
    assert [(f.error_code, f.attempts) for f in result.failed] == [("ServiceUnavailable", 2)]


# --- a response with fewer result entries than request entries -----------------------------


def test_entries_missing_from_a_response_are_reported_and_not_resent(
    proxy: ScriptedProxy,
) -> None:
    proxy.script = [truncated(2)]
    result = publisher_via(proxy, max_attempts=3).publish(events(4))

    assert result.calls == 1
    assert result.event_ids[0] and result.event_ids[1]
    assert result.event_ids[2:] == (None, None)
    assert [(f.index, f.error_code, f.error_message, f.attempts) for f in result.failed] == [
        (2, "MissingResultEntry", "PutEvents returned no result for it", 1),
        (3, "MissingResultEntry", "PutEvents returned no result for it", 1),
    ]


# --- the result and the error --------------------------------------------------------------


def failed_result(failures: int, total: int) -> PublishResult:
    failed = tuple(
        FailedEntry(index, Event("s", "t"), "InvalidArgument", "no", 1) for index in range(failures)
    )
    ids = tuple(None if index < failures else f"id-{index}" for index in range(total))
    return PublishResult(event_ids=ids, failed=failed, calls=1)


def test_more_than_20_failures_are_summarised() -> None:
    message = str(PublishError(failed_result(23, 25)))
    assert message.startswith("23 of 25 events were not published: #0 InvalidArgument after 1 ")
    assert "#19 InvalidArgument after 1 attempt, and 3 more" in message
    assert "#20 " not in message
    assert message.endswith(", and 3 more")


def test_exactly_20_failures_are_all_listed() -> None:
    message = str(PublishError(failed_result(20, 20)))
    assert message.endswith("#19 InvalidArgument after 1 attempt")
    assert "more" not in message


def test_attempts_are_pluralised() -> None:
    result = PublishResult(
        event_ids=(None,), failed=(FailedEntry(0, Event("s", "t"), "X", "m", 2),), calls=2
    )
    assert str(PublishError(result)) == "1 of 1 events were not published: #0 X after 2 attempts"


def test_publish_error_carries_the_result() -> None:
    result = failed_result(2, 3)
    with pytest.raises(PublishError) as raised:
        result.raise_for_failures()
    assert raised.value.result is result
    assert raised.value.failed is result.failed
    assert not result.ok and result.published_count == 1


def test_raise_for_failures_returns_the_result_when_nothing_failed() -> None:
    result = failed_result(0, 2)
    assert result.raise_for_failures() is result
    assert result.ok and result.published_count == 2


def test_failures_are_logged_once_with_counts_per_code_and_indexes(
    proxy: ScriptedProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.script = [error(400, "AccessDeniedException")]
    with caplog.at_level(logging.WARNING, logger="serverless_patterns.runtime.events.publisher"):
        publisher_via(proxy).publish(events(3))

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "3 of 3 events were not published (AccessDeniedException: 3)"
    ]
    assert vars(errors[0])["failedIndexes"] == [0, 1, 2]


def test_raise_on_failure_raises_after_the_calls(proxy: ScriptedProxy) -> None:
    proxy.script = [error(400, "AccessDeniedException")]
    with pytest.raises(PublishError) as raised:
        publisher_via(proxy).publish(events(2), raise_on_failure=True)
    assert [f.index for f in raised.value.failed] == [0, 1]
    assert raised.value.result.calls == 1


# --- defaults, the default client and validation -------------------------------------------


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    publisher = EventPublisher()
    assert publisher.event_bus_name is None
    assert (publisher.max_attempts, publisher.max_concurrency) == (5, 8)
    assert (publisher.base_delay_seconds, publisher.max_delay_seconds) == (0.1, 2.0)
    assert publisher.max_request_bytes == MAX_REQUEST_BYTES == 256 * 1024


def test_the_bus_given_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "from-env")
    assert EventPublisher("given").event_bus_name == "given"
    assert EventPublisher().event_bus_name == "from-env"


def test_the_default_client_has_no_retries_of_its_own_a_pool_per_thread_and_timeouts(
    moto_endpoint: str,
) -> None:
    publisher = EventPublisher(max_concurrency=3)
    client = publisher.client
    config: Any = client.meta.config
    assert client.meta.service_model.service_name == "events"
    assert config.max_pool_connections == 3
    assert config.retries["total_max_attempts"] == 1
    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert publisher.client is client  # created once


def test_the_default_client_sends_once_per_attempt(proxy: ScriptedProxy) -> None:
    # botocore's own retries would resend a 503 before the publisher sees it.
    proxy.script = [error(503, "ServiceUnavailable")]
    publisher = EventPublisher(max_attempts=1, max_concurrency=1)
    publisher._client = None  # the default client, pointed at the proxy below
    client_kwargs = {"endpoint_url": proxy.url}
    original = boto3.client
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(boto3, "client", lambda *a, **k: original(*a, **(k | client_kwargs)))
        result = publisher.publish(events(1))
    assert result.calls == 1 and len(proxy.entries) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 1},
        {"max_concurrency": 1},
        {"base_delay_seconds": 0, "max_delay_seconds": 0},
        {"max_request_bytes": 1},
        {"max_request_bytes": MAX_REQUEST_BYTES},
    ],
)
def test_the_smallest_and_largest_valid_settings_are_accepted(kwargs: dict[str, Any]) -> None:
    publisher = EventPublisher("bus", **kwargs)
    for name, value in kwargs.items():
        assert getattr(publisher, name) == value


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1, got 0"),
        ({"max_concurrency": 0}, "max_concurrency must be at least 1, got 0"),
        (
            {"base_delay_seconds": -0.5},
            "base_delay_seconds and max_delay_seconds must not be negative, got -0.5 and 2.0",
        ),
        (
            {"max_delay_seconds": -1.0},
            "base_delay_seconds and max_delay_seconds must not be negative, got 0.1 and -1.0",
        ),
        ({"max_request_bytes": 0}, f"max_request_bytes must be between 1 and {MAX_REQUEST_BYTES}"),
        (
            {"max_request_bytes": MAX_REQUEST_BYTES + 1},
            f"max_request_bytes must be between 1 and {MAX_REQUEST_BYTES}, "
            f"got {MAX_REQUEST_BYTES + 1}",
        ),
    ],
)
def test_invalid_settings_name_the_value(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        EventPublisher("bus", **kwargs)
    assert str(raised.value).startswith(message)


def test_backoff_is_full_jitter_below_a_capped_doubling() -> None:
    calls: list[tuple[float, float]] = []

    class Recording(random.Random):
        def uniform(self, a: float, b: float) -> float:
            calls.append((a, b))
            return b / 2

    publisher = EventPublisher(
        "bus", base_delay_seconds=0.25, max_delay_seconds=1.5, rng=Recording()
    )
    waits = [publisher.backoff_seconds(n) for n in (1, 2, 3, 4)]
    assert calls == [(0, 0.25), (0, 0.5), (0, 1.0), (0, 1.5)]
    assert waits == [0.125, 0.25, 0.5, 0.75]


def sending_threads(publisher: EventPublisher) -> list[str]:
    """The name of the thread each PutEvents request of ``publisher`` is sent from."""
    names: list[str] = []
    publisher.client.meta.events.register(
        "before-send.events.PutEvents",
        lambda **_: names.append(threading.current_thread().name),
    )
    return names


def test_several_calls_are_sent_from_the_publishers_threads(proxy: ScriptedProxy) -> None:
    publisher = publisher_via(proxy, max_concurrency=2)
    names = sending_threads(publisher)
    assert publisher.publish(events(25)).ok
    assert len(names) == 3
    assert all(name.startswith("event-publisher") for name in names)


def test_one_call_or_one_thread_sends_from_the_callers_thread(proxy: ScriptedProxy) -> None:
    caller = threading.current_thread().name
    concurrent = publisher_via(proxy, max_concurrency=4)
    one_call = sending_threads(concurrent)
    assert concurrent.publish(events(10)).ok
    sequential = publisher_via(proxy, max_concurrency=1)
    one_thread = sending_threads(sequential)
    assert sequential.publish(events(25)).ok  # three calls, one at a time
    assert (one_call, one_thread) == ([caller], [caller] * 3)


def test_resends_are_logged_with_the_next_attempt_number(
    proxy: ScriptedProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.script = [error(503, "ServiceUnavailable"), results("ThrottlingException", None, None)]
    with caplog.at_level(logging.WARNING, logger="serverless_patterns.runtime.events.publisher"):
        result = publisher_via(proxy, max_attempts=3).publish(events(3))

    assert result.ok and result.calls == 3
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "PutEvents call of 3 entries failed with ServiceUnavailable; resending it (attempt 2 of 3)",
        "1 of 3 entries of a PutEvents call failed transiently; resending them (attempt 3 of 3)",
    ]


def test_the_error_log_lists_at_most_100_failed_indexes(
    proxy: ScriptedProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.script = [error(400, "AccessDeniedException")] * 11
    with caplog.at_level(logging.ERROR, logger="serverless_patterns.runtime.events.publisher"):
        result = publisher_via(proxy).publish(events(101))

    assert len(result.failed) == 101
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert vars(logged)["failedIndexes"] == list(range(100))


def test_events_and_results_are_immutable() -> None:
    event = Event("s", "t", {"n": 1})
    failure = FailedEntry(0, event, "X", "m", 1)
    for value, name in ((event, "source"), (failure, "index"), (failed_result(1, 1), "calls")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, None)


def test_raise_on_failure_is_keyword_only(proxy: ScriptedProxy) -> None:
    with pytest.raises(TypeError):
        publisher_via(proxy).publish(events(1), True)  # type: ignore[call-arg]
    assert proxy.entries == []


def test_21_failures_list_20_and_1_more() -> None:
    assert str(PublishError(failed_result(21, 21))).endswith(", and 1 more")


def test_split_limits_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        split_into_calls([1, 2], 1)  # type: ignore[call-arg]
    assert split_into_calls([1, 2], max_entries=1) == [[0], [1]]


def test_two_calls_are_already_sent_from_the_publishers_threads(proxy: ScriptedProxy) -> None:
    publisher = publisher_via(proxy, max_concurrency=2)
    names = sending_threads(publisher)
    assert publisher.publish(events(20)).ok
    assert len(names) == 2 and all(name.startswith("event-publisher") for name in names)


def test_only_the_bus_is_positional() -> None:
    with pytest.raises(TypeError):
        EventPublisher("bus", None)  # type: ignore[call-arg]


def test_a_refused_connection_is_resent_like_a_dropped_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on the port: botocore raises EndpointConnectionError (a ConnectionError,
    not an HTTPClientError) before anything was sent, so resending is safe."""
    import socket

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    with socket.socket() as probe:  # a free port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.client(
        "events",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=AWS_REGION,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    publisher = EventPublisher(client=client, max_attempts=3, sleep=lambda seconds: None)
    result = publisher.publish(events(2))

    assert result.calls == 3
    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (0, "EndpointConnectionError", 3),
        (1, "EndpointConnectionError", 3),
    ]
