"""QueueWorker end to end against a real SQS API (moto server over HTTP).

The queues get the redrive policy the construct synthesizes, a poller plays Lambda's event
source mapping, and the reference handler processes the orders.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from serverless_patterns.runtime.batch import SqsRecord, batch_handler
from serverless_patterns.runtime.handlers import queue_worker
from tests.integration.sqs_poller import SqsPoller, queue_depth, receive_all
from tests.integration.sqs_queues import queue_with_dlq, send_all
from tests.runtime.sqs_events import string_attribute

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

POISON_BODIES = [
    # malformed JSON
    '{"order_id": "poison-0", "quantity": 1',
    "order poison-1 quantity 1",
    '{"order_id": "poison-2", "quantity": 1}}',
    "{'order_id': 'poison-3', 'quantity': 1}",
    '{"order_id": "poison-4", quantity: 1}',
    # valid JSON, not a valid order
    '{"order_id": "poison-5", "quantity": 0}',
    '{"order_id": "poison-6", "quantity": "1"}',
    '{"order_id": "", "quantity": 1, "ref": "poison-7"}',
    '{"quantity": 2, "ref": "poison-8"}',
    '["poison-9", 1]',
]


@pytest.fixture(scope="module")
def max_receive_count() -> int:
    """maxReceiveCount exactly as the QueueWorker construct synthesizes it."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from serverless_patterns.constructs import QueueWorker

    stack = Stack(App(), "QueueWorkerFlow")
    QueueWorker(
        stack,
        "Worker",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        handler="index.handler",
    )
    queues = Template.from_stack(stack).find_resources("AWS::SQS::Queue").values()
    [policy] = [
        q["Properties"]["RedrivePolicy"] for q in queues if "RedrivePolicy" in q["Properties"]
    ]
    count = policy["maxReceiveCount"]
    assert isinstance(count, int)
    assert count >= 5, "at least 5, so a throttled message is not dead-lettered early"
    return count


class CountingWorker:
    """The reference ``handle_record``, plus a log of its calls for the assertions."""

    def __init__(self) -> None:
        self.processed: Counter[str] = Counter()  # order_id -> successful calls
        self.log: list[tuple[str, str, bool]] = []  # (messageId, body, succeeded), call order
        self.records: list[SqsRecord] = []

    def __call__(self, record: SqsRecord) -> None:
        self.records.append(record)
        try:
            queue_worker.handle_record(record)
        except Exception:
            self.log.append((record.message_id, record.body, False))
            raise
        self.log.append((record.message_id, record.body, True))
        self.processed[record.json()["order_id"]] += 1

    def attempts(self, message_id: str) -> int:
        return sum(1 for mid, _, _ in self.log if mid == message_id)


def order_body(order_id: str) -> str:
    return json.dumps({"order_id": order_id, "quantity": 1 + len(order_id) % 5})


