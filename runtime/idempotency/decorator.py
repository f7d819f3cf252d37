"""``@idempotent``: one Lambda event handled once per key within the expiry window.

::

    from serverless_patterns.runtime.idempotency import idempotent

    @idempotent(key="detail.order_id")
    def handler(event, context):
        ...
        return {"status": "shipped"}

A repeat of a completed event returns the stored result without running the handler; a
repeat while the first is still running raises IdempotencyAlreadyInProgressError (the
invocation fails and the service retries it); an exception releases the lock. A result that
cannot be stored (not JSON, over 400 KB) raises IdempotencyResultError on the call that ran
the handler; the event is still recorded as completed, so a duplicate does not run the
handler again: it returns None and logs a warning that the stored result is unavailable.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

from serverless_patterns.runtime.idempotency.keys import (
    Selector,
    as_selector,
    data_hash,
    idempotency_key,
)
from serverless_patterns.runtime.idempotency.session import (
    IdempotentBatch,
    Keyed,
    remaining_time_of,
)
from serverless_patterns.runtime.idempotency.sqs_batch import default_namespace
from serverless_patterns.runtime.idempotency.store import RESULT_NOT_STORED, DynamoDBStore

__all__ = ["idempotent"]

logger = logging.getLogger(__name__)

R = TypeVar("R")
Handler = Callable[[Any, Any], R]


@overload
def idempotent(handler: Handler[R], /) -> Handler[R]: ...


@overload
def idempotent(
    handler: None = None,
    /,
    *,
    key: str | Selector | None = None,
    payload_validation: str | Selector | None = None,
    store: DynamoDBStore | None = None,
    namespace: str | None = None,
) -> Callable[[Handler[R]], Handler[R]]: ...


def idempotent(
    handler: Handler[R] | None = None,
    /,
    *,
    key: str | Selector | None = None,
    payload_validation: str | Selector | None = None,
    store: DynamoDBStore | None = None,
    namespace: str | None = None,
) -> Handler[R] | Callable[[Handler[R]], Handler[R]]:
    """Makes a ``handler(event, context)`` idempotent; usable bare or with arguments.

    :param key: a JMESPath expression or a function of the event selecting what identifies
        it. Default: - the whole event.
    :param payload_validation: the part of the event a duplicate must repeat exactly.
        Default: - no validation.
    :param store: the record store. Default: - ``DynamoDBStore()`` from the environment,
        created on the first invocation.
    :param namespace: prefix of every key. Default: - ``default_namespace(handler)``.
    """
    select_key = as_selector(key)
    select_validation = as_selector(payload_validation)

    def decorate(function: Handler[R]) -> Handler[R]:
        prefix = namespace or default_namespace(function)
        stores: list[DynamoDBStore] = [store] if store is not None else []

        @functools.wraps(function)
        def wrapper(event: Any, context: Any) -> R:
            if not stores:
                stores.append(DynamoDBStore())
            keyed = Keyed(
                idempotency_key(prefix, select_key(event) if select_key else event),
                data_hash(select_validation(event)) if select_validation else None,
            )
            with IdempotentBatch(stores[0], [keyed], remaining_time_of(context)) as batch:
                result = batch.run(0, lambda: function(event, context))
            if result is RESULT_NOT_STORED:
                logger.warning(
                    "This event was processed before, but its result could not be stored; "
                    "returning None instead of it"
                )
                return None  # type: ignore[return-value]
            return result

        return wrapper

    return decorate(handler) if handler is not None else decorate
