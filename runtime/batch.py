"""Partial batch responses for SQS-triggered Lambda functions.

Use with an event source mapping that has ``ReportBatchItemFailures`` on (QueueWorker does)::

    from serverless_patterns.runtime.batch import SqsRecord, batch_handler

    def handle_record(record: SqsRecord) -> None:
        order = record.json()
        ...

    handler = batch_handler(handle_record)

A record whose handler raises fails only itself: Lambda returns just that message to the
queue, and SQS moves it to the dead-letter queue after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from serverless_patterns.runtime.json_input import MalformedJson, parse_json

__all__ = [
    "BatchItemFailure",
    "BatchResponse",
    "LambdaHandler",
    "MalformedRecordError",
    "MissingMessageIdError",
    "RecordHandler",
    "SqsRecord",
    "batch_handler",
    "process_records",
    "process_sqs_batch",
    "sqs_records",
]

logger = logging.getLogger(__name__)


class BatchItemFailure(TypedDict):
    """One failed record, named by its SQS message id."""

    itemIdentifier: str


class BatchResponse(TypedDict):
    """The partial batch response Lambda expects from an SQS-triggered function."""

    batchItemFailures: list[BatchItemFailure]


class MalformedRecordError(ValueError):
    """A record's body cannot be parsed. The message names the messageId, never the body."""


class MissingMessageIdError(ValueError):
    """A record has no messageId, so a partial batch response cannot name it."""


class SqsRecord:
    """Read-only view of one record of a Lambda SQS event; ``raw`` is the record itself."""

    __slots__ = (
        "attributes",
        "body",
        "message_attributes",
        "message_group_id",
        "message_id",
        "raw",
    )

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: Mapping[str, Any] = raw
        self.message_id: str = raw.get("messageId") or ""
        self.body: str = raw.get("body") or ""
        self.attributes: Mapping[str, str] = raw.get("attributes") or {}
        self.message_attributes: Mapping[str, Any] = raw.get("messageAttributes") or {}
        # None for standard queues: only FIFO records carry a MessageGroupId.
        self.message_group_id: str | None = self.attributes.get("MessageGroupId")

    @property
    def receive_count(self) -> int:
        """How often SQS has delivered this message (1 when the attribute is absent)."""
        return int(self.attributes.get("ApproximateReceiveCount", 1))

    @property
    def is_fifo(self) -> bool:
        """True when the record comes from a FIFO queue."""
        arn = self.raw.get("eventSourceARN") or ""
        return self.message_group_id is not None or arn.endswith(".fifo")

    def json(self) -> Any:
        """Parse the body as JSON; raise MalformedRecordError if it is not JSON this runtime can
        parse (``runtime.json_input``: a syntax error, an integer over Python's digit limit,
        nesting too deep)."""
        try:
            return parse_json(self.body)
        except MalformedJson as exc:
            # The reason never contains the body; `from None` keeps it out of tracebacks.
            raise MalformedRecordError(
                f"Record {self.message_id}: body is not valid JSON ({exc})"
            ) from None

    def __repr__(self) -> str:
        return f"SqsRecord(message_id={self.message_id!r})"


RecordHandler = Callable[[SqsRecord], object]
"""Processes one record; raising fails that record. The return value is ignored."""

LambdaHandler = Callable[[Mapping[str, Any], Any], BatchResponse]


def sqs_records(event: Mapping[str, Any]) -> list[SqsRecord]:
    """The records of a Lambda SQS event, in order; none for an empty batch.

    Raises MissingMessageIdError if a record has no messageId: Lambda treats an empty
    ``itemIdentifier`` as a failure of the whole batch, so raising gives the same retry and
    says why, while skipping the record would delete it unprocessed.
    """
    records: list[SqsRecord] = []
    for index, raw in enumerate(event.get("Records") or ()):
        message_id = raw.get("messageId") if isinstance(raw, Mapping) else None
        if not isinstance(message_id, str) or not message_id:
            raise MissingMessageIdError(
                f"Record {index} of the batch has no messageId; failing the whole batch so "
                "Lambda retries it"
            )
        records.append(SqsRecord(raw))
    return records


def process_records(records: Iterable[SqsRecord], handle_record: RecordHandler) -> BatchResponse:
    """Call ``handle_record`` for each record in order; return the failed ones.

    The loop behind ``process_sqs_batch``, for callers that prepare the records first.
    """
    failures: list[BatchItemFailure] = []
    # FIFO records without a MessageGroupId (never sent by SQS) share the group None.
    failed_groups: set[str | None] = set()
    for record in records:
        fifo = record.is_fifo
        if fifo and record.message_group_id in failed_groups:
            logger.warning(
                "Record %s not processed: an earlier record of its message group failed",
                record.message_id,
                extra={"messageId": record.message_id},
            )
            failures.append({"itemIdentifier": record.message_id})
            continue
        try:
            handle_record(record)
        except Exception as exc:
            logger.exception(
                "Record %s failed with %s",
                record.message_id,
                type(exc).__name__,
                extra={"messageId": record.message_id, "errorType": type(exc).__name__},
            )
            failures.append({"itemIdentifier": record.message_id})
            if fifo:
                failed_groups.add(record.message_group_id)
    return {"batchItemFailures": failures}


def process_sqs_batch(event: Mapping[str, Any], handle_record: RecordHandler) -> BatchResponse:
    """Call ``handle_record`` for each record in order; return the failed ones.

    A record whose handler raises any Exception fails only itself and is logged with its
    messageId, exception type and traceback, never its body (so keep bodies out of your own
    exception messages too). In a FIFO batch, once a record of a message
    group fails, the group's remaining records are reported failed without being processed,
    so the group is retried in order; other groups carry on. An empty batch, or an event
    without ``Records``, returns no failures.

    Raises MissingMessageIdError, before any record is processed, if a record has no
    messageId (see ``sqs_records``).
    """
    return process_records(sqs_records(event), handle_record)


def batch_handler(handle_record: RecordHandler) -> LambdaHandler:
    """Turn a per-record function into a Lambda handler returning a partial batch response."""

    def handler(event: Mapping[str, Any], context: Any) -> BatchResponse:
        return process_sqs_batch(event, handle_record)

    return handler
