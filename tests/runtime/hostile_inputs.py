"""Hypothesis strategies for input a handler does not control: client bodies, headers, records.

Shared by the property tests of every handler entry point (issue 12). Names here are stable;
add new strategies rather than changing what an existing one generates.

- JSON texts Python's ``json`` cannot take or that JSON cannot carry: integers over the
  int-string limit (4,300 digits), nesting deeper than the recursion limit, invalid UTF-8,
  lone surrogates, ``NaN`` / ``Infinity`` literals, floats beyond a double (``1e999``).
- Header maps as API Gateway REST proxy events carry them: ``headers`` (one value each) and
  ``multiValueHeaders`` (lists), either of which may be null, names in any case.
- Lambda records of event sources other than SQS, and SQS bodies that are other services'
  events (SNS envelopes, S3 notifications, EventBridge events).
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

from tests.runtime.sqs_events import sqs_record

#: 5,000 digits: ``json.loads`` raises ValueError (Python's int-string limit is 4,300 digits).
HUGE_INTEGER_TEXT = "1" * 5_000
#: 2,000 nested arrays / objects: ``json.loads`` raises RecursionError.
DEEP_ARRAY_TEXT = "[" * 2_000 + "]" * 2_000
DEEP_OBJECT_TEXT = '{"a":' * 2_000 + "1" + "}" * 2_000
#: Literals Python's ``json`` accepts that are not JSON (RFC 8259, section 6).
NON_FINITE_TEXTS = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")
#: A str that strict UTF-8 cannot encode (the Lambda runtime decodes ``"\\ud800"`` to it).
LONE_SURROGATE = "\ud800"
#: Bytes that are not UTF-8.
INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b'{"a": "\xff"}', b"\xfe\xff\x00{")

#: Fixed hostile JSON texts, each one of the classes above.
HOSTILE_JSON_TEXTS: tuple[str, ...] = (
    HUGE_INTEGER_TEXT,
    "-" + HUGE_INTEGER_TEXT,
    '{"quantity": ' + HUGE_INTEGER_TEXT + "}",
    DEEP_ARRAY_TEXT,
    DEEP_OBJECT_TEXT,
    "[" * 2_000,
    *NON_FINITE_TEXTS,
    '{"quantity": NaN, "order_id": "o-1"}',
    '{"order_id": "o-1", "quantity": 1e999}',
    '{"order_id": "' + LONE_SURROGATE + '", "quantity": 1}',
    '{"order_id": "\\ud800", "quantity": 1}',
    '"\\udfff"',
    "",
    " ",
    "\x00",
    "{",
    '{"order_id": "o-1", "quantity": 1',
    "order_id=o-1&quantity=1",
    "null",
    "[]",
    '"text"',
    "true",
)

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)

#: JSON values, NaN and infinities included (``json.dumps`` writes them as literals).
json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def hostile_json_texts() -> st.SearchStrategy[str]:
    """Texts a client may send as a JSON body: hostile fixed cases, nesting of any depth up to
    3,000, integers of any length up to 6,000 digits, JSON with NaN/Infinity literals,
    arbitrary text (lone surrogates included) and JSON values."""
    return st.one_of(
        st.sampled_from(HOSTILE_JSON_TEXTS),
        st.integers(min_value=1, max_value=3_000).map(_nested),
        st.integers(min_value=1, max_value=6_000).map(lambda digits: "7" * digits),
        json_values.map(json.dumps),
        st.text(max_size=60),
        st.text(alphabet='{}[]:,"0123456789.eE-+ ntrufalsNIy\\', max_size=40),
    )


def hostile_json_bytes() -> st.SearchStrategy[bytes]:
    """Bytes a client may send: the hostile texts (lone surrogates kept as their bytes),
    bytes that are not UTF-8, and arbitrary bytes."""
    return st.one_of(
        hostile_json_texts().map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.sampled_from(INVALID_UTF8),
        st.binary(max_size=60),
    )


def _sqs_character(char: str) -> str:
    code = ord(char)
    allowed = (
        char in "\t\n\r"
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
    return char if allowed else "\ufffd"


def sqs_text(text: str) -> str:
    """``text`` with each character SQS does not allow in a body replaced by U+FFFD, so a test
    body is one SQS could deliver. SendMessage (Amazon SQS API Reference) allows #x9, #xA, #xD,
    #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF, and either replaces other
    characters with U+FFFD or rejects the message."""
    return "".join(map(_sqs_character, text))


def sqs_bodies() -> st.SearchStrategy[str]:
    """Hostile JSON texts as SQS message bodies (characters SQS refuses replaced)."""
    return hostile_json_texts().map(sqs_text)


def marked_json_texts(marker: str) -> st.SearchStrategy[str]:
    """Hostile texts that contain ``marker``, for asserting a body never reaches a log."""
    return st.one_of(
        hostile_json_texts().map(lambda text: marker + text),
        hostile_json_texts().map(lambda text: '{"note": "' + marker + '", "x": ' + text + "}"),
        hostile_json_texts().map(lambda text: '["' + marker + '", ' + text),
    )


def mixed_case(name: str) -> st.SearchStrategy[str]:
    """``name`` with each letter in either case (HTTP header names are case-insensitive)."""
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(
            c.upper() if up else c.lower() for c, up in zip(name, upper, strict=True)
        )
    )


_header_names = st.one_of(
    mixed_case("Content-Type"),
    mixed_case("X-Correlation-Id"),
    st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=20),
)
_header_values = st.text(max_size=40)


def header_maps() -> st.SearchStrategy[dict[str, str | None] | None]:
    """A proxy event's ``headers``: null, or names in any case to a value or null."""
    return st.none() | st.dictionaries(_header_names, st.none() | _header_values, max_size=5)


