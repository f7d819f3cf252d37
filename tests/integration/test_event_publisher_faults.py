"""The publisher under injected PutEvents failures, over HTTP through a proxy in front of moto.

The proxy (``put_events_proxy.py``) fails whole calls (throttling, 5xx, access denied) and single
entries (``ThrottlingException`` / ``InternalFailure`` for a few attempts, or for good, and a
permanent ``MalformedDetail``), never publishing what it fails. Its log of every request shows
what was resent; the queue behind the bus shows what was published.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from serverless_patterns.runtime.events.publisher import Event, EventPublisher, PublishError
from tests.integration.event_buses import FanOut, create_fan_out, drain_events
from tests.integration.put_events_proxy import CallError, PutEventsProxy, put_events_proxy
from tests.moto_fixtures import AWS_REGION

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

MAX_ATTEMPTS = 5
EVENTS = 100


def number(entry: dict[str, Any]) -> int:
    n: int = json.loads(entry["Detail"])["n"]
    return n


class Faults:
    """The plan: whole calls fail by the first entry they carry, entries by their ``n`` and by
    how many calls (not failed as a whole) carried them so far."""

    def __init__(
        self,
        whole_call: dict[int, CallError],
        entry_codes: Callable[[int, int], str | None],
        *,
        whole_call_every_time: bool = False,
    ) -> None:
        self.whole_call = whole_call
        self.entry_codes = entry_codes
        self.whole_call_every_time = whole_call_every_time
        self.failed_calls: set[int] = set()
        self.attempts: Counter[int] = Counter()
        self._lock = threading.Lock()

    def __call__(self, entries: list[dict[str, Any]]) -> CallError | Sequence[str | None]:
        numbers = [number(entry) for entry in entries]
        with self._lock:
            first = numbers[0]
            if first in self.whole_call and (
                self.whole_call_every_time or first not in self.failed_calls
            ):
                self.failed_calls.add(first)
                return self.whole_call[first]
            codes = []
            for n in numbers:
                self.attempts[n] += 1
                codes.append(self.entry_codes(n, self.attempts[n]))
            return codes


def outcomes_by_entry(proxy: PutEventsProxy) -> dict[int, list[str]]:
    """Per entry ``n``, what each call that carried it reported, in order."""
    seen: dict[int, list[str]] = defaultdict(list)
    for call in proxy.calls:
        for entry, outcome in zip(call.entries, call.outcomes, strict=True):
            seen[number(entry)].append(outcome)
    return dict(seen)


@pytest.fixture
def fan_out(aws_client: Callable[[str], Any]) -> FanOut:
    return create_fan_out(aws_client("events"), aws_client("sqs"), queues=1)


def publisher_through(proxy: PutEventsProxy, fan_out: FanOut) -> EventPublisher:
    """A publisher whose client talks to the proxy, without botocore retries of its own."""
    client: EventBridgeClient = boto3.client(
        "events",
        endpoint_url=proxy.url,
        region_name=AWS_REGION,
        config=Config(retries={"total_max_attempts": 1}),
    )
    return EventPublisher(
        fan_out.bus_name,
        client=client,
        max_attempts=MAX_ATTEMPTS,
        base_delay_seconds=0.001,
        max_delay_seconds=0.005,
        max_concurrency=4,
    )


def events_for(fan_out: FanOut, count: int) -> list[Event]:
    return [Event(fan_out.source, "OrderPlaced", {"n": n}) for n in range(count)]


def test_only_failed_entries_are_resent_and_permanent_failures_are_reported(
    moto_endpoint: str, fan_out: FanOut, sqs: Any
) -> None:
    def entry_codes(n: int, attempt: int) -> str | None:
        if n == 42:
            return "InternalFailure"  # transient by its code, but never recovers
        if n == 58:
            return "MalformedDetail"  # permanent: never resent
        if n % 10 == 3 and attempt == 1:
            return "ThrottlingException"
        if n % 10 == 7 and attempt <= 2:
            return "InternalFailure"
        return None

    faults = Faults(
        {
            0: CallError(400, "ThrottlingException", "Rate exceeded"),
            40: CallError(400, "ThrottlingException", "Rate exceeded"),
            80: CallError(500, "InternalFailure", "Internal error"),
        },
        entry_codes,
    )
    with put_events_proxy(moto_endpoint, faults) as proxy:
        result = publisher_through(proxy, fan_out).publish(events_for(fan_out, EVENTS))

    # what finally failed, by index, with its code and attempts
    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (42, "InternalFailure", MAX_ATTEMPTS),
        (58, "MalformedDetail", 1),
    ]
    with pytest.raises(PublishError, match=r"^2 of 100 events were not published: #42 .*#58 "):
        result.raise_for_failures()

    # every entry's history as the proxy saw it: resent only after a failure, never after
    # "ok", and a permanent error ends it
    whole_call_code = {0: "ThrottlingException", 40: "ThrottlingException", 80: "InternalFailure"}
    history = outcomes_by_entry(proxy)
    assert set(history) == set(range(EVENTS))
    for n in range(EVENTS):
        expected = [whole_call_code[n // 10 * 10]] if n // 10 * 10 in whole_call_code else []
        if n == 42:
            expected += ["InternalFailure"] * (MAX_ATTEMPTS - len(expected))
        elif n == 58:
            expected += ["MalformedDetail"]
        elif n % 10 == 3:
            expected += ["ThrottlingException", "ok"]
        elif n % 10 == 7:
            expected += ["InternalFailure", "InternalFailure", "ok"]
        else:
            expected += ["ok"]
        assert history[n] == expected, f"entry {n}"

    # every call: at most 10 entries, in the caller's order; the resends hold only failures
    assert all(len(call.entries) <= 10 for call in proxy.calls)
    assert all(
        [number(e) for e in call.entries] == sorted(number(e) for e in call.entries)
        for call in proxy.calls
    )
    assert result.calls == len(proxy.calls)

    # published exactly once, and the ids map to the caller's entries
    delivered = drain_events(sqs, fan_out.targets[0].queue_url)
    counts = Counter(e.detail["n"] for e in delivered)
    assert counts == Counter({n: 1 for n in range(EVENTS) if n not in (42, 58)})
    assert all(result.event_ids[e.detail["n"]] == e.id for e in delivered)
    assert result.event_ids[42] is None and result.event_ids[58] is None


def test_a_permanent_whole_call_error_is_reported_without_a_resend(
    moto_endpoint: str, fan_out: FanOut, sqs: Any
) -> None:
    faults = Faults({10: CallError(400, "AccessDeniedException", "no")}, lambda n, a: None)
    with put_events_proxy(moto_endpoint, faults) as proxy:
        result = publisher_through(proxy, fan_out).publish(events_for(fan_out, 30))

    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (n, "AccessDeniedException", 1) for n in range(10, 20)
    ]
    assert result.calls == len(proxy.calls) == 3
    delivered = drain_events(sqs, fan_out.targets[0].queue_url)
    assert sorted(e.detail["n"] for e in delivered) == [*range(10), *range(20, 30)]


def test_throttling_that_never_ends_is_reported_after_max_attempts(
    moto_endpoint: str, fan_out: FanOut, sqs: Any
) -> None:
    faults = Faults(
        {0: CallError(400, "ThrottlingException", "Rate exceeded")},
        lambda n, a: None,
        whole_call_every_time=True,
    )
    with put_events_proxy(moto_endpoint, faults) as proxy:
        result = publisher_through(proxy, fan_out).publish(events_for(fan_out, 15))

    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (n, "ThrottlingException", MAX_ATTEMPTS) for n in range(10)
    ]
    history = outcomes_by_entry(proxy)
    assert all(history[n] == ["ThrottlingException"] * MAX_ATTEMPTS for n in range(10))
    assert all(history[n] == ["ok"] for n in range(10, 15))
    delivered = drain_events(sqs, fan_out.targets[0].queue_url)
    assert sorted(e.detail["n"] for e in delivered) == list(range(10, 15))
