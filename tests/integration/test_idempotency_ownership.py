"""Lock ownership between two workers, against DynamoDB on the moto server.

An in-progress lock holds until its holder's deadline (the invocation's remaining time), even
when ``expires_after`` is shorter; a completion or release applies only to the lock its
attempt took (the owner token), so a late worker never overwrites or deletes the record of
the worker that took over.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.idempotency import (
    DynamoDBStore,
    IdempotentBatch,
    Keyed,
    idempotency_key,
    idempotent_batch_handler,
    schema,
)
from tests.runtime.sqs_events import sqs_event, sqs_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NAMESPACE = "ownership"
T0 = 1_800_000_000.0
KEY = idempotency_key(NAMESPACE, "p1")


class Clock:
    """A settable clock shared by both workers' stores."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def event(message_id: str) -> dict[str, Any]:
    return sqs_event([sqs_record(json.dumps({"payment_id": "p1"}), message_id=message_id)])


def failed(response: Any) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def handler(work: Callable[[SqsRecord], Any], store: DynamoDBStore) -> Any:
    return idempotent_batch_handler(work, key="payment_id", store=store, namespace=NAMESPACE)


def stored(dynamodb: DynamoDBClient, table: str) -> dict[str, Any] | None:
    """The record of p1, attribute values unwrapped."""
    item = dynamodb.get_item(TableName=table, Key={"id": {"S": KEY}}, ConsistentRead=True)
    found = item.get("Item")
    return None if found is None else {k: next(iter(v.values())) for k, v in found.items()}


def ownership_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and getattr(r, "idempotencyKey", None) == KEY
    ]


def test_a_short_expiry_does_not_free_a_lock_whose_holder_is_still_running(
    dynamodb: DynamoDBClient, idempotency_table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers, ``expires_after=1`` and a 4 s record, in real time."""
    runs: Counter[str] = Counter()
    started, finished = threading.Event(), threading.Event()

    def slow(record: SqsRecord) -> str:
        runs["A"] += 1
        started.set()
        time.sleep(4.0)
        finished.set()
        return "A"

    def quick(record: SqsRecord) -> str:
        runs["B"] += 1
        return "B"

    def store() -> DynamoDBStore:
        return DynamoDBStore(idempotency_table, expires_after_seconds=1, read_first=False)

    responses: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: responses.update(A=handler(slow, store())(event("a"), Context(30_000)))
    )
    first.start()
    assert started.wait(10)
    # Two seconds after A took the lock, its whole-second `expires_after` has passed in any
    # case (the condition compares epoch seconds); A's record still runs for 2 s (a margin
    # for a loaded machine: B's whole batch must happen inside it).
    time.sleep(2.0)
    responses["B"] = handler(quick, store())(event("b"), Context(30_000))
    assert not finished.is_set(), "B ran after A finished: the race was not exercised"
    first.join(10)

    assert failed(responses["B"]) == ["b"], "B met A's lock and failed for a retry"
    assert "IdempotencyAlreadyInProgressError" in caplog.text
    assert failed(responses["A"]) == []
    assert runs == Counter({"A": 1})
    item = stored(dynamodb, idempotency_table)
    assert item is not None
    assert (item["status"], item["data"]) == ("COMPLETED", '"A"')


def test_in_progress_lock_is_not_deleted_by_ttl_before_its_deadline(
    dynamodb: DynamoDBClient, idempotency_table: str
) -> None:
    seen: dict[str, Any] = {}

    def work(record: SqsRecord) -> str:
        seen.update(stored(dynamodb, idempotency_table) or {})
        return "done"

    store = DynamoDBStore(idempotency_table, expires_after_seconds=1, clock=Clock())
    handler(work, store)(event("a"), Context(remaining_ms=90_500))

    # TTL deletes an item once `expiration` passed: the lock's covers the holder's deadline.
    assert seen["status"] == "INPROGRESS"
    assert int(seen["in_progress_expiration"]) == int(T0 * 1000) + 90_500
    assert int(seen["expiration"]) * 1000 >= int(seen["in_progress_expiration"])


def test_release_after_the_deadline_does_not_delete_the_record_another_worker_completed(
    dynamodb: DynamoDBClient, idempotency_table: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    runs: Counter[str] = Counter()
    store_a = DynamoDBStore(idempotency_table, clock=clock, read_first=False)
    store_b = DynamoDBStore(idempotency_table, clock=clock, read_first=False)
    store_c = DynamoDBStore(idempotency_table, clock=clock, read_first=False)

    def b_work(record: SqsRecord) -> str:
        runs["B"] += 1
        return "B"

    def a_work(record: SqsRecord) -> str:
        runs["A"] += 1
        # A outlives its deadline (its Lambda would have been killed by now); meanwhile the
        # redelivered record reaches B, which takes the lock over and completes it.
        clock.now = T0 + 2
        assert failed(handler(b_work, store_b)(event("b"), Context(30_000))) == []
        raise ConnectionError("A's downstream call fails late")

    with caplog.at_level(logging.WARNING):
        response = handler(a_work, store_a)(event("a"), Context(remaining_ms=1_000))

    assert failed(response) == ["a"]
    item = stored(dynamodb, idempotency_table)
    assert item is not None
    assert (item["status"], item["data"]) == ("COMPLETED", '"B"'), "A's release left it"
    assert len(ownership_warnings(caplog)) == 1
    # A third delivery is a completed duplicate: no third copy runs.
    assert failed(handler(b_work, store_c)(event("c"), Context(30_000))) == []
    assert runs == Counter({"A": 1, "B": 1})


@pytest.mark.parametrize("a_fails", [False, True], ids=["late-completion", "late-release"])
def test_late_worker_neither_overwrites_nor_deletes_the_lock_another_worker_holds(
    dynamodb: DynamoDBClient,
    idempotency_table: str,
    caplog: pytest.LogCaptureFixture,
    a_fails: bool,
) -> None:
    clock = Clock()
    store = DynamoDBStore(idempotency_table, clock=clock, read_first=False)
    keyed = [Keyed(KEY)]
    a = IdempotentBatch(store, keyed, remaining_ms=lambda: 1_000).__enter__()
    clock.now = T0 + 2  # past A's deadline: B takes the lock over
    b = IdempotentBatch(store, keyed, remaining_ms=lambda: 30_000).__enter__()
    b_lock = stored(dynamodb, idempotency_table)
    assert b_lock is not None
    assert b_lock["status"] == "INPROGRESS"

    def a_work() -> str:
        if a_fails:
            raise ConnectionError("late failure")
        return "A"

    with caplog.at_level(logging.WARNING):
        if a_fails:
            with pytest.raises(ConnectionError):
                a.run(0, a_work)
        else:
            assert a.run(0, a_work) == "A", "the work is done: the record does not fail"
        a.__exit__(None, None, None)

    assert stored(dynamodb, idempotency_table) == b_lock, "B's lock untouched"
    assert len(ownership_warnings(caplog)) == 1
    assert b.run(0, lambda: "B") == "B"
    b.__exit__(None, None, None)
    item = stored(dynamodb, idempotency_table)
    assert item is not None
    assert (item["status"], item["data"]) == ("COMPLETED", '"B"')
    assert item[schema.OWNER_ATTRIBUTE] == b_lock[schema.OWNER_ATTRIBUTE]
