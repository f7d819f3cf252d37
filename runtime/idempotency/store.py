"""DynamoDB persistence for idempotency records, built for batches.

Per batch: one conditional PutItem per new key, all sent concurrently (the locks). Each lock
carries the taking attempt's owner token. A finished record is then completed by one
conditional PutItem, a failed one released by one conditional DeleteItem; both are sent in
the background as soon as the record finishes, and apply only while the item is still
IN_PROGRESS under the same owner, so they never overwrite or delete another attempt's record.
A new record costs two write requests (two write units for items under 1 KB); a conditional
put that finds an existing record returns it (``ReturnValuesOnConditionCheckFailure``), so a
duplicate costs one request.

When most keys of the recent batches were duplicates (a redelivery storm, a replay), the store
reads the batch's records first with one consistent BatchGetItem and sends conditional puts
only for the keys without a current record: a replayed batch then costs one request and no
write units. New traffic, the usual case, never pays for that read.

When a record is free to lock (``_LOCK_CONDITION``, mirrored by ``_is_current``): it does not
exist; or it is IN_PROGRESS and its holder's deadline (``in_progress_expiration``) has
passed; or it is anything else (COMPLETED, no status, an unknown status, or IN_PROGRESS
without a deadline) and its ``expiration`` has passed. A missing or non-numeric expiry never
passes, so such an odd record holds its key until it is deleted. A lock's ``expiration`` (the
TTL attribute) is at least its holder's deadline, so TTL never deletes a lock in use.

AWS pages relied on: "UpdateTimeToLive" (TTL deletes an item once its epoch-seconds attribute
is below the current time, lazily: expired items still show up in reads); "PutItem" and
"DeleteItem" (``ReturnValuesOnConditionCheckFailure=ALL_OLD`` returns the item, consuming no
read units); "DynamoDB read and write operations" (one write unit per 1 KB written; a failed
conditional write still consumes write units).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from serverless_patterns.runtime.idempotency import schema
from serverless_patterns.runtime.idempotency.errors import (
    IdempotencyAlreadyInProgressError,
    IdempotencyError,
    IdempotencyPersistenceError,
    IdempotencyValidationError,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "COMPLETED",
    "IN_PROGRESS",
    "RESULT_NOT_STORED",
    "Completion",
    "DynamoDBStore",
    "Lock",
    "LockState",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"


class _ResultNotStored:
    """The result of a completed record whose result could not be stored."""

    def __repr__(self) -> str:
        return "RESULT_NOT_STORED"


#: ``Lock.result`` of a COMPLETED record stored without its result (not JSON, or too large).
RESULT_NOT_STORED: Any = _ResultNotStored()

#: BatchGetItem takes at most 100 keys.
_BATCH_GET_LIMIT = 100
#: Read a batch's records before locking when this share of recent keys were duplicates.
_READ_FIRST_DUPLICATE_RATE = 0.5
_ATTEMPTS = 5
_BACKOFF_BASE_SECONDS = 0.05

#: A new lock; an in-progress lock whose holder's deadline passed; any other record (completed,
#: or odd) whose expiry passed. TTL deletes lazily, so expired records are still read.
_LOCK_CONDITION = (
    "attribute_not_exists(#id) "
    "OR (#status = :in_progress AND #in_progress_expiry < :now_ms) "
    "OR (#expiry < :now AND NOT (#status = :in_progress AND attribute_exists(#in_progress_expiry)))"
)
_LOCK_NAMES = {
    "#id": schema.KEY_ATTRIBUTE,
    "#expiry": schema.EXPIRY_ATTRIBUTE,
    "#status": schema.STATUS_ATTRIBUTE,
    "#in_progress_expiry": schema.IN_PROGRESS_EXPIRY_ATTRIBUTE,
}
#: Completions and releases apply only to the caller's own lock.
_OWNED_CONDITION = "#status = :in_progress AND #owner = :owner"
_OWNED_NAMES = {"#status": schema.STATUS_ATTRIBUTE, "#owner": schema.OWNER_ATTRIBUTE}


class LockState(Enum):
    """What taking the lock of one key found."""

    ACQUIRED = "acquired"  # the caller holds the lock and must run the work
    COMPLETED = "completed"  # a completed duplicate: ``Lock.result`` holds the stored result
    REFUSED = "refused"  # the record fails with ``Lock.error``; the work must not run


@dataclass(frozen=True)
class Lock:
    """The outcome of taking the lock of one key; ``existed`` when a current record was found."""

    state: LockState
    result: Any = None
    error: IdempotencyError | None = None
    existed: bool = False


@dataclass(frozen=True)
class Completion:
    """A finished record to store as COMPLETED: its key, result (JSON text) and payload hash.

    ``result_json`` is None when the result could not be stored: the record is completed
    (its work must not run again) without a result.
    """

    key: str
    result_json: str | None
    validation: str | None = None


def _expires_after_from_environment() -> int:
    raw = os.environ.get(schema.EXPIRES_AFTER_ENV)
    if raw is None:
        return schema.DEFAULT_EXPIRES_AFTER_SECONDS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{schema.EXPIRES_AFTER_ENV} must be a positive integer, got {raw!r}")
    return value


class DynamoDBStore:
    """Idempotency records in a DynamoDB table (partition key ``id``, TTL ``expiration``).

    :param table_name: the table. Default: - the ``IDEMPOTENCY_TABLE_NAME`` environment variable.
    :param expires_after_seconds: how long a completed record stops duplicates. Default: - the
        ``IDEMPOTENCY_EXPIRES_AFTER_SECONDS`` environment variable, else one hour.
    :param client: a DynamoDB client. Default: - one created on first use, with a connection
        pool as large as ``max_concurrency`` and botocore's standard retries.
    :param max_concurrency: requests in flight at once per batch. Default: - 10.
    :param read_first: read each batch's records (one BatchGetItem) before locking:
        ``True`` always, ``False`` never. Default: - when at least half the keys of recent
        batches were duplicates.
    :param clock: seconds since the epoch. Default: - ``time.time``.
    """

    def __init__(
        self,
        table_name: str | None = None,
        *,
        expires_after_seconds: int | None = None,
        client: DynamoDBClient | None = None,
        max_concurrency: int = 10,
        read_first: bool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        name = table_name or os.environ.get(schema.TABLE_NAME_ENV)
        if not name:
            raise ValueError(
                f"No idempotency table: pass table_name or set {schema.TABLE_NAME_ENV}"
            )
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.table_name: str = name
        self.expires_after_seconds: int = (
            expires_after_seconds
            if expires_after_seconds is not None
            else _expires_after_from_environment()
        )
        if self.expires_after_seconds < 1:
            raise ValueError(
                f"expires_after_seconds must be at least 1, got {self.expires_after_seconds}"
            )
        self.max_concurrency = max_concurrency
        self.read_first = read_first
        self.clock = clock
        self._client = client
        self._executor: ThreadPoolExecutor | None = None
        self._setup_lock = threading.Lock()
        #: Moving average of the share of keys per batch that already had a current record.
        self._duplicate_rate = 0.0

    @property
    def client(self) -> DynamoDBClient:
        """The DynamoDB client, created on first use."""
        if self._client is None:
            with self._setup_lock:
                if self._client is None:
                    config = Config(
                        max_pool_connections=self.max_concurrency,
                        retries={"mode": "standard"},
                        connect_timeout=3,
                        read_timeout=10,
                    )
                    self._client = boto3.client("dynamodb", config=config)
        return self._client

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._setup_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.max_concurrency, thread_name_prefix="idempotency"
                    )
        return self._executor

    def _map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``map`` over ``items``, concurrently when there is more than one."""
        if len(items) <= 1 or self.max_concurrency == 1:
            return [function(item) for item in items]
        return list(self._pool().map(function, items))

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Runs ``function(*args)`` in the background, on the store's threads."""
        return self._pool().submit(function, *args)

    # --- locks ------------------------------------------------------------------------------

    def acquire(
        self, keys: Sequence[tuple[str, str | None]], in_progress_expiry_ms: int, owner: str
    ) -> list[Lock]:
        """Takes the lock of each ``(key, validation hash)`` for ``owner``, concurrently; one
        Lock per key.

        Keys must be distinct. When recent batches were mostly duplicates, current records
        are read first (one BatchGetItem) and only the other keys are locked.

        :param in_progress_expiry_ms: epoch milliseconds after which another attempt may take
            over a lock taken now (the invocation's deadline).
        :param owner: a token unique to the caller; completions and releases must repeat it.
        """
        now = self.clock()
        current: dict[str, dict[str, Any]] = {}
        read_first = self.read_first
        if read_first is None:
            read_first = self._duplicate_rate >= _READ_FIRST_DUPLICATE_RATE
        if read_first:
            current = self._read_current([key for key, _ in keys], now)
        to_lock = [pair for pair in keys if pair[0] not in current]
        taken = dict(
            zip(to_lock, self._lock(to_lock, now, in_progress_expiry_ms, owner), strict=True)
        )
        locks = [
            _existing_record(current[key], validation)
            if key in current
            else taken[(key, validation)]
            for key, validation in keys
        ]
        if keys:
            existing = len(current) + sum(lock.existed for lock in taken.values())
            self._duplicate_rate = (self._duplicate_rate + existing / len(keys)) / 2
        return locks

    def _read_current(self, keys: Sequence[str], now: float) -> dict[str, dict[str, Any]]:
        """The records of ``keys`` that a lock attempt would find current (consistent reads).

        Keys that could not be read are left out, so they get a conditional put as usual.
        """
        chunks = [
            keys[start : start + _BATCH_GET_LIMIT]
            for start in range(0, len(keys), _BATCH_GET_LIMIT)
        ]
        items = [item for found in self._map(self._get_chunk, chunks) for item in found]
        return {item[schema.KEY_ATTRIBUTE]["S"]: item for item in items if _is_current(item, now)}

    def _get_chunk(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        request: Any = {
            "Keys": [{schema.KEY_ATTRIBUTE: {"S": key}} for key in keys],
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        for attempt in range(_ATTEMPTS):
            if attempt:
                _backoff(attempt)
            try:
                response = self.client.batch_get_item(RequestItems={self.table_name: request})
            except (ClientError, BotoCoreError) as exc:
                logger.warning("BatchGetItem of idempotency records failed: %s", type(exc).__name__)
                break
            items.extend(response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys", {}).get(self.table_name)
            if not request:
                break
        return items

    def _lock(
        self,
        keys: Sequence[tuple[str, str | None]],
        now: float,
        in_progress_expiry_ms: int,
        owner: str,
    ) -> list[Lock]:
        """One conditional PutItem per key, concurrently."""
        # TTL must not delete a lock its holder may still be using.
        expiry = max(int(now) + self.expires_after_seconds, math.ceil(in_progress_expiry_ms / 1000))
        values = {
            ":now": {"N": str(int(now))},
            ":now_ms": {"N": str(int(now * 1000))},
            ":in_progress": {"S": IN_PROGRESS},
        }

        def take(key_and_validation: tuple[str, str | None]) -> Lock:
            key, validation = key_and_validation
            item: dict[str, Any] = {
                schema.KEY_ATTRIBUTE: {"S": key},
                schema.STATUS_ATTRIBUTE: {"S": IN_PROGRESS},
                schema.EXPIRY_ATTRIBUTE: {"N": str(expiry)},
                schema.IN_PROGRESS_EXPIRY_ATTRIBUTE: {"N": str(in_progress_expiry_ms)},
                schema.OWNER_ATTRIBUTE: {"S": owner},
            }
            if validation is not None:
                item[schema.VALIDATION_ATTRIBUTE] = {"S": validation}
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression=_LOCK_CONDITION,
                    ExpressionAttributeNames=_LOCK_NAMES,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if _condition_failed(exc):
                    existing: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
                    if _owned_by(existing, owner, IN_PROGRESS):  # a retry met its own first try
                        return Lock(LockState.ACQUIRED)
                    return _existing_record(existing, validation)
                return _refused(exc)
            except BotoCoreError as exc:
                return _refused(exc)
            return Lock(LockState.ACQUIRED)

        return self._map(take, keys)

    # --- completions and releases ---------------------------------------------------------

    def complete(self, completion: Completion, owner: str) -> bool:
        """Stores a record as COMPLETED if ``owner`` still holds its lock; whether it did.

        Failed calls are retried with exponential backoff and jitter; a record still not
        written stays IN_PROGRESS until its lock expires (logged as an error). A record
        another attempt owns is left as it is (logged as a warning).
        """
        item: dict[str, Any] = {
            schema.KEY_ATTRIBUTE: {"S": completion.key},
            schema.STATUS_ATTRIBUTE: {"S": COMPLETED},
            schema.EXPIRY_ATTRIBUTE: {"N": str(int(self.clock()) + self.expires_after_seconds)},
            schema.OWNER_ATTRIBUTE: {"S": owner},
        }
        if completion.result_json is not None:
            item[schema.DATA_ATTRIBUTE] = {"S": completion.result_json}
        if completion.validation is not None:
            item[schema.VALIDATION_ATTRIBUTE] = {"S": completion.validation}

        def put(condition: dict[str, Any]) -> None:
            self.client.put_item(TableName=self.table_name, Item=item, **condition)

        return self._write_owned("complete", completion.key, owner, put)

    def release(self, key: str, owner: str) -> bool:
        """Deletes the lock of ``key`` if ``owner`` still holds it; whether it is gone.

        Retried and logged as ``complete`` is.
        """

        def delete(condition: dict[str, Any]) -> None:
            self.client.delete_item(
                TableName=self.table_name, Key={schema.KEY_ATTRIBUTE: {"S": key}}, **condition
            )

        return self._write_owned("release", key, owner, delete)

    def _write_owned(
        self, action: str, key: str, owner: str, send: Callable[[dict[str, Any]], None]
    ) -> bool:
        condition: dict[str, Any] = {
            "ConditionExpression": _OWNED_CONDITION,
            "ExpressionAttributeNames": _OWNED_NAMES,
            "ExpressionAttributeValues": {
                ":in_progress": {"S": IN_PROGRESS},
                ":owner": {"S": owner},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        for attempt in range(_ATTEMPTS):
            if attempt:
                _backoff(attempt)
            try:
                send(condition)
                return True
            except ClientError as exc:
                if _condition_failed(exc):
                    found: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
                    return _written_before(action, key, owner, found)
                error = type(exc).__name__
            except BotoCoreError as exc:
                error = type(exc).__name__
            logger.warning(
                "Could not %s the idempotency record (attempt %d): %s", action, attempt + 1, error
            )
        logger.error(
            "Could not %s the idempotency record; it stays IN_PROGRESS until its lock expires",
            action,
            extra={"idempotencyKey": key},
        )
        return False


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, _BACKOFF_BASE_SECONDS * 2**attempt))


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _owned_by(item: Mapping[str, Any], owner: str, status: str) -> bool:
    return bool(
        item.get(schema.OWNER_ATTRIBUTE, {}).get("S") == owner
        and item.get(schema.STATUS_ATTRIBUTE, {}).get("S") == status
    )


def _written_before(action: str, key: str, owner: str, found: Mapping[str, Any]) -> bool:
    """A completion or release whose condition failed: done by an earlier try of this owner
    (its response was lost), or the record is another attempt's and is left alone."""
    if action == "release" and not found:
        return True
    if action == "complete" and _owned_by(found, owner, COMPLETED):
        return True
    logger.warning(
        "Did not %s the idempotency record: its lock is no longer this attempt's (it expired "
        "and another attempt took it, or the record is gone); the record was left as it is",
        action,
        extra={"idempotencyKey": key},
    )
    return False


def _refused(exc: Exception) -> Lock:
    logger.warning("Could not take the idempotency lock: %s", type(exc).__name__)
    error = IdempotencyPersistenceError(
        f"taking the idempotency lock failed with {type(exc).__name__}; the work was not run"
    )
    error.__cause__ = exc
    return Lock(LockState.REFUSED, error=error)


def _number(item: Mapping[str, Any], name: str) -> Decimal | None:
    """A number attribute's value; None when missing or not a number (no comparison holds)."""
    value = item.get(name, {})
    if not isinstance(value, Mapping) or "N" not in value:
        return None
    try:
        return Decimal(value["N"])
    except (InvalidOperation, TypeError):
        return None


def _is_current(item: Mapping[str, Any], now: float) -> bool:
    """Whether a lock attempt at ``now`` would fail on this stored item (``_LOCK_CONDITION``,
    with DynamoDB's rule that a comparison with a missing attribute is false)."""
    status = item.get(schema.STATUS_ATTRIBUTE, {})
    in_progress = isinstance(status, Mapping) and status.get("S") == IN_PROGRESS
    in_progress_expiry = _number(item, schema.IN_PROGRESS_EXPIRY_ATTRIBUTE)
    expiry = _number(item, schema.EXPIRY_ATTRIBUTE)
    if in_progress and in_progress_expiry is not None and in_progress_expiry < int(now * 1000):
        return False
    has_deadline = in_progress and schema.IN_PROGRESS_EXPIRY_ATTRIBUTE in item
    return not (expiry is not None and expiry < int(now) and not has_deadline)


def _existing_record(item: Mapping[str, Any], validation: str | None) -> Lock:
    """The lock is held or completed: a completed duplicate, or a refusal with the reason."""
    stored_validation = item.get(schema.VALIDATION_ATTRIBUTE, {}).get("S")
    if validation is not None and stored_validation is not None and stored_validation != validation:
        return Lock(
            LockState.REFUSED,
            error=IdempotencyValidationError(
                "a record with this idempotency key but a different payload was already "
                "processed; refusing to treat it as a duplicate"
            ),
            existed=True,
        )
    status = item.get(schema.STATUS_ATTRIBUTE, {}).get("S")
    if status == COMPLETED:
        return Lock(LockState.COMPLETED, result=_stored_result(item), existed=True)
    # IN_PROGRESS; a record without a status or with an unknown one (held until it expires);
    # or (rarely) one the condition saw as current while it just expired. Fail now and let
    # the retry decide.
    return Lock(
        LockState.REFUSED,
        error=IdempotencyAlreadyInProgressError(
            "another attempt holds the idempotency lock of this record; it will be retried"
        ),
        existed=True,
    )


def _stored_result(item: Mapping[str, Any]) -> Any:
    """A completed record's result; ``RESULT_NOT_STORED`` when it has none it can decode."""
    data = item.get(schema.DATA_ATTRIBUTE, {}).get("S")
    if data is None:
        return RESULT_NOT_STORED
    try:
        return json.loads(data)
    except ValueError:
        logger.warning("A completed idempotency record holds a result that is not JSON")
        return RESULT_NOT_STORED
