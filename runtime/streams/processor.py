"""Checkpointed processing of Kinesis and DynamoDB Streams batches (partial batch responses).

Use with an event source mapping that has ``ReportBatchItemFailures`` on (StreamConsumer does)::

    from serverless_patterns.runtime.streams import KinesisRecord, stream_batch_handler

    def handle_record(record: KinesisRecord) -> None:
        order = record.json()
        ...

    handler = stream_batch_handler(handle_record)

Records run in order. The first record whose handler raises is reported by its sequence number
and the records after it are not run: Lambda checkpoints before that record and re-invokes from
it ("Configuring partial batch response with Kinesis Data Streams and Lambda": with several
items Lambda uses the lowest sequence number as the checkpoint), so the shard's order holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from serverless_patterns.runtime.streams.records import StreamRecord, stream_records

__all__ = [
    "StreamBatchResponse",
    "StreamRecordHandler",
    "process_stream_batch",
    "process_stream_records",
    "stream_batch_handler",
]

logger = logging.getLogger(__name__)


class _ItemFailure(TypedDict):
    itemIdentifier: str


class StreamBatchResponse(TypedDict):
    """The partial batch response of a stream function: at most one item, the checkpoint."""

    batchItemFailures: list[_ItemFailure]


StreamRecordHandler = Callable[[StreamRecord], object]
"""Processes one record; raising fails it and stops the batch there."""


def process_stream_records(
    records: Iterable[StreamRecord], handle_record: StreamRecordHandler
) -> StreamBatchResponse:
    """Call ``handle_record`` for each record in order until one raises; report that one."""
    for record in records:
        try:
            handle_record(record)
        except Exception as exc:
            logger.exception(
                "Record %s failed with %s; the records after it are left for the retry",
                record.sequence_number,
                type(exc).__name__,
                extra={"sequenceNumber": record.sequence_number, "errorType": type(exc).__name__},
            )
            return {"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}
    return {"batchItemFailures": []}


def process_stream_batch(
    event: Mapping[str, Any], handle_record: StreamRecordHandler
) -> StreamBatchResponse:
    """Process a Kinesis or DynamoDB Streams event in order; stop at the first failure.

    A failing record is logged with its sequence number, exception type and traceback, never
    its payload. An empty batch returns no failures. Raises MissingSequenceNumberError, before
    any record runs, if a record has no sequence number.
    """
    return process_stream_records(stream_records(event), handle_record)


def stream_batch_handler(
    handle_record: StreamRecordHandler,
) -> Callable[[Mapping[str, Any], Any], StreamBatchResponse]:
    """Turn a per-record function into a stream handler returning the checkpoint."""

    def handler(event: Mapping[str, Any], context: Any) -> StreamBatchResponse:
        return process_stream_batch(event, handle_record)

    return handler
