"""Idempotent batch behaviour the mutation run (issue 14) found unpinned, against DynamoDB on
the moto server: what runs, what fails, and what the table holds afterwards.

``IdempotentBatch`` is driven through its public API (``with``, ``run``) or through
``idempotent_batch_handler``; nothing here reads its internals, so the tests hold whatever
shape the session takes. AWS pages relied on: "Service, account, and table quotas in Amazon
DynamoDB" (an item is at most 400 KB, attribute names and values included) and "Lambda context
object in Python" (``get_remaining_time_in_millis``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from serverless_patterns.runtime.idempotency import (
    DynamoDBStore,
    IdempotencyAlreadyInProgressError,
    IdempotencyKeyError,
    IdempotencyResultError,
    IdempotencyValidationError,
    IdempotentBatch,
    Keyed,
    data_hash,
    idempotency_key,
    schema,
)
from serverless_patterns.runtime.idempotency.store import RESULT_NOT_STORED
from tests.integration.test_idempotency_states import (
    NAMESPACE,
    T0,
    Clock,
    Context,
    Table,
    Work,
    failed_ids,
    handler_for,
    payment,
)
from tests.runtime.sqs_events import sqs_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: DynamoDB's item size limit ("Service, account, and table quotas in Amazon DynamoDB").
ITEM_LIMIT = 400 * 1024
#: What the session keeps free for the item's other attributes and names.
ITEM_OVERHEAD = 256
#: Lambda's longest timeout: a lock taken without a context is held this long.
FIFTEEN_MINUTES_MS = 900_000


@pytest.fixture
def store(idempotency_table: str) -> DynamoDBStore:
    return DynamoDBStore(idempotency_table, clock=Clock())


@pytest.fixture
def table(dynamodb: DynamoDBClient, idempotency_table: str) -> Table:
    return Table(dynamodb, idempotency_table)


def keyed(payment_id: str, validation: Any = None) -> Keyed:
    hashed = data_hash(validation) if validation is not None else None
    return Keyed(idempotency_key(NAMESPACE, payment_id), hashed)


def error_types(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """messageId -> errorType of every record the batch processor logged as failed."""
    return {
        vars(r)["messageId"]: vars(r)["errorType"]
        for r in caplog.records
        if r.levelno == logging.ERROR and "errorType" in vars(r)
    }


# --- duplicates within one batch -----------------------------------------------------------


def test_a_later_duplicate_with_another_payload_fails_only_itself(
    store: DynamoDBStore, table: Table, caplog: pytest.LogCaptureFixture
) -> None:
    work = Work()
    event = sqs_event(
        [
            payment("p1", 100, message_id="m1"),
            payment("p1", 100, message_id="m2"),  # the same payload: shares m1's outcome
            payment("p1", 999, message_id="m3"),  # another payload under the same key
        ]
    )
    with caplog.at_level(logging.ERROR):
        response = handler_for(work, store, validate=True)(event, Context())

    assert failed_ids(response) == ["m3"]
    assert error_types(caplog) == {"m3": "IdempotencyValidationError"}
    assert work.runs == Counter({"p1": 1})
    item = table.item("p1")
    assert item is not None and item["status"] == "COMPLETED"
    assert item["validation"] == data_hash([100, "EUR"])


def test_a_completed_record_and_its_duplicate_in_one_batch_return_the_stored_result(
    store: DynamoDBStore,
) -> None:
    with IdempotentBatch(store, [keyed("p1")]) as first:
        first.run(0, lambda: {"receipt": "r-1"})
    ran: list[int] = []

    with IdempotentBatch(store, [keyed("p1"), keyed("p1")]) as batch:
        results = [batch.run(0, lambda: ran.append(0)), batch.run(1, lambda: ran.append(1))]

    assert results == [{"receipt": "r-1"}, {"receipt": "r-1"}]
    assert ran == []


def test_a_duplicate_of_a_record_that_failed_earlier_in_the_batch_is_retried_later(
    store: DynamoDBStore, table: Table
) -> None:
    def refuse() -> None:
        raise RuntimeError("downstream refused")

    with IdempotentBatch(store, [keyed("p1"), keyed("p1")]) as batch:
        with pytest.raises(RuntimeError):
            batch.run(0, refuse)
        with pytest.raises(IdempotencyAlreadyInProgressError):
            batch.run(1, lambda: pytest.fail("a duplicate of a failed record must not run"))

    assert table.item("p1") is None  # released: the next delivery runs it


def test_a_duplicate_gets_the_result_of_the_record_before_it(store: DynamoDBStore) -> None:
    with IdempotentBatch(store, [keyed("p1"), keyed("p2"), keyed("p1")]) as batch:
        assert batch.run(0, lambda: "first") == "first"
        assert batch.run(1, lambda: "second") == "second"
        assert batch.run(2, lambda: pytest.fail("must not run")) == "first"


def test_a_duplicate_with_another_payload_raises_validation_error_before_anything_runs(
    store: DynamoDBStore,
) -> None:
    with IdempotentBatch(store, [keyed("p1", [1]), keyed("p1", [2])]) as batch:
        batch.run(0, lambda: "done")
        with pytest.raises(IdempotencyValidationError, match="different payload"):
            batch.run(1, lambda: pytest.fail("must not run"))


# --- running a record ----------------------------------------------------------------------


def test_running_the_same_record_twice_is_an_error_and_runs_the_work_once(
    store: DynamoDBStore, table: Table
) -> None:
    runs: list[str] = []

    def work() -> str:
        runs.append("p1")
        return "ok"

    with IdempotentBatch(store, [keyed("p1")]) as batch:
        assert batch.run(0, work) == "ok"
        with pytest.raises(RuntimeError, match="record 0 of the batch was already run"):
            batch.run(0, lambda: runs.append("again"))

    assert runs == ["p1"]
    item = table.item("p1")
    assert item is not None and item["status"] == "COMPLETED"  # the second call released nothing


def test_a_record_whose_key_could_not_be_read_raises_its_error_without_a_lock(
    store: DynamoDBStore, table: Table
) -> None:
    error = IdempotencyKeyError("no key")
    with IdempotentBatch(store, [Keyed(None, error=error), keyed("p2")]) as batch:
        with pytest.raises(IdempotencyKeyError) as raised:
            batch.run(0, lambda: pytest.fail("must not run"))
        batch.run(1, lambda: "ok")

    assert raised.value is error
    assert table.count() == 1


# --- lock deadlines ------------------------------------------------------------------------


def in_progress_deadlines(
    store: DynamoDBStore, table: Table, context: Any, payment_ids: list[str]
) -> list[int]:
    """The in-progress deadline each record's lock holds while its work runs."""
    seen: list[int] = []

    def work(record: Any) -> None:
        item = table.item(record.json()["payment_id"])
        assert item is not None and item["status"] == "INPROGRESS"
        seen.append(int(item[schema.IN_PROGRESS_EXPIRY_ATTRIBUTE]))

    handler = handler_for(work, store)  # type: ignore[arg-type]
    assert failed_ids(handler(sqs_event(payment(p) for p in payment_ids), context)) == []
    return seen


