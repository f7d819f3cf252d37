"""DynamoDB persistence for idempotency records, built for batches.

Per batch: one conditional PutItem per new key, all sent concurrently (the locks), then the
completions and releases in BatchWriteItem calls (25 items each, sent concurrently). So a batch
costs about two round trips of latency, and each record two write requests, as many as a
sequential PutItem + UpdateItem would spend. A conditional put that finds an existing record
returns it (``ReturnValuesOnConditionCheckFailure``), so a duplicate costs one request.

When most keys of the recent batches were duplicates (a redelivery storm, a replay), the store
reads the batch's records first with one consistent BatchGetItem and sends conditional puts
only for the keys without a current record: a replayed batch then costs one request and no
write units. New traffic, the usual case, never pays for that read.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

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

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"


class _ResultNotStored:
    """The result of a completed record whose result could not be stored."""

    def __repr__(self) -> str:
        return "RESULT_NOT_STORED"


#: ``Lock.result`` of a COMPLETED record stored without its result (not JSON, or too large).
RESULT_NOT_STORED: Any = _ResultNotStored()

#: BatchWriteItem takes at most 25 requests, BatchGetItem at most 100 keys.
_BATCH_WRITE_LIMIT = 25
_BATCH_GET_LIMIT = 100
#: Read a batch's records before locking when this share of recent keys were duplicates.
_READ_FIRST_DUPLICATE_RATE = 0.5
_ATTEMPTS = 5
_BACKOFF_BASE_SECONDS = 0.05

#: A new lock, or an expired record (TTL deletes lazily), or an in-progress lock whose
#: holder ran out of time. The same condition as Powertools' DynamoDBPersistenceLayer.
_LOCK_CONDITION = (
    "attribute_not_exists(#id) OR #expiry < :now OR "
    "(#status = :in_progress AND attribute_exists(#in_progress_expiry) "
    "AND #in_progress_expiry < :now_ms)"
)
_LOCK_NAMES = {
    "#id": schema.KEY_ATTRIBUTE,
    "#expiry": schema.EXPIRY_ATTRIBUTE,
    "#status": schema.STATUS_ATTRIBUTE,
    "#in_progress_expiry": schema.IN_PROGRESS_EXPIRY_ATTRIBUTE,
}


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

    def _map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``map`` over ``items``, concurrently when there is more than one."""
        if len(items) <= 1 or self.max_concurrency == 1:
            return [function(item) for item in items]
        if self._executor is None:
            with self._setup_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.max_concurrency, thread_name_prefix="idempotency"
                    )
        return list(self._executor.map(function, items))

    # --- locks ------------------------------------------------------------------------------

    def acquire(
        self, keys: Sequence[tuple[str, str | None]], in_progress_expiry_ms: int
    ) -> list[Lock]:
        """Takes the lock of each ``(key, validation hash)``, concurrently; one Lock per key.

        Keys must be distinct. When recent batches were mostly duplicates, current records
        are read first (one BatchGetItem) and only the other keys are locked.

        :param in_progress_expiry_ms: epoch milliseconds after which another attempt may take
            over a lock taken now (the invocation's deadline).
        """
        now = self.clock()
        current: dict[str, dict[str, Any]] = {}
        read_first = self.read_first
        if read_first is None:
            read_first = self._duplicate_rate >= _READ_FIRST_DUPLICATE_RATE
        if read_first:
            current = self._read_current([key for key, _ in keys], now)
        to_lock = [pair for pair in keys if pair[0] not in current]
        taken = dict(zip(to_lock, self._lock(to_lock, now, in_progress_expiry_ms), strict=True))
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
                time.sleep(random.uniform(0, _BACKOFF_BASE_SECONDS * 2**attempt))
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
        self, keys: Sequence[tuple[str, str | None]], now: float, in_progress_expiry_ms: int
    ) -> list[Lock]:
        """One conditional PutItem per key, concurrently."""
        expiry = str(int(now) + self.expires_after_seconds)
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
                schema.EXPIRY_ATTRIBUTE: {"N": expiry},
                schema.IN_PROGRESS_EXPIRY_ATTRIBUTE: {"N": str(in_progress_expiry_ms)},
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
                error = exc.response.get("Error", {})
                if error.get("Code") == "ConditionalCheckFailedException":
                    existing: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
                    return _existing_record(existing, validation)
                return _refused(exc)
            except BotoCoreError as exc:
                return _refused(exc)
            return Lock(LockState.ACQUIRED)

        return self._map(take, keys)

    # --- completions and releases ---------------------------------------------------------

    def write(self, completions: Sequence[Completion], releases: Sequence[str]) -> list[str]:
        """Stores completions as COMPLETED and deletes released locks, in batched writes.

        Unprocessed items and failed calls are retried with exponential backoff and jitter.
        Returns the keys that could still not be written (logged as errors); a completion
        not written stays IN_PROGRESS until its lock expires.
        """
        expiry = str(int(self.clock()) + self.expires_after_seconds)
        requests: list[tuple[str, dict[str, Any]]] = []
        for completion in completions:
            item: dict[str, Any] = {
                schema.KEY_ATTRIBUTE: {"S": completion.key},
                schema.STATUS_ATTRIBUTE: {"S": COMPLETED},
                schema.EXPIRY_ATTRIBUTE: {"N": expiry},
            }
            if completion.result_json is not None:
                item[schema.DATA_ATTRIBUTE] = {"S": completion.result_json}
            if completion.validation is not None:
                item[schema.VALIDATION_ATTRIBUTE] = {"S": completion.validation}
            requests.append((completion.key, {"PutRequest": {"Item": item}}))
        for key in releases:
            requests.append((key, {"DeleteRequest": {"Key": {schema.KEY_ATTRIBUTE: {"S": key}}}}))
        chunks = [
            requests[start : start + _BATCH_WRITE_LIMIT]
            for start in range(0, len(requests), _BATCH_WRITE_LIMIT)
        ]
        unwritten: list[str] = [
            key for keys in self._map(self._write_chunk, chunks) for key in keys
        ]
        if unwritten:
            logger.error(
                "%d idempotency records could not be written; they stay IN_PROGRESS until "
                "their lock expires",
                len(unwritten),
                extra={"idempotencyKeys": unwritten},
            )
        return unwritten

    def _write_chunk(self, chunk: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """Writes up to 25 requests; returns the keys still unwritten after every attempt."""
        pending = chunk
        for attempt in range(_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, _BACKOFF_BASE_SECONDS * 2**attempt))
            try:
                requests: Any = [request for _, request in pending]
                response = self.client.batch_write_item(RequestItems={self.table_name: requests})
            except (ClientError, BotoCoreError) as exc:
                logger.warning(
                    "BatchWriteItem of idempotency records failed (attempt %d): %s",
                    attempt + 1,
                    type(exc).__name__,
                )
                continue
            unprocessed = response.get("UnprocessedItems", {}).get(self.table_name, [])
            if not unprocessed:
                return []
            left = {_request_key(request) for request in unprocessed}
            pending = [pair for pair in pending if pair[0] in left]
        return [key for key, _ in pending]


