"""Publishing to EventBridge: batched PutEvents calls that resend only what failed.

::

    from serverless_patterns.runtime.events.publisher import Event, EventPublisher

    publisher = EventPublisher()  # once per execution environment; bus from EVENT_BUS_NAME

    def handler(event, context):
        result = publisher.publish(
            Event(source="shop.orders", detail_type="OrderPlaced", detail={"order_id": oid})
            for oid in new_order_ids(event)
        )
        result.raise_for_failures()  # or inspect result.failed

What ``publish`` does with a list of entries:

- checks every entry first: one larger than the request size limit (256 KiB, measured as
  EventBridge measures it, see ``entry_size``) or with a detail that is not JSON-serializable
  raises ``EventEntryError`` before any call is made;
- splits them, in order, into PutEvents calls of at most 10 entries whose sizes add up to at
  most 256 KiB, and sends the calls concurrently (at most ``max_concurrency`` at a time);
- resends only the entries that failed with a transient error: a per-entry ``ErrorCode`` of
  ``ThrottlingException`` or ``InternalFailure`` (the retryable codes of
  ``PutEventsResultEntry``), or every entry of a call that failed as a whole with throttling,
  a 5xx error or a lost connection; with exponential backoff and full jitter, up to
  ``max_attempts`` sends per entry;
- reports every entry that finally failed, with its error code, in ``PublishResult.failed``;
  ``raise_for_failures()`` (or ``raise_on_failure=True``) turns them into a ``PublishError``.
  No entry is ever dropped silently.

Entries keep their relative order within each call (a resend holds the failed entries in their
original order), and results map back to the caller's entries by index. Nothing here logs or
raises with a payload: only indexes, sizes, counts and error codes.

Delivery is at least once. A per-entry error or a throttled call means EventBridge did not
accept the entry, so resending cannot duplicate it; a 5xx error or a lost connection is
ambiguous, and the resent entry may then be published twice, with two different event ids.
Put a business identifier in the detail when a consumer must tell such copies apart.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

__all__ = [
    "EVENT_BUS_NAME_ENV",
    "MAX_ENTRIES_PER_CALL",
    "MAX_REQUEST_BYTES",
    "RETRYABLE_ENTRY_ERRORS",
    "EntryTooLargeError",
    "Event",
    "EventEntryError",
    "EventPublisher",
    "FailedEntry",
    "PublishError",
    "PublishResult",
    "entry_size",
    "split_into_calls",
]

logger = logging.getLogger(__name__)

#: The environment variable naming the default event bus (name or ARN).
EVENT_BUS_NAME_ENV = "EVENT_BUS_NAME"
#: PutEvents accepts at most 10 entries per request.
MAX_ENTRIES_PER_CALL = 10
#: The entries of one PutEvents request may add up to at most 256 KiB (see ``entry_size``).
MAX_REQUEST_BYTES = 256 * 1024
#: What a ``Time`` counts for in an entry's size.
TIME_BYTES = 14

#: Per-entry error codes that EventBridge documents as retryable (``PutEventsResultEntry``).
#: Every other code (``MalformedDetail``, ``InvalidArgument``, ``AccessDeniedException``,
#: ``NotAuthorizedForSourceException``, ...) is permanent and reported without a resend.
RETRYABLE_ENTRY_ERRORS = frozenset({"InternalFailure", "ThrottlingException"})

#: Error codes of a whole PutEvents call worth resending (besides any HTTP 5xx or 429).
_RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalFailure",
        "InternalException",
        "ServiceUnavailable",
    }
)
#: The result of an entry missing from a response (EventBridge always returns one per entry).
_MISSING_RESULT = "MissingResultEntry"
#: How many failed entries a PublishError message lists before summarising the rest.
_LISTED_FAILURES = 20


class EventEntryError(ValueError):
    """An entry cannot be sent; raised by ``publish`` before any PutEvents call."""


class EntryTooLargeError(EventEntryError):
    """An entry is larger than a whole PutEvents request may be (``MAX_REQUEST_BYTES``)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One entry to publish.

    :param source: the event's ``source``, for example ``"shop.orders"``.
    :param detail_type: the event's ``detail-type``, for example ``"OrderPlaced"``.
    :param detail: the event's ``detail``: a mapping, sent as compact JSON, or a JSON text sent
        as is. Default: - an empty object.
    :param resources: ARNs the event concerns. Default: - none.
    :param time: the event's time. Default: - the time EventBridge receives it.
    :param trace_header: an X-Ray trace header. Default: - none.
    :param event_bus_name: the bus (name or ARN) for this entry only. Default: - the
        publisher's bus.
    """

    source: str
    detail_type: str
    detail: Mapping[str, Any] | str = field(default_factory=dict, repr=False)
    resources: Sequence[str] = ()
    time: datetime | None = None
    trace_header: str | None = None
    event_bus_name: str | None = None

    def detail_json(self) -> str:
        """The detail as sent: compact JSON of a mapping (UTF-8, not escaped), or the text.

        Raises EventEntryError if the mapping is not JSON-serializable (the message names the
        type of the problem, never the detail).
        """
        if isinstance(self.detail, str):
            return self.detail
        try:
            return json.dumps(self.detail, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise EventEntryError(
                f"detail is not JSON-serializable ({type(exc).__name__})"
            ) from None

    def to_entry(self, event_bus_name: str | None = None) -> PutEventsRequestEntryTypeDef:
        """The PutEvents request entry; ``event_bus_name`` applies when the event has none."""
        entry: PutEventsRequestEntryTypeDef = {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self.detail_json(),
        }
        if self.resources:
            entry["Resources"] = list(self.resources)
        if self.time is not None:
            entry["Time"] = self.time
        if self.trace_header is not None:
            entry["TraceHeader"] = self.trace_header
        bus = self.event_bus_name or event_bus_name
        if bus:
            entry["EventBusName"] = bus
        return entry


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def entry_size(entry: Mapping[str, Any]) -> int:
    """The size of a PutEvents request entry, as EventBridge computes it.

    From "Calculating Amazon EventBridge PutEvents event entry size" (EventBridge User Guide):
    ``Time`` counts 14 bytes if present; ``Source``, ``DetailType`` and ``Detail`` (if present)
    the length of their UTF-8 encoding; each entry of ``Resources`` (if present) the length of
    its UTF-8 encoding. ``EventBusName`` and ``TraceHeader`` do not count.
    """
    size = TIME_BYTES if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if value is not None:
            size += _utf8_length(value)
    for resource in entry.get("Resources") or ():
        if resource is not None:
            size += _utf8_length(resource)
    return size


def split_into_calls(
    sizes: Sequence[int],
    *,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> list[list[int]]:
    """Groups entry indexes, in order, into calls of at most ``max_entries`` entries whose
    sizes add up to at most ``max_bytes``. A call is closed only when the next entry would not
    fit, so consecutive entries share a call whenever they can.

    Raises EntryTooLargeError, naming every such index, if one entry alone exceeds
    ``max_bytes``.
    """
    too_large = [(index, size) for index, size in enumerate(sizes) if size > max_bytes]
    if too_large:
        listed = ", ".join(f"#{index} ({size} bytes)" for index, size in too_large)
        raise EntryTooLargeError(
            f"{len(too_large)} event entries exceed the PutEvents request size limit of "
            f"{max_bytes} bytes: {listed}. Store large payloads elsewhere (for example S3) "
            "and publish a reference; nothing was sent"
        )
    calls: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, size in enumerate(sizes):
        if current and (len(current) >= max_entries or current_bytes + size > max_bytes):
            calls.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        calls.append(current)
    return calls


@dataclass(frozen=True, slots=True)
class FailedEntry:
    """An entry that was not published: its index in the caller's entries and why.

    ``error_code`` is EventBridge's per-entry ``ErrorCode``, or the error code (or botocore
    exception name) of the call that carried it when the whole call failed.
    """

    index: int
    event: Event
    error_code: str
    error_message: str
    attempts: int


class PublishError(Exception):
    """Some entries could not be published; ``failed`` lists them, ``result`` has the rest."""

    def __init__(self, result: PublishResult) -> None:
        self.result = result
        self.failed = result.failed
        listed = ", ".join(
            f"#{failure.index} {failure.error_code} after {failure.attempts} "
            f"attempt{'s' if failure.attempts != 1 else ''}"
            for failure in result.failed[:_LISTED_FAILURES]
        )
        more = len(result.failed) - _LISTED_FAILURES
        if more > 0:
            listed += f", and {more} more"
        super().__init__(
            f"{len(result.failed)} of {len(result.event_ids)} events were not published: {listed}"
        )


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What ``publish`` did.

    ``event_ids[i]`` is the id EventBridge gave the caller's entry ``i``, or None if it was not
    published; ``failed`` lists those, by index; ``calls`` counts the PutEvents requests sent,
    resends included.
    """

    event_ids: tuple[str | None, ...]
    failed: tuple[FailedEntry, ...]
    calls: int

    @property
    def ok(self) -> bool:
        """True when every entry was published."""
        return not self.failed

    @property
    def published_count(self) -> int:
        """How many entries were published."""
        return len(self.event_ids) - len(self.failed)

    def raise_for_failures(self) -> PublishResult:
        """Raises PublishError if any entry was not published; else returns this result."""
        if self.failed:
            raise PublishError(self)
        return self