def test_without_a_context_locks_are_held_for_fifteen_minutes(
    store: DynamoDBStore, table: Table
) -> None:
    deadlines = in_progress_deadlines(store, table, None, ["p1", "p2", "p3"])
    assert deadlines == [int(T0 * 1000) + FIFTEEN_MINUTES_MS] * 3


def test_with_a_context_locks_are_held_for_the_remaining_time(
    store: DynamoDBStore, table: Table
) -> None:
    deadlines = in_progress_deadlines(store, table, Context(remaining_ms=12_345), ["p1", "p2"])
    assert deadlines == [int(T0 * 1000) + 12_345] * 2


# --- the 400 KB item limit -----------------------------------------------------------------


def result_of_size(key: str, total: int) -> str:
    """A string result whose stored JSON plus key plus overhead is ``total`` bytes."""
    return "x" * (total - len(key) - ITEM_OVERHEAD - 2)  # 2: the JSON quotes


def completion_data(store: DynamoDBStore) -> list[str | None]:
    """The ``data`` of every COMPLETED item the store's client puts, as sent."""
    sent: list[str | None] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        item = params["Item"]
        if item[schema.STATUS_ATTRIBUTE]["S"] == "COMPLETED":
            sent.append(item.get(schema.DATA_ATTRIBUTE, {}).get("S"))

    store.client.meta.events.register("provide-client-params.dynamodb.PutItem", record)
    return sent


def test_a_result_exactly_at_the_item_limit_is_sent_with_its_record(
    store: DynamoDBStore,
) -> None:
    # The completion is checked as sent, not as stored: moto refuses items over 405,000
    # bytes (its own margin), DynamoDB at 400 KB = 409,600 bytes ("1 KB = 1024 bytes").
    key = keyed("p1")
    assert key.key is not None
    result = result_of_size(key.key, ITEM_LIMIT)
    sent = completion_data(store)

    with IdempotentBatch(store, [key]) as batch:
        assert batch.run(0, lambda: result) == result

    assert sent and {json.loads(data or "null") for data in sent} == {result}


def test_a_result_one_byte_over_the_item_limit_completes_the_record_without_it(
    store: DynamoDBStore, table: Table
) -> None:
    key = keyed("p1")
    assert key.key is not None
    result = result_of_size(key.key, ITEM_LIMIT + 1)
    runs: list[str] = []

    def work() -> str:
        runs.append("p1")
        return result

    with IdempotentBatch(store, [key]) as batch, pytest.raises(IdempotencyResultError) as raised:
        batch.run(0, work)
    assert str(raised.value) == (
        f"the result is {ITEM_LIMIT + 1} bytes with its record, above DynamoDB's item limit of "
        f"{ITEM_LIMIT} bytes; return something smaller (for example an id)"
    )

    item = table.item("p1")
    assert item is not None and item["status"] == "COMPLETED" and "data" not in item
    with IdempotentBatch(store, [key]) as again:
        assert again.run(0, lambda: pytest.fail("must not run")) is RESULT_NOT_STORED
    assert runs == ["p1"]


