"""EventBridge buses for tests, created on the moto server: a bus whose rules feed SQS queues."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from serverless_patterns.runtime.events.envelope import EventEnvelope
from tests.integration.sqs_poller import receive_all

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class QueueTarget:
    """A queue a rule delivers to."""

    rule_name: str
    queue_url: str
    queue_arn: str


@dataclass(frozen=True)
class FanOut:
    """A custom bus and, per rule, the queue it delivers the bus's events of ``source`` to."""

    bus_name: str
    bus_arn: str
    source: str
    targets: tuple[QueueTarget, ...]


def create_fan_out(
    events: EventBridgeClient, sqs: SQSClient, *, queues: int = 2, source: str | None = None
) -> FanOut:
    """A new bus with ``queues`` rules, each matching ``source`` and delivering to a new queue.

    One rule per queue rather than one rule with several targets: moto rewrites the event's
    ``time`` in place when it delivers to a queue, so a second queue target of the same rule
    would receive a broken event.
    """
    suffix = uuid.uuid4().hex[:10]
    bus_name = f"bus-{suffix}"
    bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
    source = source or f"test.{suffix}"
    targets = []
    for number in range(queues):
        queue_url = sqs.create_queue(QueueName=f"events-{suffix}-{number}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        rule_name = f"to-queue-{number}"
        events.put_rule(
            Name=rule_name,
            EventBusName=bus_name,
            EventPattern=json.dumps({"source": [source]}),
        )
        events.put_targets(
            Rule=rule_name,
            EventBusName=bus_name,
            Targets=[{"Id": f"queue-{number}", "Arn": queue_arn}],
        )
        targets.append(QueueTarget(rule_name, queue_url, queue_arn))
    return FanOut(bus_name, bus_arn, source, tuple(targets))


def received_events(sqs: SQSClient, queue_url: str) -> list[EventEnvelope]:
    """Every event a queue holds, parsed from the message bodies (each message received once)."""
    return [EventEnvelope.from_event(json.loads(m["Body"])) for m in receive_all(sqs, queue_url)]


def drain_events(sqs: SQSClient, queue_url: str) -> list[EventEnvelope]:
    """Receives and deletes every message of a queue; the events, in the order received.

    A message received twice (made visible again, or sent twice) appears twice.
    """
    events: list[EventEnvelope] = []
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
    ).get("Messages", []):
        events.extend(EventEnvelope.from_event(json.loads(m["Body"])) for m in messages)
        result = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
        assert not result.get("Failed"), result.get("Failed")
    return events


def ids_of(envelopes: Sequence[EventEnvelope]) -> list[str]:
    """The event ids, in order."""
    return [envelope.id for envelope in envelopes]
