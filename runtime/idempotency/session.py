"""One batch under idempotency: locks taken together up front, each completion written at once.

``IdempotentBatch`` is the state machine behind the SQS batch handler and the single-event
decorator. Per record: a new key is locked (IN_PROGRESS) and its work runs; a COMPLETED
duplicate returns the stored result without running; an IN_PROGRESS duplicate, a key that
cannot be read, a payload that differs from the one stored and a DynamoDB error each fail that
record only, without running its work. Work that raises releases its lock; work whose result
cannot be stored is completed without it, and that attempt fails. Each completion or release
is sent in the background as soon as its record finishes, while the next record runs; the
batch waits for them when it closes. So a worker killed mid-batch leaves IN_PROGRESS only the
record it was running (and one finished less than a DynamoDB round trip before).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, TypeVar

from serverless_patterns.runtime.idempotency.errors import (
    IdempotencyAlreadyInProgressError,
    IdempotencyError,
    IdempotencyKeyError,
    IdempotencyResultError,
    IdempotencyValidationError,
)
from serverless_patterns.runtime.idempotency.keys import data_hash, idempotency_key
from serverless_patterns.runtime.idempotency.store import (
    RESULT_NOT_STORED,
    Completion,
    DynamoDBStore,
    Lock,
    LockState,
)

__all__ = ["IdempotentBatch", "Keyed", "remaining_time_of"]

logger = logging.getLogger(__name__)

R = TypeVar("R")

#: DynamoDB's item size limit.
_ITEM_LIMIT_BYTES = 400 * 1024
#: Room kept for the item's other attributes (status, expiry, validation hash, names).
_ITEM_OVERHEAD_BYTES = 256
#: Without a Lambda context, a lock is held at most as long as Lambda's longest timeout.
_DEFAULT_IN_PROGRESS_MS = 900_000


@dataclass(frozen=True)
class Keyed:
    """A record's idempotency key and payload hash, or why its key could not be read."""

    key: str | None
    validation: str | None = None
    error: IdempotencyError | None = None

    @classmethod
    def of(
        cls,
        record: R,
        record_id: str,
        namespace: str,
        key: Callable[[R], Any],
        validation: Callable[[R], Any] | None,
    ) -> Keyed:
        """The key and payload hash ``key`` and ``validation`` select from ``record``; when the
        key cannot be read, ``IdempotencyKeyError`` naming ``record_id`` (the record fails, the
        batch goes on)."""
        try:
            return cls(
                idempotency_key(namespace, key(record)),
                data_hash(validation(record)) if validation is not None else None,
            )
        except IdempotencyError as exc:
            error: IdempotencyError = IdempotencyKeyError(f"Record {record_id}: {exc}")
        except Exception as exc:  # the selector failed: malformed body, missing field, ...
            error = IdempotencyKeyError(
                f"Record {record_id}: the idempotency key could not be read "
                f"({type(exc).__name__}: {exc})"
            )
        return cls(None, error=error)