def test_the_result_size_counts_utf8_bytes(store: DynamoDBStore) -> None:
    key = keyed("p1")
    assert key.key is not None
    # 3 bytes per character: fits by characters, not by bytes.
    result = "€" * ((ITEM_LIMIT - len(key.key) - ITEM_OVERHEAD) // 3 + 1)
    with IdempotentBatch(store, [key]) as batch, pytest.raises(IdempotencyResultError):
        batch.run(0, lambda: result)


def test_a_result_that_is_not_json_completes_the_record_without_it(
    store: DynamoDBStore, table: Table
) -> None:
    not_json = pytest.raises(IdempotencyResultError, match="cannot be stored as JSON")
    with IdempotentBatch(store, [keyed("p1")]) as batch, not_json:
        batch.run(0, lambda: {1, 2})

    item = table.item("p1")
    assert item is not None and item["status"] == "COMPLETED" and "data" not in item


# --- background writes ---------------------------------------------------------------------


def fail_completions(store: DynamoDBStore) -> None:
    """Every completion the store's client is asked to put raises an unexpected error."""

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params["Item"][schema.STATUS_ATTRIBUTE]["S"] == "COMPLETED":
            raise RuntimeError("unexpected failure writing the completion")

    store.client.meta.events.register("provide-client-params.dynamodb.PutItem", refuse)


def write_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "Idempotency record write failed"]


def test_a_write_that_raises_is_logged_when_the_batch_closes_and_not_raised(
    store: DynamoDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    fail_completions(store)
    with caplog.at_level(logging.ERROR), IdempotentBatch(store, [keyed("p1")]) as batch:
        assert batch.run(0, lambda: "done") == "done"

    [logged] = write_errors(caplog)
    assert logged.levelno == logging.ERROR
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], RuntimeError)


def test_writes_that_succeed_log_nothing(
    store: DynamoDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse() -> None:
        raise RuntimeError("refused")

    with caplog.at_level(logging.DEBUG), IdempotentBatch(store, [keyed("p1"), keyed("p2")]) as b:
        b.run(0, lambda: "done")  # completed
        with pytest.raises(RuntimeError):
            b.run(1, refuse)  # released

    assert write_errors(caplog) == []


# --- contracts of the parts ----------------------------------------------------------------


def test_a_keyed_record_is_a_frozen_hashable_value() -> None:
    record = keyed("p1", [1])
    assert {record: 1}[keyed("p1", [1])] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.key = "other"  # type: ignore[misc]


def test_a_store_that_answers_fewer_locks_than_keys_fails_the_batch_before_any_work(
    idempotency_table: str,
) -> None:
    class LosesALock(DynamoDBStore):
        def acquire(self, keys: Any, in_progress_expiry_ms: int, owner: str) -> Any:
            return super().acquire(keys, in_progress_expiry_ms, owner)[:-1]

    store = LosesALock(idempotency_table, clock=Clock())
    with (
        pytest.raises(ValueError, match="zip"),
        IdempotentBatch(store, [keyed("p1"), keyed("p2")]) as batch,
    ):
        batch.run(0, lambda: pytest.fail("must not run"))


def test_a_result_with_a_lone_surrogate_is_stored_as_a_json_escape(
    store: DynamoDBStore, table: Table
) -> None:
    result = {"name": "\ud800"}  # a JSON text may escape one; UTF-8 cannot encode it
    with IdempotentBatch(store, [keyed("p1")]) as batch:
        assert batch.run(0, lambda: result) == result

    item = table.item("p1")
    assert item is not None and item["data"] == '{"name":"\\ud800"}'
    with IdempotentBatch(store, [keyed("p1")]) as again:
        assert again.run(0, lambda: pytest.fail("must not run")) == result


def test_a_result_is_stored_as_utf8_json_not_escaped(store: DynamoDBStore, table: Table) -> None:
    # Escaping would make a non-ASCII result up to six times larger against the 400 KB limit.
    with IdempotentBatch(store, [keyed("p1")]) as batch:
        batch.run(0, lambda: {"city": "Zürich €"})

    item = table.item("p1")
    assert item is not None and item["data"] == '{"city":"Zürich €"}'


def test_a_key_repeated_in_a_batch_is_locked_once(store: DynamoDBStore) -> None:
    locks: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        if params["Item"][schema.STATUS_ATTRIBUTE]["S"] == "INPROGRESS":
            locks.append(params["Item"][schema.KEY_ATTRIBUTE]["S"])

    store.client.meta.events.register("provide-client-params.dynamodb.PutItem", count)
    batch_keys = [keyed("p1"), keyed("p2"), keyed("p1"), keyed("p1")]
    with IdempotentBatch(store, batch_keys) as batch:
        results = [batch.run(0, lambda: "first"), batch.run(1, lambda: "second")]
        results += [batch.run(index, lambda: "must not run") for index in (2, 3)]
    assert results == ["first", "second", "first", "first"]

    assert sorted(locks) == sorted({k.key for k in batch_keys if k.key})
