"""Idempotency for Lambda handlers, batched for SQS: each record's effects happen once.

- ``idempotent_batch_handler(handle_record, key=...)``: an SQS batch handler (partial batch
  responses) whose records are locked together and each completed as soon as it finishes.
- ``@idempotent(key=...)``: one event per invocation (EventBridge, API, direct invoke).
- ``DynamoDBStore``: the table (``IDEMPOTENCY_TABLE_NAME``), expiry window
  (``IDEMPOTENCY_EXPIRES_AFTER_SECONDS``, default one hour) and client they share.
"""

from typing import TYPE_CHECKING

from serverless_patterns.runtime._lazy_exports import lazy_exports

# Each name's module is imported when the name is first read (``lazy_exports``), so importing
# one name does not load the others' dependencies. These imports are the list it reads.
if TYPE_CHECKING:
    from serverless_patterns.runtime.idempotency.decorator import idempotent
    from serverless_patterns.runtime.idempotency.errors import (
        IdempotencyAlreadyInProgressError,
        IdempotencyError,
        IdempotencyKeyError,
        IdempotencyPersistenceError,
        IdempotencyResultError,
        IdempotencyValidationError,
    )
    from serverless_patterns.runtime.idempotency.keys import data_hash, idempotency_key
    from serverless_patterns.runtime.idempotency.session import IdempotentBatch, Keyed
    from serverless_patterns.runtime.idempotency.sqs_batch import idempotent_batch_handler
    from serverless_patterns.runtime.idempotency.store import DynamoDBStore

__all__ = [
    "DynamoDBStore",
    "IdempotencyAlreadyInProgressError",
    "IdempotencyError",
    "IdempotencyKeyError",
    "IdempotencyPersistenceError",
    "IdempotencyResultError",
    "IdempotencyValidationError",
    "IdempotentBatch",
    "Keyed",
    "data_hash",
    "idempotency_key",
    "idempotent",
    "idempotent_batch_handler",
]

__getattr__, __dir__ = lazy_exports(globals())
