"""Plays the Lambda SQS event source mapping (with ReportBatchItemFailures) against an SQS API.

Each poll receives up to 10 messages, invokes the handler with the event Lambda would build,
deletes the records not reported in ``batchItemFailures`` and makes the failed ones visible
again after ``retry_delay_seconds`` (by default at once: their visibility timeout "expires"),
so SQS redelivers them and, after ``maxReceiveCount`` receives, moves them to the dead-letter
queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.runtime.sqs_events import record_from_message, sqs_event

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import MessageTypeDef

LambdaHandler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]


def _no_context() -> None:
    return None


def queue_depth(sqs: SQSClient, queue_url: str) -> int:
    """Visible, in-flight and delayed messages of a queue."""
    names: list[QueueAttributeNameType] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def receive_all(sqs: SQSClient, queue_url: str) -> list[MessageTypeDef]:
    """Every message of a queue that nothing else consumes (each received once)."""
    messages: list[MessageTypeDef] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=300,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["All"],
    ).get("Messages", []):
        messages.extend(batch)
    return messages


@dataclass
class SqsPoller:
    """One event source mapping: a queue, its ARN and the function's handler."""

    sqs: SQSClient
    queue_url: str
    queue_arn: str
    handler: LambdaHandler
    retry_delay_seconds: int = 0
    """How long a failed record stays invisible before SQS redelivers it. Default: 0 s."""
    context: Callable[[], Any] = _no_context
    """Makes the Lambda context passed with each batch. Default: ``None``."""
    batches: list[list[MessageTypeDef]] = field(default_factory=list)
    """The received messages of every batch delivered to the handler, in order."""
    failures: list[str] = field(default_factory=list)
    """The message ids the handler reported as failed, batch after batch."""

    def poll(self) -> int:
        """Deliver one batch; return how many messages it held."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(record_from_message(m, queue_arn=self.queue_arn) for m in messages)
        self.batches.append(messages)

        response = self.handler(event, self.context())

        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        assert failed <= {m["MessageId"] for m in messages}, "unknown itemIdentifier"
        self.failures.extend(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        if done:
            result = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
            assert not result.get("Failed"), result.get("Failed")
        if retry:
            result = self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay_seconds,
                    }
                    for i, m in enumerate(retry)
                ],
            )
            assert not result.get("Failed"), result.get("Failed")
        return len(messages)

    def drain(self, max_polls: int = 10_000) -> None:
        """Poll until the queue holds nothing: two empty receives in a row and a depth of 0."""
        empty_receives = 0
        for _ in range(max_polls):
            if self.poll():
                empty_receives = 0
                continue
            empty_receives += 1
            if empty_receives >= 2 and queue_depth(self.sqs, self.queue_url) == 0:
                return
            time.sleep(0.002)  # a message made visible "now" becomes receivable a moment later
        raise AssertionError(f"queue not drained after {max_polls} polls")
