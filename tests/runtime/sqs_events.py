"""Builders for Lambda SQS events in the exact shape the SQS event source mapping delivers.

Unit tests build records directly with ``sqs_record``; integration tests turn real
ReceiveMessage results into the same records with ``record_from_message``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STANDARD_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:orders"
FIFO_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:orders.fifo"
SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"
SENT_TIMESTAMP = 1_700_000_000_000

_sequence_numbers = itertools.count(18_849_496_460_467_696_128)


def string_attribute(value: str) -> dict[str, Any]:
    """A message attribute as Lambda delivers it (camelCase, empty list fields)."""
    return {
        "stringValue": value,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    queue_arn: str = STANDARD_QUEUE_ARN,
    receive_count: int = 1,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    sequence_number: str | None = None,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    receipt_handle: str | None = None,
    sent_timestamp: int = SENT_TIMESTAMP,
    first_receive_timestamp: int | None = None,
    sender_id: str = SENDER_ID,
    region: str = REGION,
) -> dict[str, Any]:
    """One Lambda SQS event record. Passing ``group_id`` makes it a FIFO record."""
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent_timestamp),
        "SenderId": sender_id,
        "ApproximateFirstReceiveTimestamp": str(first_receive_timestamp or sent_timestamp + 2),
    }
    if group_id is not None:
        attributes["MessageGroupId"] = group_id
        attributes["MessageDeduplicationId"] = (
            deduplication_id or hashlib.sha256(body.encode()).hexdigest()
        )
        attributes["SequenceNumber"] = sequence_number or str(next(_sequence_numbers))
    record: dict[str, Any] = {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or base64.b64encode(uuid.uuid4().bytes * 4).decode("ascii"),
        "body": body,
        "attributes": attributes,
        "messageAttributes": {
            name: dict(value) for name, value in (message_attributes or {}).items()
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    return record


def sqs_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The event Lambda passes to the handler for one batch."""
    return {"Records": [dict(record) for record in records]}


def _lambda_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's MessageAttributeValue in the shape Lambda delivers (binary as base64)."""
    binary = attribute.get("BinaryValue")
    converted: dict[str, Any] = {
        "stringListValues": list(attribute.get("StringListValues", [])),
        "binaryListValues": [
            base64.b64encode(value).decode("ascii")
            for value in attribute.get("BinaryListValues", [])
        ],
        "dataType": attribute["DataType"],
    }
    if "StringValue" in attribute:
        converted["stringValue"] = attribute["StringValue"]
    if binary is not None:
        converted["binaryValue"] = base64.b64encode(binary).decode("ascii")
    return converted


def record_from_message(
    message: Mapping[str, Any], *, queue_arn: str, region: str = REGION
) -> dict[str, Any]:
    """Turn one ReceiveMessage result (AttributeNames=All) into a Lambda SQS record."""
    attributes = message["Attributes"]
    record = sqs_record(
        message["Body"],
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        queue_arn=queue_arn,
        region=region,
        receive_count=int(attributes["ApproximateReceiveCount"]),
        sent_timestamp=int(attributes["SentTimestamp"]),
        first_receive_timestamp=int(attributes["ApproximateFirstReceiveTimestamp"]),
        sender_id=attributes["SenderId"],
        group_id=attributes.get("MessageGroupId"),
        deduplication_id=attributes.get("MessageDeduplicationId"),
        sequence_number=attributes.get("SequenceNumber"),
        message_attributes={
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
    )
    if record["md5OfBody"] != message["MD5OfBody"]:
        raise AssertionError(f"MD5 of body mismatch for message {message['MessageId']}")
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record
