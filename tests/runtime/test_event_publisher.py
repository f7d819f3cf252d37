"""The EventBridge publisher: entry sizes, chunking, result mapping, resends and backoff.

Chunking and result mapping run against the moto server over HTTP: every PutEvents request
body the client sends is recorded (botocore's ``before-send``), and the events are read back
from an SQS queue a rule delivers them to. The resend logic uses botocore's Stubber, which
asserts the exact entries of each call; fault injection over HTTP is in
``tests/integration/test_event_publisher_faults.py``.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from serverless_patterns.runtime.events.envelope import EventEnvelope
from serverless_patterns.runtime.events.publisher import (
    MAX_REQUEST_BYTES,
    EntryTooLargeError,
    Event,
    EventEntryError,
    EventPublisher,
    PublishError,
    entry_size,
    split_into_calls,
)
from tests.integration.event_buses import create_fan_out, received_events

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

SOURCE = "test.publisher"
DETAIL_TYPE = "Sized"
SECRET = "do-not-log-this-payload"


def sized_event(n: int, size: int, *, source: str = SOURCE) -> Event:
    """Event number ``n`` whose entry is exactly ``size`` bytes by the documented rule.

    Computed here independently of ``entry_size``: Source + DetailType + Detail, all ASCII.
    """
    overhead = (
        len(source) + len(DETAIL_TYPE) + len(json.dumps({"n": n, "pad": ""}).replace(" ", ""))
    )
    padding = size - overhead
    assert padding >= 0, f"{size} bytes is too small for an event"
    return Event(source, DETAIL_TYPE, {"n": n, "pad": "x" * padding})


class RecordedCalls:
    """The PutEvents request entries a client sent over HTTP, one list per request."""

    def __init__(self, client: EventBridgeClient) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-send.events.PutEvents", self._record)

    def _record(self, request: Any, **kwargs: Any) -> None:
        entries = json.loads(request.body)["Entries"]
        with self._lock:
            self.calls.append(entries)

    def numbers(self) -> list[list[int]]:
        """The ``n`` of each entry, per request, sorted by each request's first ``n``."""
        return sorted([json.loads(entry["Detail"])["n"] for entry in call] for call in self.calls)


@dataclass(frozen=True)
class Bus:
    """A moto bus with one rule delivering every event of ``SOURCE`` to a queue, and a
    publisher to it whose PutEvents requests are recorded."""

    name: str
    publisher: EventPublisher
    calls: RecordedCalls
    queue_url: str
    sqs: SQSClient

    def delivered(self) -> list[EventEnvelope]:
        """Every event the queue holds (each received once)."""
        return received_events(self.sqs, self.queue_url)


@pytest.fixture
def recorded(aws_client: Callable[[str], Any]) -> Iterator[tuple[EventBridgeClient, RecordedCalls]]:
    client = aws_client("events")
    yield client, RecordedCalls(client)


@pytest.fixture
def bus(
    aws_client: Callable[[str], Any],
    sqs: SQSClient,
    recorded: tuple[EventBridgeClient, RecordedCalls],
) -> Bus:
    client, calls = recorded
    fan_out = create_fan_out(aws_client("events"), sqs, queues=1, source=SOURCE)
    publisher = EventPublisher(fan_out.bus_name, client=client)
    return Bus(fan_out.bus_name, publisher, calls, fan_out.targets[0].queue_url, sqs)


# --- entry size (the rule from the EventBridge User Guide) ------------------------------------


def test_entry_size_counts_utf8_bytes_time_and_each_resource() -> None:
    entry: dict[str, Any] = {
        "Source": "shop.é",  # 5 + 2 bytes
        "DetailType": "€",  # 3 bytes
        "Detail": '{"k":"😀"}',  # 6 + 4 + 2 bytes
        "Resources": ["arn:a", "arn:bb"],  # 5 + 6 bytes
        "Time": datetime(2024, 1, 1, tzinfo=UTC),  # 14 bytes whatever its value
        "EventBusName": "a-very-long-bus-name-that-does-not-count",
        "TraceHeader": "Root=1-00000000-000000000000000000000000",
    }
    assert entry_size(entry) == 7 + 3 + 12 + 11 + 14
    del entry["Time"], entry["Resources"]
    assert entry_size(entry) == 7 + 3 + 12
    assert entry_size({"Source": "s", "DetailType": "d"}) == 2