class _State(Enum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass
class _Entry:
    keyed: Keyed
    first: int  # index of the first record of the batch with the same key
    lock: Lock | None = None
    state: _State = _State.PENDING
    result: Any = None


def remaining_time_of(context: Any) -> Callable[[], int] | None:
    """``context.get_remaining_time_in_millis`` of a Lambda context; None without one."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining if callable(remaining) else None


class IdempotentBatch:
    """Idempotency for the records of one batch; use as a context manager.

    :param store: where records are kept.
    :param records: each record's ``Keyed``, in batch order.
    :param remaining_ms: the invocation's remaining time; locks expire when it runs out, so
        an attempt killed by its timeout can be retried. Default: - 15 minutes from now.
    """

    def __init__(
        self,
        store: DynamoDBStore,
        records: Sequence[Keyed],
        remaining_ms: Callable[[], int] | None = None,
    ) -> None:
        self._store = store
        self._remaining_ms = remaining_ms
        first_by_key: dict[str, int] = {}
        self._entries = [
            _Entry(keyed, first_by_key.setdefault(keyed.key, index) if keyed.key else index)
            for index, keyed in enumerate(records)
        ]
        #: Marks this batch's locks: only it may complete or release them.
        self._owner = uuid.uuid4().hex
        self._writes: list[Future[bool]] = []

    def __enter__(self) -> IdempotentBatch:
        firsts = [
            entry
            for index, entry in enumerate(self._entries)
            if entry.keyed.key is not None and entry.first == index
        ]
        remaining = self._remaining_ms() if self._remaining_ms else _DEFAULT_IN_PROGRESS_MS
        deadline_ms = int(self._store.clock() * 1000) + remaining
        locks = self._store.acquire(
            [(entry.keyed.key, entry.keyed.validation) for entry in firsts],  # type: ignore[misc]
            deadline_ms,
            self._owner,
        )
        for entry, lock in zip(firsts, locks, strict=True):
            entry.lock = lock
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for entry in self._entries:
            locked = entry.lock is not None and entry.lock.state is LockState.ACQUIRED
            if locked and entry.state is _State.PENDING:  # never run (a FIFO group stopped)
                self._release(entry)
        for write in wait(self._writes).done:
            if write.exception() is not None:
                logger.error("Idempotency record write failed", exc_info=write.exception())

    def run(self, index: int, work: Callable[[], R]) -> R:
        """Runs the work of record ``index`` once across duplicates; returns its result.

        A completed duplicate returns the stored result (as JSON decodes it) instead, or
        ``RESULT_NOT_STORED`` when its result could not be stored. Raises the record's
        IdempotencyError, or what the work raised. A result that cannot be stored (not JSON,
        or too large) completes the record without it and raises IdempotencyResultError.
        """
        entry = self._entries[index]
        if entry.keyed.error is not None:
            raise entry.keyed.error
        if entry.first != index:
            return self._follow(entry, self._entries[entry.first])  # type: ignore[no-any-return]
        lock = entry.lock
        assert lock is not None, "run() outside a `with IdempotentBatch(...)` block"
        if lock.state is LockState.COMPLETED:
            entry.state, entry.result = _State.DONE, lock.result
            return lock.result  # type: ignore[no-any-return]
        if lock.state is LockState.REFUSED:
            entry.state = _State.FAILED
            assert lock.error is not None
            raise lock.error
        if entry.state is not _State.PENDING:
            raise RuntimeError(f"record {index} of the batch was already run")
        try:
            result = work()
        except BaseException:
            self._release(entry)
            raise
        assert entry.keyed.key is not None
        try:
            result_json: str | None = self._storable(result, entry.keyed.key)
        except IdempotencyResultError:
            # The work's effects happened: complete the record without its result, so no
            # duplicate runs the work again, and fail this attempt with the reason.
            entry.state, entry.result = _State.DONE, RESULT_NOT_STORED
            self._complete(Completion(entry.keyed.key, None, entry.keyed.validation))
            raise
        entry.state, entry.result = _State.DONE, result
        self._complete(Completion(entry.keyed.key, result_json, entry.keyed.validation))
        return result

    # --- internals --------------------------------------------------------------------------

    def _follow(self, entry: _Entry, first: _Entry) -> Any:
        """A record whose key appeared earlier in the batch shares that record's outcome."""
        if entry.keyed.validation != first.keyed.validation:
            entry.state = _State.FAILED
            raise IdempotencyValidationError(
                "a record with this idempotency key but a different payload came earlier in "
                "the batch"
            )
        if first.state is _State.DONE:
            entry.state, entry.result = _State.DONE, first.result
            return first.result
        entry.state = _State.FAILED
        raise IdempotencyAlreadyInProgressError(
            "a record with the same idempotency key earlier in this batch did not complete; "
            "this one will be retried"
        )

    def _release(self, entry: _Entry) -> None:
        entry.state = _State.FAILED
        assert entry.keyed.key is not None
        self._writes.append(self._store.submit(self._store.release, entry.keyed.key, self._owner))

    def _complete(self, completion: Completion) -> None:
        self._writes.append(self._store.submit(self._store.complete, completion, self._owner))

    @staticmethod
    def _storable(result: Any, key: str | None) -> str:
        try:
            text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise IdempotencyResultError(
                f"the result cannot be stored as JSON ({type(exc).__name__}: {exc}); return "
                "JSON-serializable data"
            ) from None
        try:
            encoded = text.encode()
        except UnicodeEncodeError:  # a lone surrogate: store it as a JSON escape instead
            text = json.dumps(result, separators=(",", ":"))
            encoded = text.encode()
        size = len(encoded) + len(key or "") + _ITEM_OVERHEAD_BYTES
        if size > _ITEM_LIMIT_BYTES:
            raise IdempotencyResultError(
                f"the result is {size} bytes with its record, above DynamoDB's item limit of "
                f"{_ITEM_LIMIT_BYTES} bytes; return something smaller (for example an id)"
            )
        return text
