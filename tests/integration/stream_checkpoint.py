"""Lambda's checkpoint loop for one shard, as the stream event source mapping runs it.

Documented behaviour modelled ("Configuring partial batch response with Kinesis Data Streams and
Lambda", "Retain discarded batch records for a Kinesis Data Streams event source in Lambda"):
- a batch that reports no failure checkpoints past its last record;
- a reported sequence number is the checkpoint: the records before it are done, and Lambda
  re-invokes from it; with BisectBatchOnFunctionError the remaining records are split in two
  and the first half is retried;
- a function error (the handler raised) fails the whole batch, bisected if that is on;
- after MaximumRetryAttempts retries without progress the batch is discarded: its description
  (shard, first and last sequence numbers, size) goes to the on-failure destination and the
  checkpoint moves past it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoopFigures:
    """What one drive of the loop did."""

    records: int = 0
    invocations: int = 0
    reinvocations: int = 0
    failures: int = 0
    discarded_batches: int = 0
    discarded_records: list[str] = field(default_factory=list)


Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any] | None]


def sequence_of(record: Mapping[str, Any]) -> str:
    if "kinesis" in record:
        return str(record["kinesis"]["sequenceNumber"])
    return str(record["dynamodb"]["SequenceNumber"])


def drive_shard(
    records: Sequence[Mapping[str, Any]],
    handler: Handler,
    *,
    shard_id: str,
    batch_size: int,
    retry_attempts: int,
    bisect: bool,
    send_to_destination: Callable[[str], object],
    figures: LoopFigures | None = None,
) -> LoopFigures:
    """Invokes ``handler`` over one shard's records until the checkpoint passes the last one."""
    figures = figures or LoopFigures()
    figures.records += len(records)
    position = 0
    while position < len(records):
        batch = list(records[position : position + batch_size])
        retries = 0
        while batch:
            figures.invocations += 1
            try:
                response = handler({"Records": batch}, None) or {}
                reported = [f["itemIdentifier"] for f in response.get("batchItemFailures") or []]
            except Exception:
                reported = [sequence_of(batch[0])]  # a function error fails the whole batch
            if not reported:
                position += len(batch)
                break
            figures.failures += 1
            sequences = [sequence_of(r) for r in batch]
            failed_at = min(sequences.index(s) for s in reported)
            if failed_at > 0:  # progress: the checkpoint moves to the failed record
                position += failed_at
                retries = 0
            remaining = list(records[position : position + len(batch) - failed_at])
            if retries >= retry_attempts:
                send_to_destination(_batch_info(remaining, shard_id, retries))
                figures.discarded_batches += 1
                figures.discarded_records += [sequence_of(r) for r in remaining]
                position += len(remaining)
                break
            retries += 1
            figures.reinvocations += 1
            batch = remaining[: (len(remaining) + 1) // 2] if bisect else remaining
    return figures


def _batch_info(batch: Sequence[Mapping[str, Any]], shard_id: str, retries: int) -> str:
    """The on-failure record Lambda sends for a discarded Kinesis batch."""
    return json.dumps(
        {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "KinesisBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": sequence_of(batch[0]),
                "endSequenceNumber": sequence_of(batch[-1]),
                "batchSize": len(batch),
                "streamArn": batch[0].get("eventSourceARN"),
            },
        }
    )
