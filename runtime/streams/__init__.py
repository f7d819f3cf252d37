"""Kinesis and DynamoDB Streams processing for Lambda (pattern 7, StreamConsumer).

- ``stream_batch_handler(handle_record)``: records in order, the first failure is the
  checkpoint (``batchItemFailures`` names its sequence number) and nothing after it runs.
- ``idempotent_stream_handler(handle_record)``: the same, each record's effects once (keyed on
  the event id by default), with the idempotency runtime.
- ``tumbling_window_handler(aggregate)``: state carried between a window's invocations (1 MB
  checked), the final aggregate written once per shard and window.
- ``KinesisRecord`` / ``DynamoDBRecord``: typed accessors (base64 data to bytes / JSON;
  DynamoDB images to plain Python values).
"""

from typing import TYPE_CHECKING

from serverless_patterns.runtime._lazy_exports import lazy_exports

# Each name's module is imported when the name is first read (``lazy_exports``).
if TYPE_CHECKING:
    from serverless_patterns.runtime.streams.idempotent import idempotent_stream_handler
    from serverless_patterns.runtime.streams.processor import (
        StreamBatchResponse,
        process_stream_batch,
        process_stream_records,
        stream_batch_handler,
    )
    from serverless_patterns.runtime.streams.records import (
        DynamoDBRecord,
        KinesisRecord,
        MalformedStreamRecordError,
        MissingSequenceNumberError,
        StreamRecord,
        stream_records,
    )
    from serverless_patterns.runtime.streams.windows import (
        MAX_STATE_BYTES,
        WINDOW_TABLE_ENV,
        Window,
        WindowStateTooLargeError,
        WindowStore,
        tumbling_window_handler,
    )

__all__ = [
    "MAX_STATE_BYTES",
    "WINDOW_TABLE_ENV",
    "DynamoDBRecord",
    "KinesisRecord",
    "MalformedStreamRecordError",
    "MissingSequenceNumberError",
    "StreamBatchResponse",
    "StreamRecord",
    "Window",
    "WindowStateTooLargeError",
    "WindowStore",
    "idempotent_stream_handler",
    "process_stream_batch",
    "process_stream_records",
    "stream_batch_handler",
    "stream_records",
    "tumbling_window_handler",
]

__getattr__, __dir__ = lazy_exports(globals())