@dataclass(slots=True)
class _Outcome:
    event_id: str | None = None
    error_code: str = ""
    error_message: str = ""
    attempts: int = 0


@dataclass(slots=True)
class _ChunkReport:
    outcomes: dict[int, _Outcome]
    calls: int


def _call_error(exc: Exception) -> tuple[str, str, bool]:
    """(error code, message, retryable) of an exception raised by a whole PutEvents call."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "Unknown"
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        retryable = code in _RETRYABLE_CALL_ERRORS or status == 429 or status >= 500
        return code, error.get("Message", ""), retryable
    # A connection that could not be made (refused, connect timeout: botocore's
    # ConnectionError), or that closed or timed out (HTTPClientError), is transient; anything
    # else botocore raises (no credentials, invalid parameters) is not.
    transient = isinstance(exc, HTTPClientError | BotoConnectionError)
    return type(exc).__name__, str(exc), transient


class EventPublisher:
    """Publishes events to one EventBridge bus with batched, concurrent PutEvents calls.

    Create one per execution environment and reuse it: the client, its connection pool and the
    thread pool are kept between invocations.

    :param event_bus_name: the bus, a name or an ARN. Default: - the ``EVENT_BUS_NAME``
        environment variable, else the account's default bus.
    :param client: an EventBridge client. Default: - one created on first use with a
        connection pool as large as ``max_concurrency``, botocore's own retries turned off
        (this publisher retries, entry by entry) and 3 s connect / 10 s read timeouts. A client
        you pass keeps its retry configuration, which then adds to the publisher's attempts.
    :param max_attempts: sends per entry, the first included (at least 1). Default: - 5.
    :param base_delay_seconds: the backoff before the n-th resend is drawn uniformly from 0 to
        ``min(max_delay_seconds, base_delay_seconds * 2 ** (n - 1))`` (full jitter).
        Default: - 0.1 s.
    :param max_delay_seconds: the cap of each backoff. Default: - 2 s; so with the defaults an
        entry waits at most 0.1 + 0.2 + 0.4 + 0.8 = 1.5 s in total.
    :param max_concurrency: PutEvents calls in flight at once. Default: - 8.
    :param max_request_bytes: the size limit of one call's entries. Default: - 256 KiB, the
        PutEvents limit; lower it only to leave headroom.
    :param sleep: waits between attempts. Default: - ``time.sleep``.
    :param rng: the source of jitter. Default: - the ``random`` module's generator.
    """

    def __init__(
        self,
        event_bus_name: str | None = None,
        *,
        client: EventBridgeClient | None = None,
        max_attempts: int = 5,
        base_delay_seconds: float = 0.1,
        max_delay_seconds: float = 2.0,
        max_concurrency: int = 8,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if base_delay_seconds < 0 or max_delay_seconds < 0:
            raise ValueError(
                "base_delay_seconds and max_delay_seconds must not be negative, got "
                f"{base_delay_seconds} and {max_delay_seconds}"
            )
        if not 0 < max_request_bytes <= MAX_REQUEST_BYTES:
            raise ValueError(
                f"max_request_bytes must be between 1 and {MAX_REQUEST_BYTES}, "
                f"got {max_request_bytes}"
            )
        self.event_bus_name: str | None = event_bus_name or os.environ.get(EVENT_BUS_NAME_ENV)
        self.max_attempts = max_attempts
        self.base_delay_seconds = base_delay_seconds
        self.max_delay_seconds = max_delay_seconds
        self.max_concurrency = max_concurrency
        self.max_request_bytes = max_request_bytes
        self._sleep = sleep
        self._uniform: Callable[[float, float], float] = (
            rng.uniform if rng is not None else random.uniform
        )
        self._client = client
        self._executor: ThreadPoolExecutor | None = None
        self._setup_lock = threading.Lock()

    @property
    def client(self) -> EventBridgeClient:
        """The EventBridge client, created on first use."""
        if self._client is None:
            with self._setup_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        max_pool_connections=self.max_concurrency,
                        retries={"total_max_attempts": 1},
                        connect_timeout=3,
                        read_timeout=10,
                    )
                    self._client = boto3.client("events", config=config)
        return self._client

    def backoff_seconds(self, resend: int) -> float:
        """The wait before the ``resend``-th resend (1 for the first): full jitter."""
        cap = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (resend - 1))
        return self._uniform(0, cap)

    def publish(self, events: Iterable[Event], *, raise_on_failure: bool = False) -> PublishResult:
        """Publishes ``events``; returns which were published (by index) and which failed.

        Raises EventEntryError (EntryTooLargeError for an entry over the size limit) before
        any call if an entry cannot be sent, and PublishError after the calls if
        ``raise_on_failure`` is true and an entry was not published.
        """
        items = list(events)
        entries: list[PutEventsRequestEntryTypeDef] = []
        problems: list[str] = []
        for index, event in enumerate(items):
            try:
                entries.append(event.to_entry(self.event_bus_name))
            except EventEntryError as exc:
                problems.append(f"#{index}: {exc}")
        if problems:
            raise EventEntryError(
                f"{len(problems)} event entries cannot be sent: {'; '.join(problems)}; "
                "nothing was sent"
            )
        chunks = split_into_calls(
            [entry_size(entry) for entry in entries], max_bytes=self.max_request_bytes
        )
        reports = self._map(lambda chunk: self._send(chunk, entries), chunks)

        outcomes: dict[int, _Outcome] = {}
        for report in reports:
            outcomes.update(report.outcomes)
        failed = tuple(
            FailedEntry(index, items[index], o.error_code, o.error_message, o.attempts)
            for index, o in sorted(outcomes.items())
            if o.event_id is None
        )
        result = PublishResult(
            event_ids=tuple(outcomes[index].event_id for index in range(len(items))),
            failed=failed,
            calls=sum(report.calls for report in reports),
        )
        if failed:
            codes = Counter(failure.error_code for failure in failed)
            logger.error(
                "%d of %d events were not published (%s)",
                len(failed),
                len(items),
                ", ".join(f"{code}: {count}" for code, count in sorted(codes.items())),
                extra={"failedIndexes": [failure.index for failure in failed[:100]]},
            )
            if raise_on_failure:
                raise PublishError(result)
        return result

    # --- internals --------------------------------------------------------------------------

    def _map(
        self, function: Callable[[list[int]], _ChunkReport], chunks: list[list[int]]
    ) -> list[_ChunkReport]:
        """``map`` over the calls, concurrently when there is more than one."""
        if len(chunks) <= 1 or self.max_concurrency == 1:
            return [function(chunk) for chunk in chunks]
        _ = self.client  # created here, once, not by several threads at the same time
        if self._executor is None:
            with self._setup_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.max_concurrency, thread_name_prefix="event-publisher"
                    )
        return list(self._executor.map(function, chunks))

    def _send(self, chunk: list[int], entries: list[PutEventsRequestEntryTypeDef]) -> _ChunkReport:
        """Sends one call's entries, then resends its transient failures until none is left
        or they have had ``max_attempts`` sends."""
        outcomes: dict[int, _Outcome] = {}
        pending = chunk
        calls = 0
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self._sleep(self.backoff_seconds(attempt - 1))
            final = attempt == self.max_attempts
            calls += 1
            try:
                response = self.client.put_events(Entries=[entries[i] for i in pending])
            except (ClientError, BotoCoreError) as exc:
                code, message, retryable = _call_error(exc)
                if retryable and not final:
                    logger.warning(
                        "PutEvents call of %d entries failed with %s; resending it "
                        "(attempt %d of %d)",
                        len(pending),
                        code,
                        attempt + 1,
                        self.max_attempts,
                    )
                    continue
                for index in pending:
                    outcomes[index] = _Outcome(None, code, message, attempt)
                return _ChunkReport(outcomes, calls)

            results = response.get("Entries", [])
            retry: list[int] = []
            for position, index in enumerate(pending):
                if position >= len(results):
                    outcomes[index] = _Outcome(
                        None, _MISSING_RESULT, "PutEvents returned no result for it", attempt
                    )
                    continue
                result = results[position]
                error_code = result.get("ErrorCode")
                if not error_code:
                    outcomes[index] = _Outcome(result.get("EventId", ""), attempts=attempt)
                elif error_code in RETRYABLE_ENTRY_ERRORS and not final:
                    retry.append(index)
                else:
                    outcomes[index] = _Outcome(
                        None, error_code, result.get("ErrorMessage", ""), attempt
                    )
            if not retry:
                break
            logger.warning(
                "%d of %d entries of a PutEvents call failed transiently; resending them "
                "(attempt %d of %d)",
                len(retry),
                len(pending),
                attempt + 1,
                self.max_attempts,
            )
            pending = retry
        return _ChunkReport(outcomes, calls)
