"""SQS queues for tests, on the moto server: a queue with a dead-letter queue, batched sends."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


@contextmanager
def queue_with_dlq(
    sqs: SQSClient,
    *,
    max_receive_count: int,
    visibility_timeout: int = 180,
    fifo: bool = False,
    prefix: str = "queue",
) -> Iterator[tuple[str, str, str]]:
    """(queue URL, queue ARN, DLQ URL) of a fresh queue whose messages move to its new
    dead-letter queue after ``max_receive_count`` receives, as QueueWorker's do; both queues
    are deleted afterwards."""
    suffix = ".fifo" if fifo else ""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    fifo_attributes: dict[QueueAttributeNameType, str] = {"FifoQueue": "true"} if fifo else {}

    def create(queue_name: str, attributes: dict[QueueAttributeNameType, str]) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    dlq_url, dlq_arn = create(f"{name}-dlq{suffix}", {**fifo_attributes})
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
    queue_url, queue_arn = create(
        f"{name}{suffix}",
        {
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(redrive),
            **fifo_attributes,
        },
    )
    try:
        yield queue_url, queue_arn, dlq_url
    finally:
        sqs.delete_queue(QueueUrl=queue_url)
        sqs.delete_queue(QueueUrl=dlq_url)


def send_all(
    sqs: SQSClient, queue_url: str, entries: Sequence[SendMessageBatchRequestEntryTypeDef]
) -> None:
    """Sends ``entries`` ten to a SendMessageBatch call; every one must be accepted."""
    for start in range(0, len(entries), 10):
        chunk = list(entries[start : start + 10])
        result = sqs.send_message_batch(QueueUrl=queue_url, Entries=chunk)
        assert len(result["Successful"]) == len(chunk), result.get("Failed")


def message_entries(bodies: Sequence[str]) -> list[SendMessageBatchRequestEntryTypeDef]:
    """One send entry per body, with ids unique among them."""
    return [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
