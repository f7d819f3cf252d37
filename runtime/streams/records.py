"""Typed views of the records Lambda delivers from Kinesis and DynamoDB Streams.

Event shapes: "Using Lambda with Kinesis Data Streams" (example Kinesis record event) and
"Using Lambda with Amazon DynamoDB" (example DynamoDB Streams record event), AWS Lambda
Developer Guide. A batch holds the records of one shard, in order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from serverless_patterns.runtime.json_input import MalformedJson, parse_json

__all__ = [
    "DynamoDBRecord",
    "KinesisRecord",
    "MalformedStreamRecordError",
    "MissingSequenceNumberError",
    "StreamRecord",
    "plain",
    "stream_records",
]


class MalformedStreamRecordError(ValueError):
    """A record's payload cannot be decoded. The message names the sequence number, never the
    payload."""


class MissingSequenceNumberError(ValueError):
    """A record has no sequence number, so a partial batch response cannot name it."""


class KinesisRecord:
    """One record of a Lambda Kinesis event; ``raw`` is the record itself."""

    __slots__ = ("event_id", "partition_key", "raw", "sequence_number")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: Mapping[str, Any] = raw
        kinesis = raw.get("kinesis") or {}
        self.sequence_number: str = kinesis.get("sequenceNumber") or ""
        self.partition_key: str = kinesis.get("partitionKey") or ""
        #: ``shardId-...:sequenceNumber``: unique per record, the default idempotency key.
        self.event_id: str = raw.get("eventID") or self.sequence_number

    @property
    def shard_id(self) -> str:
        """The shard, read from the event id (``shardId-000000000000:<sequence number>``)."""
        return self.event_id.partition(":")[0]

    @property
    def approximate_arrival_timestamp(self) -> float:
        """When Kinesis received the record, in seconds since the epoch."""
        return float((self.raw.get("kinesis") or {}).get("approximateArrivalTimestamp") or 0)

    @property
    def data(self) -> bytes:
        """The record's payload, decoded from base64."""
        encoded = (self.raw.get("kinesis") or {}).get("data") or ""
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedStreamRecordError(
                f"Record {self.sequence_number}: data is not valid base64"
            ) from None

    def text(self) -> str:
        """The payload as UTF-8 text."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedStreamRecordError(
                f"Record {self.sequence_number}: data is not UTF-8 text"
            ) from None

    def json(self) -> Any:
        """The payload parsed as JSON (``runtime.json_input`` limits apply)."""
        try:
            return parse_json(self.text())
        except MalformedJson as exc:
            raise MalformedStreamRecordError(
                f"Record {self.sequence_number}: data is not valid JSON ({exc})"
            ) from None

    def __repr__(self) -> str:
        return f"KinesisRecord(sequence_number={self.sequence_number!r})"


def plain(value: Any) -> Any:
    """A deserialized DynamoDB value as plain Python: integral numbers become ``int``, binary
    becomes ``bytes``, sets stay sets; other numbers stay ``Decimal`` (exact)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return {plain(item) for item in value}
    raw = getattr(value, "value", None)
    if isinstance(raw, bytes):  # boto3's Binary
        return raw
    return value


def _deserialize(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    try:
        return {name: plain(deserializer.deserialize(v)) for name, v in image.items()}
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise MalformedStreamRecordError(
            f"an image cannot be deserialized ({type(exc).__name__})"
        ) from None


class DynamoDBRecord:
    """One record of a Lambda DynamoDB Streams event; ``raw`` is the record itself."""

    __slots__ = ("event_id", "event_name", "raw", "sequence_number")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: Mapping[str, Any] = raw
        self.sequence_number: str = (raw.get("dynamodb") or {}).get("SequenceNumber") or ""
        #: ``INSERT``, ``MODIFY`` or ``REMOVE``.
        self.event_name: str = raw.get("eventName") or ""
        #: Unique per record, the default idempotency key.
        self.event_id: str = raw.get("eventID") or self.sequence_number

    def _image(self, name: str) -> dict[str, Any] | None:
        return _deserialize((self.raw.get("dynamodb") or {}).get(name))

    @property
    def keys(self) -> dict[str, Any]:
        """The item's key attributes as plain Python values."""
        return self._image("Keys") or {}

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change (None for REMOVE or a stream without new images)."""
        return self._image("NewImage")

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change (None for INSERT or a stream without old images)."""
        return self._image("OldImage")

    def __repr__(self) -> str:
        return f"DynamoDBRecord(sequence_number={self.sequence_number!r})"


StreamRecord = KinesisRecord | DynamoDBRecord


def stream_records(event: Mapping[str, Any]) -> list[StreamRecord]:
    """The records of a Lambda Kinesis or DynamoDB Streams event, in order.

    Raises MissingSequenceNumberError if a record has no sequence number: Lambda treats an empty
    ``itemIdentifier`` as a failure of the whole batch, so raising gives the same retry and says
    why, while skipping the record would checkpoint past it unprocessed.
    """
    records: list[StreamRecord] = []
    for index, raw in enumerate(event.get("Records") or ()):
        record: StreamRecord
        if isinstance(raw, Mapping) and raw.get("eventSource") == "aws:dynamodb":
            record = DynamoDBRecord(raw)
        else:
            record = KinesisRecord(raw if isinstance(raw, Mapping) else {})
        if not record.sequence_number:
            raise MissingSequenceNumberError(
                f"Record {index} of the batch has no sequence number; failing the whole batch "
                "so Lambda retries it"
            )
        records.append(record)
    return records
