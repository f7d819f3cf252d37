"""Consuming EventBridge events: the envelope, and handlers keyed by the event id.

An event reaches a consumer in one of two ways:

- **directly**: EventBridge invokes the function with the event itself::

      from serverless_patterns.runtime.events.envelope import EventEnvelope, event_handler

      def handle_event(event: EventEnvelope) -> None:
          order_id = event.detail["order_id"]
          ...

      handler = event_handler(handle_event)  # idempotent on the event id

- **buffered**: a rule delivers the event to an SQS queue (the body of each message is the
  event) and a QueueWorker's function consumes the queue in batches::

      from serverless_patterns.runtime.events.envelope import event_batch_handler

      handler = event_batch_handler(handle_event)  # partial batch responses, idempotent

EventBridge delivers at least once, so the same event (same ``id``) can arrive twice; the
handlers run ``handle_event`` once per event id within the idempotency window (the table and
window come from ``IDEMPOTENCY_TABLE_NAME`` / ``IDEMPOTENCY_EXPIRES_AFTER_SECONDS``, as for
every idempotent handler of this library). Parsing imports nothing beyond the standard library;
the idempotency machinery (and boto3) is imported only by a handler that uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from serverless_patterns.runtime.batch import LambdaHandler, SqsRecord, batch_handler
from serverless_patterns.runtime.json_input import MalformedJson, parse_json

if TYPE_CHECKING:
    from serverless_patterns.runtime.idempotency.store import DynamoDBStore

__all__ = [
    "EventEnvelope",
    "EventHandler",
    "MalformedEventError",
    "event_batch_handler",
    "event_handler",
    "parse_event",
    "parse_sqs_record",
]

#: Fields without which an event cannot be processed: what it is, and its id.
_REQUIRED_FIELDS = ("id", "source", "detail-type")
#: Fields EventBridge always sets; an emulator or an input transformer may leave them out.
_OPTIONAL_FIELDS = ("version", "account", "time", "region")

EventHandler = Callable[["EventEnvelope"], Any]
"""Processes one event; raising fails it. With idempotency the return value is stored (JSON)."""


class MalformedEventError(ValueError):
    """The data is not an EventBridge event. The message names what is wrong, never the data."""


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """An EventBridge event, read-only. ``raw`` is the event as received."""

    id: str
    source: str
    detail_type: str
    detail: Mapping[str, Any] = field(repr=False)
    time: str
    account: str
    region: str
    resources: tuple[str, ...]
    version: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def idempotency_key(self) -> str:
        """The event id: EventBridge keeps it when it delivers the same event again."""
        return self.id

    @property
    def timestamp(self) -> datetime | None:
        """``time`` as an aware datetime (EventBridge writes ISO 8601 in UTC); None without
        one. Raises ValueError if ``time`` is not ISO 8601."""
        return datetime.fromisoformat(self.time) if self.time else None

    @classmethod
    def from_event(cls, event: Any, *, where: str = "") -> EventEnvelope:
        """Parses an event as EventBridge delivers it to a target.

        Required: ``id``, ``source`` and ``detail-type`` (strings) and ``detail`` (an object).
        ``version``, ``account``, ``time`` and ``region`` must be strings when present
        (default: - ``""``), ``resources`` a list of strings (default: - none). Raises
        MalformedEventError naming each missing or mistyped field, never a value. ``where``
        prefixes the message (for example the SQS message id).
        """
        prefix = f"{where}: " if where else ""
        if not isinstance(event, Mapping):
            raise MalformedEventError(
                f"{prefix}not an EventBridge event: expected a JSON object, got "
                f"{type(event).__name__}"
            )
        missing = [name for name in (*_REQUIRED_FIELDS, "detail") if name not in event]
        wrong = [
            f"{name} (expected a string, got {type(event[name]).__name__})"
            for name in (*_REQUIRED_FIELDS, *_OPTIONAL_FIELDS)
            if name in event and not isinstance(event[name], str)
        ]
        detail: Any = event.get("detail")
        if "detail" in event and not isinstance(detail, Mapping):
            wrong.append(f"detail (expected an object, got {type(detail).__name__})")
        resources = event.get("resources", [])
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            wrong.append("resources (expected a list of strings)")
        if missing or wrong:
            problems = []
            if missing:
                problems.append("missing " + ", ".join(repr(name) for name in missing))
            if wrong:
                problems.append("invalid " + ", ".join(wrong))
            raise MalformedEventError(f"{prefix}not an EventBridge event: {'; '.join(problems)}")
        return cls(
            id=event["id"],
            source=event["source"],
            detail_type=event["detail-type"],
            detail=detail,
            time=event.get("time", ""),
            account=event.get("account", ""),
            region=event.get("region", ""),
            resources=tuple(resources),
            version=event.get("version", ""),
            raw=event,
        )

    @classmethod
    def from_sqs_record(cls, record: SqsRecord | Mapping[str, Any]) -> EventEnvelope:
        """Parses the body of an SQS record that an EventBridge rule delivered to a queue.

        Raises MalformedEventError naming the message id and what is wrong: a body that is not
        JSON this runtime can parse (``runtime.json_input``), or an envelope with missing or
        mistyped fields.
        """
        sqs_record = record if isinstance(record, SqsRecord) else SqsRecord(record)
        where = f"Record {sqs_record.message_id}"
        try:
            body = parse_json(sqs_record.body)
        except MalformedJson as exc:
            # The reason never contains the body; `from None` keeps it out of tracebacks.
            raise MalformedEventError(f"{where}: body is not valid JSON ({exc})") from None
        return cls.from_event(body, where=where)


def parse_event(event: Any) -> EventEnvelope:
    """``EventEnvelope.from_event``: an event delivered directly to a function."""
    return EventEnvelope.from_event(event)


def parse_sqs_record(record: SqsRecord | Mapping[str, Any]) -> EventEnvelope:
    """``EventEnvelope.from_sqs_record``: an event buffered in an SQS queue."""
    return EventEnvelope.from_sqs_record(record)


def _namespace_of(handle_event: EventHandler, namespace: str | None) -> str:
    from serverless_patterns.runtime.idempotency.sqs_batch import default_namespace

    return namespace or default_namespace(handle_event)


def _check_store(idempotent: bool, store: DynamoDBStore | None, namespace: str | None) -> None:
    if not idempotent and (store is not None or namespace is not None):
        raise ValueError("store and namespace apply only with idempotent=True")


def event_batch_handler(
    handle_event: EventHandler,
    *,
    idempotent: bool = True,
    store: DynamoDBStore | None = None,
    namespace: str | None = None,
) -> LambdaHandler:
    """An SQS batch handler for events an EventBridge rule buffers in a queue.

    Each record's body is parsed into an ``EventEnvelope`` and passed to ``handle_event``;
    the response is a partial batch response (see ``serverless_patterns.runtime.batch``): a
    record that is not an event, or whose ``handle_event`` raises, fails only itself.

    :param idempotent: run ``handle_event`` once per event id, with
        ``idempotent_batch_handler`` keyed by the envelope's ``id``: a copy of a completed
        event is deleted from the queue without running, a copy still in progress elsewhere
        fails and is retried later. ``False`` gives a plain ``batch_handler``: every delivery
        runs. Default: - ``True``.
    :param store: the idempotency records. Default: - ``DynamoDBStore()`` from the
        environment, created on the first invocation.
    :param namespace: prefix of the idempotency keys. Default: - ``default_namespace`` of
        ``handle_event`` (Lambda function name, module and name of ``handle_event``).
    """
    _check_store(idempotent, store, namespace)

    def handle_record(record: SqsRecord) -> Any:
        return handle_event(EventEnvelope.from_sqs_record(record))

    if not idempotent:
        return batch_handler(handle_record)

    from serverless_patterns.runtime.idempotency.sqs_batch import idempotent_batch_handler

    return idempotent_batch_handler(
        handle_record,
        key=lambda record: EventEnvelope.from_sqs_record(record).idempotency_key,
        store=store,
        namespace=_namespace_of(handle_event, namespace),
    )


def event_handler(
    handle_event: EventHandler,
    *,
    idempotent: bool = True,
    store: DynamoDBStore | None = None,
    namespace: str | None = None,
) -> Callable[[Any, Any], Any]:
    """A Lambda handler for events EventBridge delivers directly to the function.

    The event is parsed into an ``EventEnvelope`` (a malformed one raises MalformedEventError)
    and passed to ``handle_event``; the handler returns what ``handle_event`` returns.

    :param idempotent: run ``handle_event`` once per event id (``@idempotent`` keyed by the
        envelope's ``id``): a repeat of a completed event returns the stored result without
        running, a repeat while the first still runs raises
        ``IdempotencyAlreadyInProgressError`` so that EventBridge retries it. Default: - ``True``.
    :param store: the idempotency records. Default: - ``DynamoDBStore()`` from the
        environment, created on the first invocation.
    :param namespace: prefix of the idempotency keys. Default: - ``default_namespace`` of
        ``handle_event``.
    """
    _check_store(idempotent, store, namespace)

    def run(event: Any, context: Any) -> Any:
        return handle_event(EventEnvelope.from_event(event))

    if not idempotent:
        return run

    from serverless_patterns.runtime.idempotency.decorator import idempotent as make_idempotent

    return make_idempotent(
        key=lambda event: EventEnvelope.from_event(event).idempotency_key,
        store=store,
        namespace=_namespace_of(handle_event, namespace),
    )(run)
