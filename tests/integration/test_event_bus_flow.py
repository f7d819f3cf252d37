"""EventBusFanOut end to end on the moto server: publish through the helper, fan out to two
queues, consume the buffered copies with the envelope and idempotency keyed by the event id.

Moto's EventBridge delivers each event to the SQS targets of the rules it matches, so the
queues hold exactly what a real bus would have delivered once. Redelivery is then played the
two ways it happens: EventBridge delivering the same event twice (a second message with the same
body, so the same event id), and a consumer that did the work but whose delete was lost (the
message becomes visible again).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from serverless_patterns.runtime.events.envelope import (
    EventEnvelope,
    event_batch_handler,
    event_handler,
)
from serverless_patterns.runtime.events.publisher import Event, EventPublisher
from serverless_patterns.runtime.idempotency import DynamoDBStore
from tests.integration.event_buses import FanOut, create_fan_out, drain_events, ids_of
from tests.integration.sqs_poller import SqsPoller, queue_depth, receive_all
from tests.runtime.sqs_events import record_from_message, sqs_event

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

EVENTS = 1_000
ROUNDS = 10
CONSUMED_EVENTS = 200


@pytest.fixture
def events_client(aws_client: Callable[[str], Any]) -> EventBridgeClient:
    client: EventBridgeClient = aws_client("events")
    return client


@pytest.fixture
def fan_out(events_client: EventBridgeClient, sqs: SQSClient) -> FanOut:
    return create_fan_out(events_client, sqs, queues=2)


def order_events(fan_out: FanOut, count: int) -> list[Event]:
    return [
        Event(fan_out.source, "OrderPlaced", {"n": n, "order_id": f"o-{n}"}) for n in range(count)
    ]


def test_every_event_reaches_both_queues_exactly_once(
    fan_out: FanOut, events_client: EventBridgeClient, sqs: SQSClient
) -> None:
    """1,000 events, published in ten ``publish`` calls of 100 (100 PutEvents calls): moto's
    SQS spends time proportional to a queue's length on every message it adds, so each round's
    deliveries are drained (received and deleted) before the next."""
    publisher = EventPublisher(fan_out.bus_arn, client=events_client)
    events = order_events(fan_out, EVENTS)
    published: list[str | None] = []
    delivered: dict[str, list[EventEnvelope]] = {t.rule_name: [] for t in fan_out.targets}
    calls = 0

    for start in range(0, EVENTS, EVENTS // ROUNDS):
        result = publisher.publish(events[start : start + EVENTS // ROUNDS])
        result.raise_for_failures()
        published += result.event_ids
        calls += result.calls
        for target in fan_out.targets:
            delivered[target.rule_name] += drain_events(sqs, target.queue_url)

    assert calls == EVENTS // 10
    assert len(set(published)) == EVENTS and None not in published
    for target in fan_out.targets:
        received = delivered[target.rule_name]
        counts = Counter(ids_of(received))
        assert [i for i, c in counts.items() if c > 1] == [], f"{target.rule_name}: duplicates"
        assert set(counts) == set(published), f"{target.rule_name}: missing or unknown events"
        assert len(received) == EVENTS
        # event_ids[i] is the id of the caller's entry i
        assert all(published[e.detail["n"]] == e.id for e in received)
        assert all(e.source == fan_out.source and e.detail_type == "OrderPlaced" for e in received)
        assert queue_depth(sqs, target.queue_url) == 0


def never(n: int) -> bool:
    return False


@dataclass
class Consumer:
    """``handle_event`` of a consumer; fails the first attempt of the events ``fail_first``
    picks (by the ``n`` of their detail)."""

    fail_first: Callable[[int], bool] = never
    failed_first: set[str] = field(default_factory=set)
    attempts: Counter[str] = field(default_factory=Counter)
    processed: Counter[str] = field(default_factory=Counter)

    def __call__(self, event: EventEnvelope) -> dict[str, Any]:
        self.attempts[event.id] += 1
        if self.attempts[event.id] == 1 and self.fail_first(event.detail["n"]):
            self.failed_first.add(event.id)
            raise RuntimeError("downstream unavailable")
        self.processed[event.id] += 1  # the side effect that must happen once per event
        return {"order_id": event.detail["order_id"]}


@dataclass
class Redelivery:
    event_ids: list[str]
    duplicated: set[str]
    unacknowledged: set[str]
    deliveries: Counter[str]


def consume_with_redeliveries(
    fan_out: FanOut,
    events_client: EventBridgeClient,
    sqs: SQSClient,
    consumer: Consumer,
    handler: Callable[[Any, Any], Any],
) -> Redelivery:
    """Publishes the events, duplicates some messages, loses the acknowledgement of the first
    batches, then drains the queue with ``handler`` as Lambda's event source mapping would."""
    target = fan_out.targets[0]
    result = EventPublisher(fan_out.bus_name, client=events_client).publish(
        order_events(fan_out, CONSUMED_EVENTS)
    )
    event_ids = [event_id for event_id in result.raise_for_failures().event_ids if event_id]

    # EventBridge delivers at least once: a second copy of every 5th event (same event id).
    messages = receive_all(sqs, target.queue_url)
    assert len(messages) == CONSUMED_EVENTS
    duplicated = set()
    for message in messages:
        event_id = json.loads(message["Body"])["id"]
        if event_ids.index(event_id) % 5 == 0:
            sqs.send_message(QueueUrl=target.queue_url, MessageBody=message["Body"])
            duplicated.add(event_id)
        sqs.change_message_visibility(
            QueueUrl=target.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    # The first three batches are processed, but their deletes are lost: they come back.
    deliveries: Counter[str] = Counter()
    unacknowledged: set[str] = set()
    in_flight: list[str] = []
    for _ in range(3):
        batch = sqs.receive_message(
            QueueUrl=target.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=300,
            MessageSystemAttributeNames=["All"],
        )["Messages"]
        records = [record_from_message(m, queue_arn=target.queue_arn) for m in batch]
        response = handler(sqs_event(records), None)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for message in batch:
            event_id = json.loads(message["Body"])["id"]
            deliveries[event_id] += 1
            if message["MessageId"] not in failed:
                unacknowledged.add(event_id)
            in_flight.append(message["ReceiptHandle"])
    for receipt_handle in in_flight:  # the "timeout": visible again, not deleted
        sqs.change_message_visibility(
            QueueUrl=target.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
        )

    poller = SqsPoller(sqs, target.queue_url, target.queue_arn, handler)
    poller.drain()
    for batch in poller.batches:
        deliveries.update(json.loads(message["Body"])["id"] for message in batch)
    assert queue_depth(sqs, target.queue_url) == 0
    return Redelivery(event_ids, duplicated, unacknowledged, deliveries)


def test_buffered_consumer_processes_redelivered_copies_once(
    fan_out: FanOut, events_client: EventBridgeClient, sqs: SQSClient, idempotency_table: str
) -> None:
    consumer = Consumer(fail_first=lambda n: n % 7 == 3)
    handler = event_batch_handler(consumer, store=DynamoDBStore(idempotency_table))

    run = consume_with_redeliveries(fan_out, events_client, sqs, consumer, handler)

    # the scenario really redelivered: copies, lost acknowledgements and failed first attempts
    assert len(run.duplicated) == CONSUMED_EVENTS // 5
    assert all(run.deliveries[event_id] >= 2 for event_id in run.duplicated)
    assert len(run.unacknowledged) >= 15
    assert all(run.deliveries[event_id] >= 2 for event_id in run.unacknowledged)
    assert len(consumer.failed_first) == len([n for n in range(CONSUMED_EVENTS) if n % 7 == 3])
    assert all(consumer.attempts[event_id] == 2 for event_id in consumer.failed_first)
    # ... and every event's side effect happened exactly once
    assert consumer.processed == Counter(dict.fromkeys(run.event_ids, 1))
    redelivered_and_skipped = {
        event_id
        for event_id in run.duplicated | run.unacknowledged
        if event_id not in consumer.failed_first
    }
    assert all(consumer.attempts[event_id] == 1 for event_id in redelivered_and_skipped)


def test_without_idempotency_the_same_redeliveries_run_twice(
    fan_out: FanOut, events_client: EventBridgeClient, sqs: SQSClient
) -> None:
    """The control: the scenario above does produce duplicates the idempotency must absorb."""
    consumer = Consumer()
    handler = event_batch_handler(consumer, idempotent=False)

    run = consume_with_redeliveries(fan_out, events_client, sqs, consumer, handler)

    assert set(consumer.processed) == set(run.event_ids)
    twice = {event_id for event_id, count in consumer.processed.items() if count > 1}
    assert twice == run.duplicated | run.unacknowledged
    assert all(consumer.processed[e] == run.deliveries[e] for e in run.event_ids)


def test_direct_consumer_runs_once_per_event_id(
    fan_out: FanOut, events_client: EventBridgeClient, sqs: SQSClient, idempotency_table: str
) -> None:
    EventPublisher(fan_out.bus_name, client=events_client).publish(
        order_events(fan_out, 5)
    ).raise_for_failures()
    # the events exactly as a rule delivered them (here, to the second queue)
    events = [json.loads(m["Body"]) for m in receive_all(sqs, fan_out.targets[1].queue_url)]
    consumer = Consumer(fail_first=lambda n: n == events[0]["detail"]["n"])
    handler = event_handler(consumer, store=DynamoDBStore(idempotency_table))

    with pytest.raises(RuntimeError, match="downstream unavailable"):
        handler(events[0], None)  # the failure releases the lock; EventBridge retries
    first = [handler(event, None) for event in events]
    again = [handler(event, None) for event in events]  # redelivered: stored results

    assert first == again == [{"order_id": event["detail"]["order_id"]} for event in events]
    assert consumer.processed == Counter({event["id"]: 1 for event in events})
    assert consumer.attempts[events[0]["id"]] == 2
