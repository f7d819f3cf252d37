"""Lambda stream events built from what the Kinesis and DynamoDB Streams APIs return.

Shapes: the example events of "Using Lambda with Kinesis Data Streams" and "Using Lambda with
Amazon DynamoDB" (AWS Lambda Developer Guide), which are also what
``sam local generate-event kinesis get-records`` / ``dynamodb update`` print.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/stream-consumer"


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def kinesis_record(
    api_record: Mapping[str, Any], *, shard_id: str, stream_arn: str
) -> dict[str, Any]:
    """The Lambda event record of one record of Kinesis ``GetRecords``."""
    sequence = api_record["SequenceNumber"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": api_record["PartitionKey"],
            "sequenceNumber": sequence,
            "data": base64.b64encode(api_record["Data"]).decode(),
            "approximateArrivalTimestamp": _epoch(api_record["ApproximateArrivalTimestamp"]),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": ROLE_ARN,
        "awsRegion": REGION,
        "eventSourceARN": stream_arn,
    }


def dynamodb_record(api_record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """The Lambda event record of one record of DynamoDB Streams ``GetRecords``."""
    change = dict(api_record["dynamodb"])
    if "ApproximateCreationDateTime" in change:
        change["ApproximateCreationDateTime"] = _epoch(change["ApproximateCreationDateTime"])
    return {
        "eventID": api_record["eventID"],
        "eventName": api_record["eventName"],
        "eventVersion": api_record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": api_record.get("awsRegion", REGION),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def event(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A Lambda stream event of ``records``."""
    return {"Records": list(records)}


def window_event(
    records: Sequence[Mapping[str, Any]],
    *,
    state: Mapping[str, Any],
    start: str,
    end: str,
    shard_id: str,
    source_arn: str,
    final: bool = False,
    terminated_early: bool = False,
) -> dict[str, Any]:
    """A tumbling-window invocation ("Implementing stateful ... processing in Lambda")."""
    return {
        "Records": list(records),
        "window": {"start": start, "end": end},
        "state": dict(state),
        "shardId": shard_id,
        "eventSourceARN": source_arn,
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": terminated_early,
    }