def _request_key(request: Any) -> str:
    """The idempotency key a BatchWriteItem put or delete request concerns."""
    if "PutRequest" in request:
        return str(request["PutRequest"]["Item"][schema.KEY_ATTRIBUTE]["S"])
    return str(request["DeleteRequest"]["Key"][schema.KEY_ATTRIBUTE]["S"])


def _refused(exc: Exception) -> Lock:
    logger.warning("Could not take the idempotency lock: %s", type(exc).__name__)
    error = IdempotencyPersistenceError(
        f"taking the idempotency lock failed with {type(exc).__name__}; the work was not run"
    )
    error.__cause__ = exc
    return Lock(LockState.REFUSED, error=error)


def _is_current(item: dict[str, Any], now: float) -> bool:
    """Whether a lock attempt at ``now`` would fail on this record (``_LOCK_CONDITION``)."""
    if int(item[schema.EXPIRY_ATTRIBUTE]["N"]) < int(now):
        return False
    in_progress_expiry = item.get(schema.IN_PROGRESS_EXPIRY_ATTRIBUTE, {}).get("N")
    status = item.get(schema.STATUS_ATTRIBUTE, {}).get("S")
    return not (
        status == IN_PROGRESS
        and in_progress_expiry is not None
        and int(in_progress_expiry) < int(now * 1000)
    )


def _existing_record(item: dict[str, Any], validation: str | None) -> Lock:
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
        data = item.get(schema.DATA_ATTRIBUTE, {}).get("S")
        result = RESULT_NOT_STORED if data is None else json.loads(data)
        return Lock(LockState.COMPLETED, result=result, existed=True)
    # IN_PROGRESS, or (rarely) a record the condition saw as current while it just expired:
    # either way another attempt is or was at work; fail now and let the retry decide.
    return Lock(
        LockState.REFUSED,
        error=IdempotencyAlreadyInProgressError(
            "another attempt holds the idempotency lock of this record; it will be retried"
        ),
        existed=True,
    )