def multi_value_header_maps() -> st.SearchStrategy[dict[str, list[str] | None] | None]:
    """A proxy event's ``multiValueHeaders``: null, or names in any case to a list or null."""
    return st.none() | st.dictionaries(
        _header_names, st.none() | st.lists(_header_values, max_size=3), max_size=5
    )


#: Records other event sources deliver to Lambda; none has an SQS ``messageId``.
FOREIGN_RECORDS: tuple[dict[str, Any], ...] = (
    {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:orders:sub",
        "Sns": {"MessageId": "95df01b4", "Message": '{"order_id": "o-1", "quantity": 1}'},
    },
    {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "uploads"}, "object": {"key": "a.json", "size": 5}},
    },
    {
        "eventSource": "aws:kinesis",
        "eventID": "shardId-000000000006:4954",
        "kinesis": {"partitionKey": "1", "data": "eyJhIjogMX0=", "sequenceNumber": "4954"},
    },
    {
        "eventSource": "aws:dynamodb",
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"id": {"S": "1"}}, "SequenceNumber": "111"},
    },
    {"eventSource": "aws:sqs", "body": "{}"},
)

#: Bodies other services put in SQS messages: not orders, not EventBridge events of ours.
FOREIGN_BODIES: tuple[str, ...] = (
    json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
            "Message": '{"order_id": "o-1", "quantity": 1}',
            "Timestamp": "2026-01-02T03:04:05.000Z",
        }
    ),
    json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
    json.dumps({"Event": "s3:TestEvent", "Service": "Amazon S3", "Bucket": "uploads"}),
    json.dumps(
        {
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "detail": {"instance-id": "i-abcd1111", "state": "pending"},
        }
    ),
)


def foreign_records() -> st.SearchStrategy[dict[str, Any]]:
    """One record of another event source (copied: tests may change it)."""
    return st.sampled_from(FOREIGN_RECORDS).map(lambda record: json.loads(json.dumps(record)))


_OPTIONAL_RECORD_FIELDS = (
    "receiptHandle",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
)


@st.composite
def sqs_record_variants(draw: st.DrawFn, body: str, message_id: str) -> dict[str, Any]:
    """An SQS record of ``body`` with some optional fields missing and unknown fields added."""
    record = sqs_record(body, message_id=message_id)
    for name in draw(st.sets(st.sampled_from(_OPTIONAL_RECORD_FIELDS))):
        del record[name]
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=2))
    return {**extra, **record}