def test_standard_queue_processes_good_orders_once_and_dead_letters_poison(
    sqs: SQSClient, max_receive_count: int
) -> None:
    good = {f"order-{n:04d}": order_body(f"order-{n:04d}") for n in range(990)}
    bodies = list(good.values())
    for slot, poison in zip(range(7, 990, 110), POISON_BODIES[:-1], strict=True):
        bodies.insert(slot, poison)  # spread through the stream
    bodies.append(POISON_BODIES[-1])  # and in the last batch
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {
            "Id": f"m{n}",
            "MessageBody": body,
            "MessageAttributes": {
                "source": {"DataType": "String", "StringValue": "integration-test"},
                "trace": {"DataType": "Binary", "BinaryValue": b"\x00\x01trace"},
            },
        }
        for n, body in enumerate(bodies)
    ]
    assert len(entries) == 1000

    with queue_with_dlq(sqs, max_receive_count=max_receive_count, prefix="orders") as (
        queue_url,
        queue_arn,
        dlq_url,
    ):
        worker = CountingWorker()
        poller = SqsPoller(sqs, queue_url, queue_arn, batch_handler(worker))
        # Producers send while the function consumes. Keeping the backlog short also keeps
        # moto fast: its send and receive cost grows with the number of queued messages.
        for start in range(0, len(entries), 20):
            send_all(sqs, queue_url, entries[start : start + 20])
            for _ in range(3):
                poller.poll()

        poller.drain()

        dead = receive_all(sqs, dlq_url)
        assert queue_depth(sqs, queue_url) == 0

    assert worker.processed == Counter(dict.fromkeys(good, 1)), "each good order exactly once"
    assert Counter(m["Body"] for m in dead) == Counter(POISON_BODIES), "DLQ: the poison only"
    for message in dead:  # delivered maxReceiveCount times, then dead-lettered
        mid = message["MessageId"]
        deliveries = [r.receive_count for r in worker.records if r.message_id == mid]
        assert deliveries == list(range(1, max_receive_count + 1))
    first = worker.records[0]
    assert first.message_attributes == {
        "source": string_attribute("integration-test"),
        "trace": {
            "binaryValue": base64.b64encode(b"\x00\x01trace").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert sum(worker.processed.values()) + len(dead) == len(entries), "nothing lost"


def test_fifo_queue_keeps_group_order_around_a_poison_message(
    sqs: SQSClient, max_receive_count: int
) -> None:
    groups = [f"customer-{g}" for g in range(4)]
    poison_group, poison_position = groups[1], 3
    poison_body = json.dumps({"order_id": "customer-1-03", "quantity": 0})
    sent: dict[str, list[str]] = {group: [] for group in groups}  # bodies in send order
    entries: list[SendMessageBatchRequestEntryTypeDef] = []
    for position in range(20):
        for group in groups:  # interleaved, as concurrent customers send them
            order_id = f"{group}-{position:02d}"
            body = order_body(order_id)
            if (group, position) == (poison_group, poison_position):
                body = poison_body
            sent[group].append(body)
            entries.append(
                {
                    "Id": order_id,
                    "MessageBody": body,
                    "MessageGroupId": group,
                    "MessageDeduplicationId": order_id,
                }
            )

    with queue_with_dlq(sqs, max_receive_count=max_receive_count, fifo=True, prefix="orders") as (
        queue_url,
        queue_arn,
        dlq_url,
    ):
        send_all(sqs, queue_url, entries)
        worker = CountingWorker()
        poller = SqsPoller(sqs, queue_url, queue_arn, batch_handler(worker))

        poller.drain()

        dead_bodies = sorted(m["Body"] for m in receive_all(sqs, dlq_url))
        assert queue_depth(sqs, queue_url) == 0

    [poison_id] = {mid for mid, body, _ in worker.log if body == poison_body}
    assert worker.attempts(poison_id) == max_receive_count

    # Followers delivered in the poison's first batch were reported failed with it every time,
    # so they reach maxReceiveCount together and SQS dead-letters them too (AWS warns that a
    # DLQ can break FIFO order); later followers are processed once the poison is gone.
    followers = sent[poison_group][poison_position + 1 :]
    first_batch = next(b for b in poller.batches if poison_id in {m["MessageId"] for m in b})
    sharing = [m["Body"] for m in first_batch if m["Body"] in followers]
    assert sharing == followers[: len(sharing)]
    assert dead_bodies == sorted([poison_body, *sharing])

    succeeded = [body for _, body, ok in worker.log if ok]
    for group in groups:
        in_group = set(sent[group])
        expected = [body for body in sent[group] if body not in dead_bodies]
        assert [b for b in succeeded if b in in_group] == expected, f"{group}: order or count"
    assert len(succeeded) + len(dead_bodies) == len(entries), "nothing lost"

    # No follower overtakes the poison: none is even attempted before its last attempt.
    last_poison_call = max(i for i, (mid, _, _) in enumerate(worker.log) if mid == poison_id)
    follower_calls = [i for i, (_, body, _) in enumerate(worker.log) if body in followers]
    assert follower_calls, "the group resumes after the poison is dead-lettered"
    assert min(follower_calls) > last_poison_call
