"""Idempotent stream processing: the stream processor with the idempotency runtime.

::

    from serverless_patterns.runtime.streams import idempotent_stream_handler

    handler = idempotent_stream_handler(handle_record)   # keyed on each record's event id

A stream redelivers records after a retry from the checkpoint, a bisected batch, or a
re-sharding; with a key per record (by default the event id: shard and sequence number for
Kinesis, the stream record id for DynamoDB) each record's effects happen once within the
expiry window. Locks for the whole batch are taken together and each completion is written
as soon as its record finishes (``runtime.idempotency.IdempotentBatch``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from serverless_patterns.runtime.idempotency.session import (
    IdempotentBatch,
    Keyed,
    remaining_time_of,
)
from serverless_patterns.runtime.idempotency.sqs_batch import default_namespace
from serverless_patterns.runtime.idempotency.store import DynamoDBStore
from serverless_patterns.runtime.streams.processor import (
    StreamBatchResponse,
    process_stream_records,
)
from serverless_patterns.runtime.streams.records import StreamRecord, stream_records

__all__ = ["idempotent_stream_handler"]


def _event_id(record: StreamRecord) -> str:
    return record.event_id


def idempotent_stream_handler(
    handle_record: Callable[[StreamRecord], Any],
    *,
    key: Callable[[StreamRecord], Any] | None = None,
    payload_validation: Callable[[StreamRecord], Any] | None = None,
    store: DynamoDBStore | None = None,
    namespace: str | None = None,
) -> Callable[[Mapping[str, Any], Any], StreamBatchResponse]:
    """Turns a per-record function into an idempotent, checkpointing stream handler.

    The response is ``process_stream_batch``'s: the first record that fails (its work raised,
    its duplicate is still in progress elsewhere, its key cannot be read) is the checkpoint and
    the records after it do not run; their locks are released. A completed duplicate is skipped.

    :param key: what identifies a record. Default: - its event id.
    :param payload_validation: the part that must match for a duplicate to count as one.
        Default: - no validation.
    :param store: the record store. Default: - ``DynamoDBStore()`` from the environment,
        created on the first invocation.
    :param namespace: prefix of every key. Default: - ``default_namespace(handle_record)``.
    """
    select_key = key or _event_id
    prefix = namespace or default_namespace(handle_record)
    stores: list[DynamoDBStore] = [store] if store is not None else []

    def handler(event: Mapping[str, Any], context: Any) -> StreamBatchResponse:
        if not stores:
            stores.append(DynamoDBStore())
        records = stream_records(event)
        keyed = [
            Keyed.of(r, r.sequence_number, prefix, select_key, payload_validation) for r in records
        ]
        index_of = {id(record): index for index, record in enumerate(records)}
        with IdempotentBatch(stores[0], keyed, remaining_time_of(context)) as batch:
            return process_stream_records(
                records,
                lambda record: batch.run(index_of[id(record)], lambda: handle_record(record)),
            )

    return handler
