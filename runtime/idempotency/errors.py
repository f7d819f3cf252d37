"""Why an idempotent record or event failed. Messages never contain payloads or results."""

from __future__ import annotations


class IdempotencyError(Exception):
    """Base class of every idempotency failure; the record fails and is retried later."""


class IdempotencyKeyError(IdempotencyError):
    """No idempotency key could be taken from the record (missing field, malformed body)."""


class IdempotencyAlreadyInProgressError(IdempotencyError):
    """Another attempt holds the lock for this key; retry after it finishes or expires."""


class IdempotencyValidationError(IdempotencyError):
    """A record with the same key but a different validated payload was seen before."""


class IdempotencyResultError(IdempotencyError):
    """The work's result cannot be stored: not JSON-serializable, or too large for an item."""


class IdempotencyPersistenceError(IdempotencyError):
    """DynamoDB could not be reached or refused the request; the work was not run."""
