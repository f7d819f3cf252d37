"""Tumbling-window aggregation for Kinesis and DynamoDB Streams ("Implementing stateful Kinesis
Data Streams processing in Lambda" / "... DynamoDB Streams processing ...", AWS Lambda Developer
Guide).

Lambda passes each invocation of a window the ``state`` the previous one returned, and the
function must return ``{"state": ..., "batchItemFailures": [...]}`` (a response without
``state`` counts as a failure). The state is at most 1 MB per shard. The last invocation of a
window has ``isFinalInvokeForWindow`` true; a window whose state outgrew the limit ends early
(``isWindowTerminatedEarly``) and the next invocation continues the same window with a fresh
state. ::

    from serverless_patterns.runtime.streams import tumbling_window_handler

    def add(totals: dict, records) -> dict:
        for record in records:
            sale = record.json()
            totals[sale["sku"]] = totals.get(sale["sku"], 0) + sale["amount"]
        return totals

    handler = tumbling_window_handler(add)   # final aggregates go to WINDOW_TABLE_NAME

The final aggregate is written with a conditional put keyed on the event source, the shard and
the window start, so a re-delivered final invocation writes nothing the second time. The part
of a window that ended early is keyed by its first sequence number as well: each part once.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from serverless_patterns.runtime.streams.records import StreamRecord, stream_records

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "MAX_STATE_BYTES",
    "WINDOW_TABLE_ENV",
    "Window",
    "WindowResponse",
    "WindowStateTooLargeError",
    "WindowStore",
    "tumbling_window_handler",
]

logger = logging.getLogger(__name__)

#: Lambda's limit on a tumbling window's state, per shard.
MAX_STATE_BYTES = 1024 * 1024
#: The environment variable naming the table of final aggregates (partition key ``id``).
WINDOW_TABLE_ENV = "WINDOW_TABLE_NAME"
_AGGREGATE = "aggregate"
_FIRST_SEQUENCE = "firstSequenceNumber"


class WindowStateTooLargeError(ValueError):
    """The state to return is above Lambda's 1 MB limit."""


class WindowResponse(TypedDict):
    """What a tumbling-window function returns."""

    state: dict[str, Any]
    batchItemFailures: list[dict[str, str]]


@dataclass(frozen=True)
class Window:
    """One finished window (or part of one, when it ended early) and its aggregate."""

    event_source_arn: str
    shard_id: str
    start: str
    end: str
    aggregate: Any
    terminated_early: bool
    first_sequence_number: str | None

    @property
    def key(self) -> str:
        """``<source>#<shard>#<window start>``, plus ``#<first sequence number>`` for a part
        of a window that ended early."""
        base = f"{self.event_source_arn}#{self.shard_id}#{self.start}"
        if self.terminated_early:
            return f"{base}#{self.first_sequence_number or '-'}"
        return base


class WindowStore:
    """Final aggregates in a DynamoDB table whose partition key is ``id`` (string).

    :param table_name: the table. Default: - the ``WINDOW_TABLE_NAME`` environment variable.
    :param client: a DynamoDB client. Default: - one created on first use.
    """

    def __init__(
        self, table_name: str | None = None, *, client: DynamoDBClient | None = None
    ) -> None:
        name = table_name or os.environ.get(WINDOW_TABLE_ENV)
        if not name:
            raise ValueError(f"No window table: pass table_name or set {WINDOW_TABLE_ENV}")
        self.table_name = name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        """The DynamoDB client, created on first use."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def put_once(self, window: Window) -> bool:
        """Writes the window's aggregate unless its key exists; True when this call wrote it."""
        item: dict[str, Any] = {
            "id": {"S": window.key},
            "eventSourceArn": {"S": window.event_source_arn},
            "shardId": {"S": window.shard_id},
            "windowStart": {"S": window.start},
            "windowEnd": {"S": window.end},
            "terminatedEarly": {"BOOL": window.terminated_early},
            _AGGREGATE: {"S": json.dumps(window.aggregate, separators=(",", ":"))},
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(id)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            logger.info("Window %s was already written; not writing it again", window.key)
            return False
        return True


def _state_bytes(state: Mapping[str, Any]) -> int:
    try:
        return len(json.dumps(state, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise WindowStateTooLargeError(
            f"the window state cannot be returned as JSON ({type(exc).__name__}: {exc})"
        ) from None


Aggregate = Callable[[Any, Sequence[StreamRecord]], Any]
"""Folds a batch of records into the window's aggregate and returns the new aggregate."""


def tumbling_window_handler(
    aggregate: Aggregate,
    *,
    initial: Callable[[], Any] = dict,
    store: WindowStore | None = None,
    on_window: Callable[[Window], object] | None = None,
) -> Callable[[Mapping[str, Any], Any], WindowResponse]:
    """Turns an aggregate function into a tumbling-window stream handler.

    Each invocation folds its records into the aggregate carried in ``state``; the final
    invocation of a window persists the aggregate once (``store.put_once``) and then calls
    ``on_window`` if the write was the first. If ``aggregate`` raises, the invocation fails and
    Lambda retries the batch with the state it had; nothing is lost or counted twice.

    Raises WindowStateTooLargeError, naming the size, when the state to return is above 1 MB
    (Lambda would end the window early and drop what does not fit): aggregate less per window
    (shorter window, coarser keys).

    :param initial: the aggregate of a window's first invocation. Default: - ``{}``.
    :param store: where final aggregates go. Default: - ``WindowStore()`` from the environment,
        created on the first final invocation.
    :param on_window: called with each window written (not with a re-delivered one).
        Default: - nothing.
    """
    stores: list[WindowStore] = [store] if store is not None else []

    def handler(event: Mapping[str, Any], context: Any) -> WindowResponse:
        records = stream_records(event)
        carried = event.get("state") or {}
        fresh = _AGGREGATE not in carried
        current = initial() if fresh else carried[_AGGREGATE]
        first = carried.get(_FIRST_SEQUENCE) or (records[0].sequence_number if records else None)
        state: dict[str, Any] = {_AGGREGATE: aggregate(current, records)}
        if first is not None:
            state[_FIRST_SEQUENCE] = first
        size = _state_bytes(state)
        if size > MAX_STATE_BYTES:
            raise WindowStateTooLargeError(
                f"the tumbling window state is {size} bytes, above Lambda's limit of "
                f"{MAX_STATE_BYTES} bytes per shard; aggregate less per window"
            )
        if event.get("isFinalInvokeForWindow"):
            window_span = event.get("window") or {}
            window = Window(
                event_source_arn=str(event.get("eventSourceARN") or ""),
                shard_id=str(event.get("shardId") or ""),
                start=str(window_span.get("start") or ""),
                end=str(window_span.get("end") or ""),
                aggregate=state[_AGGREGATE],
                terminated_early=bool(event.get("isWindowTerminatedEarly")),
                first_sequence_number=first,
            )
            if not stores:
                stores.append(WindowStore())
            if stores[0].put_once(window) and on_window is not None:
                on_window(window)
            return {"state": {}, "batchItemFailures": []}
        return {"state": state, "batchItemFailures": []}

    return handler