def test_entry_size_of_an_event_matches_what_is_sent() -> None:
    event = Event(
        "shop.orders",
        "OrderPlaced",
        {"order": "ü", "items": [1, 2]},
        resources=["arn:aws:sqs:eu-west-1:123456789012:q"],
        time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    entry = event.to_entry("bus")
    assert entry["Detail"] == '{"order":"ü","items":[1,2]}'  # compact, UTF-8 not escaped
    expected = 11 + 11 + len('{"order":"ü","items":[1,2]}'.encode()) + 36 + 14  # Time counts 14
    assert entry_size(entry) == expected
    assert entry_size(sized_event(3, 1000).to_entry()) == 1000


# --- splitting into calls ---------------------------------------------------------------------


def test_split_by_count_keeps_order() -> None:
    assert split_into_calls([1] * 25) == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    assert split_into_calls([1] * 10) == [list(range(10))]
    assert split_into_calls([]) == []


def test_split_by_size_exactly_at_the_limit() -> None:
    half = MAX_REQUEST_BYTES // 2
    # two halves fill a call exactly; one more byte needs a new call
    assert split_into_calls([half, half, 1]) == [[0, 1], [2]]
    assert split_into_calls([half, half + 1]) == [[0], [1]]
    assert split_into_calls([MAX_REQUEST_BYTES, 1, MAX_REQUEST_BYTES - 1]) == [[0], [1, 2]]
    # size and count limits together: the count closes the first call, the size the second
    assert split_into_calls([1] * 10 + [MAX_REQUEST_BYTES - 5, 5, 1]) == [
        list(range(10)),
        [10, 11],
        [12],
    ]


def test_split_rejects_an_entry_over_the_limit_naming_it() -> None:
    with pytest.raises(EntryTooLargeError, match=r"#1 \(262145 bytes\)") as caught:
        split_into_calls([10, MAX_REQUEST_BYTES + 1, 10])
    assert "262144" in str(caught.value)


# --- against the moto server ------------------------------------------------------------------


def test_publish_splits_by_count_and_maps_results_to_entries(bus: Bus) -> None:
    publisher, calls = bus.publisher, bus.calls
    events = [Event(SOURCE, "Counted", {"n": n}) for n in range(25)]

    result = publisher.publish(events)

    assert result.ok and result.failed == ()
    assert result.calls == 3
    assert calls.numbers() == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    assert all(entry["EventBusName"] == bus.name for call in calls.calls for entry in call)
    assert len(set(result.event_ids)) == 25 and None not in result.event_ids
    # the id returned for entry i is the id of the event whose detail is i
    delivered = {e.id: e.detail["n"] for e in bus.delivered()}
    assert {result.event_ids[n]: n for n in range(25)} == delivered


def test_publish_splits_by_size_exactly_at_the_limit(bus: Bus) -> None:
    publisher, calls = bus.publisher, bus.calls
    half = MAX_REQUEST_BYTES // 2
    sizes = [
        half,  # 0 and 1 fill a call exactly
        half,
        MAX_REQUEST_BYTES,  # 2 alone, at the limit
        half + 1,  # 3 and 4 are one byte over together
        half,
        1000,  # 4, 5, 6 fit
        1000,
        MAX_REQUEST_BYTES - half - 1999,  # 7 would make 4..7 one byte over
    ]
    events = [sized_event(n, size) for n, size in enumerate(sizes)]

    result = publisher.publish(events)

    assert result.ok
    assert calls.numbers() == [[0, 1], [2], [3], [4, 5, 6], [7]]
    for call in calls.calls:  # what went over the wire, measured by the documented rule
        assert sum(entry_size(entry) for entry in call) <= MAX_REQUEST_BYTES
        assert len(call) <= 10
    delivered = bus.delivered()
    assert sorted(e.detail["n"] for e in delivered) == list(range(len(sizes)))
    assert {result.event_ids[e.detail["n"]] for e in delivered} == {e.id for e in delivered}


def test_oversized_entry_fails_before_any_call(bus: Bus) -> None:
    publisher, calls = bus.publisher, bus.calls
    events = [sized_event(n, 100) for n in range(15)]
    events[12] = Event(
        SOURCE, DETAIL_TYPE, {"n": 12, "secret": SECRET, "pad": "x" * MAX_REQUEST_BYTES}
    )
    events[3] = sized_event(3, MAX_REQUEST_BYTES + 1)

    with pytest.raises(EntryTooLargeError) as caught:
        publisher.publish(events)

    message = str(caught.value)
    assert "#3 (262145 bytes)" in message and "#12 (" in message and "nothing was sent" in message
    assert SECRET not in message
    assert calls.calls == []


def test_entry_at_the_limit_is_accepted(bus: Bus) -> None:
    result = bus.publisher.publish([sized_event(0, MAX_REQUEST_BYTES)])
    assert result.ok and len(bus.calls.calls) == 1
    assert len(bus.delivered()) == 1


def test_unserializable_detail_fails_before_any_call(bus: Bus) -> None:
    events = [Event(SOURCE, "T", {"n": 0}), Event(SOURCE, "T", {"at": datetime.now(UTC)})]
    with pytest.raises(EventEntryError, match=r"#1: detail is not JSON-serializable \(TypeError\)"):
        bus.publisher.publish(events)
    assert bus.calls.calls == []


def test_publish_of_nothing_makes_no_call(
    recorded: tuple[EventBridgeClient, RecordedCalls],
) -> None:
    client, calls = recorded
    result = EventPublisher("any", client=client).publish([])
    assert result.ok and result.calls == 0 and result.event_ids == ()
    assert calls.calls == []


# --- resends, with the exact entries of every call (Stubber) ----------------------------------


def stubbed_client() -> EventBridgeClient:
    return boto3.client(
        "events",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Waits:
    """Records the backoff sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


class HighestJitter(random.Random):
    """A random source whose ``uniform(a, b)`` is always ``b``: the largest allowed wait."""

    def uniform(self, a: float, b: float) -> float:
        return b


def entries_of(events: list[Event], bus: str = "orders") -> list[Any]:
    return [event.to_entry(bus) for event in events]


def ok(count: int, prefix: str = "id") -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"{prefix}-{i}"} for i in range(count)]}


def test_resends_only_the_entries_that_failed_transiently() -> None:
    client = stubbed_client()
    waits = Waits()
    publisher = EventPublisher(
        "orders", client=client, max_concurrency=1, sleep=waits, base_delay_seconds=0.1
    )
    events = [Event("shop", "T", {"n": n}) for n in range(10)]
    first = [{"EventId": f"a-{n}"} for n in range(10)]
    first[2] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
    first[5] = {"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}
    first[7] = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    with Stubber(client) as stub:
        stub.add_response(
            "put_events", {"FailedEntryCount": 3, "Entries": first}, {"Entries": entries_of(events)}
        )
        # only 2 and 5, in their order; 7 is permanent and never resent
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"EventId": "b-2"}, {"ErrorCode": "ThrottlingException"}],
            },
            {"Entries": entries_of([events[2], events[5]])},
        )
        stub.add_response("put_events", ok(1, "c"), {"Entries": entries_of([events[5]])})

        result = publisher.publish(events)

        stub.assert_no_pending_responses()
    assert result.calls == 3
    assert [(f.index, f.error_code, f.error_message, f.attempts) for f in result.failed] == [
        (7, "MalformedDetail", "Detail is malformed.", 1)
    ]
    assert result.failed[0].event is events[7]
    expected_ids: list[str | None] = [f"a-{n}" for n in range(10)]
    expected_ids[2], expected_ids[5], expected_ids[7] = "b-2", "c-0", None
    assert list(result.event_ids) == expected_ids
    assert len(waits.seconds) == 2
    assert 0 <= waits.seconds[0] <= 0.1 and 0 <= waits.seconds[1] <= 0.2


def test_whole_call_throttling_and_5xx_resend_the_call() -> None:
    client = stubbed_client()
    publisher = EventPublisher("orders", client=client, max_concurrency=1, sleep=Waits())
    events = [Event("shop", "T", {"n": n}) for n in range(3)]
    params = {"Entries": entries_of(events)}
    with Stubber(client) as stub:
        stub.add_client_error(
            "put_events", "ThrottlingException", "Rate exceeded", 400, expected_params=params
        )
        stub.add_client_error(
            "put_events", "InternalException", "boom", 500, expected_params=params
        )
        stub.add_response("put_events", ok(3), params)

        result = publisher.publish(events)

        stub.assert_no_pending_responses()
    assert result.ok and result.calls == 3
    assert result.event_ids == ("id-0", "id-1", "id-2")


def test_a_permanent_call_error_fails_its_entries_without_a_resend() -> None:
    client = stubbed_client()
    publisher = EventPublisher("orders", client=client, max_concurrency=1, sleep=Waits())
    events = [Event("shop", "T", {"n": n}) for n in range(12)]
    with Stubber(client) as stub:
        stub.add_response("put_events", ok(10), {"Entries": entries_of(events[:10])})
        stub.add_client_error(
            "put_events",
            "AccessDeniedException",
            "not allowed",
            400,
            expected_params={"Entries": entries_of(events[10:])},
        )

        result = publisher.publish(events)

        stub.assert_no_pending_responses()
    assert result.calls == 2 and result.published_count == 10
    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (10, "AccessDeniedException", 1),
        (11, "AccessDeniedException", 1),
    ]


def test_gives_up_after_max_attempts_with_capped_exponential_backoff() -> None:
    client = stubbed_client()
    waits = Waits()
    publisher = EventPublisher(
        "orders",
        client=client,
        max_concurrency=1,
        max_attempts=6,
        base_delay_seconds=0.1,
        max_delay_seconds=0.5,
        sleep=waits,
        rng=HighestJitter(),
    )
    events = [Event("shop", "T", {"n": 0})]
    failing = {
        "FailedEntryCount": 1,
        "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}],
    }
    with Stubber(client) as stub:
        for _ in range(6):
            stub.add_response("put_events", failing, {"Entries": entries_of(events)})

        result = publisher.publish(events)

        stub.assert_no_pending_responses()
    assert result.calls == 6 and result.event_ids == (None,)
    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (0, "InternalFailure", 6)
    ]
    assert waits.seconds == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_raise_for_failures_lists_indexes_and_codes_never_payloads() -> None:
    client = stubbed_client()
    publisher = EventPublisher("orders", client=client, max_concurrency=1, sleep=Waits())
    events = [Event("shop", "T", {"n": n, "secret": SECRET}) for n in range(3)]
    response = {
        "FailedEntryCount": 2,
        "Entries": [
            {"EventId": "id-0"},
            {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "no"},
            {"ErrorCode": "InvalidArgument", "ErrorMessage": "no"},
        ],
    }
    with Stubber(client) as stub:
        stub.add_response("put_events", response, {"Entries": entries_of(events)})
        stub.add_response("put_events", response, {"Entries": entries_of(events)})

        result = publisher.publish(events)
        with pytest.raises(PublishError) as raised:
            publisher.publish(events, raise_on_failure=True)

    with pytest.raises(PublishError) as caught:
        result.raise_for_failures()
    for error in (caught.value, raised.value):
        message = str(error)
        assert message.startswith("2 of 3 events were not published")
        assert "#1 NotAuthorizedForSourceException after 1 attempt" in message
        assert "#2 InvalidArgument after 1 attempt" in message
        assert SECRET not in message and SECRET not in repr(error.failed)
        assert [f.index for f in error.failed] == [1, 2]


def test_exact_entry_shape_and_default_bus_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "arn:aws:events:us-east-1:123456789012:event-bus/orders")
    client = stubbed_client()
    publisher = EventPublisher(client=client)
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    events = [
        Event(
            "shop.orders",
            "OrderPlaced",
            {"order_id": "o-1", "city": "Zürich"},
            resources=["arn:aws:s3:::b"],
            time=when,
            trace_header="Root=1-5759e988-bd862e3fe1be46a994272793",
        ),
        Event("shop.orders", "OrderPlaced", '{"raw":true}', event_bus_name="other"),
    ]
    expected = [
        {
            "Source": "shop.orders",
            "DetailType": "OrderPlaced",
            "Detail": '{"order_id":"o-1","city":"Zürich"}',
            "Resources": ["arn:aws:s3:::b"],
            "Time": when,
            "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793",
            "EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/orders",
        },
        {
            "Source": "shop.orders",
            "DetailType": "OrderPlaced",
            "Detail": '{"raw":true}',
            "EventBusName": "other",
        },
    ]
    with Stubber(client) as stub:
        stub.add_response("put_events", ok(2), {"Entries": expected})
        assert publisher.publish(events).ok
        stub.assert_no_pending_responses()


def test_event_repr_leaves_out_the_detail() -> None:
    assert SECRET not in repr(Event("shop", "T", {"secret": SECRET}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1, got 0"),
        ({"max_concurrency": 0}, "max_concurrency must be at least 1, got 0"),
        ({"max_request_bytes": MAX_REQUEST_BYTES + 1}, "max_request_bytes must be between"),
        ({"base_delay_seconds": -1}, "must not be negative"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventPublisher("orders", client=stubbed_client(), **kwargs)
