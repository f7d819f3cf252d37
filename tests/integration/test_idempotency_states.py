"""Every state transition of the idempotency runtime, against DynamoDB on the moto server.

Time is injected through ``DynamoDBStore(clock=...)`` so expiry is tested without sleeping;
the records themselves are read back from the table over HTTP.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.idempotency import (
    DynamoDBStore,
    IdempotencyAlreadyInProgressError,
    IdempotencyResultError,
    IdempotencyValidationError,
    idempotency_key,
    idempotent,
    idempotent_batch_handler,
    schema,
)
from serverless_patterns.runtime.idempotency.store import LockState, _is_current
from tests.runtime.sqs_events import FIFO_QUEUE_ARN, sqs_event, sqs_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NAMESPACE = "test"
T0 = 1_800_000_000.0  # a fixed "now", in epoch seconds


@dataclass
class Clock:
    """A settable clock for DynamoDBStore."""

    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Context:
    """The part of a Lambda context the runtime reads."""

    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Work:
    """A record handler that counts runs per payment id, fails or returns chosen results."""

    runs: Counter[str] = field(default_factory=Counter)
    fail: set[str] = field(default_factory=set)
    results: dict[str, Any] = field(default_factory=dict)
    during: Callable[[], None] | None = None

    def __call__(self, record: SqsRecord) -> Any:
        payment_id = record.json()["payment_id"]
        self.runs[payment_id] += 1
        if self.during is not None:
            self.during()
        if payment_id in self.fail:
            raise RuntimeError(f"downstream refused {payment_id}")
        return self.results.get(payment_id, {"receipt": payment_id})


def payment(payment_id: str, amount: int = 100, message_id: str | None = None) -> dict[str, Any]:
    body = json.dumps({"payment_id": payment_id, "amount_cents": amount, "currency": "EUR"})
    return sqs_record(body, message_id=message_id or f"msg-{payment_id}-{amount}")


def failed_ids(response: Any) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


class Table:
    """Reads idempotency records back, by payment id."""

    def __init__(self, dynamodb: DynamoDBClient, name: str) -> None:
        self.dynamodb = dynamodb
        self.name = name

    def item(self, payment_id: str) -> dict[str, Any] | None:
        key = idempotency_key(NAMESPACE, payment_id)
        response = self.dynamodb.get_item(
            TableName=self.name, Key={"id": {"S": key}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        return {name: next(iter(value.values())) for name, value in item.items()}

    def status(self, payment_id: str) -> str | None:
        item = self.item(payment_id)
        return None if item is None else str(item["status"])

    def count(self) -> int:
        return self.dynamodb.scan(TableName=self.name, Select="COUNT")["Count"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=[None, True], ids=["adaptive", "read-first"])
def store(idempotency_table: str, clock: Clock, request: pytest.FixtureRequest) -> DynamoDBStore:
    """Every transition holds whether locks are tried first or records are read first."""
    return DynamoDBStore(idempotency_table, clock=clock, read_first=request.param)


@pytest.fixture
def table(dynamodb: DynamoDBClient, idempotency_table: str) -> Table:
    return Table(dynamodb, idempotency_table)


def handler_for(
    work: Work, store: DynamoDBStore, *, validate: bool = False
) -> Callable[[Any, Any], Any]:
    return idempotent_batch_handler(
        work,
        key="payment_id",
        payload_validation="[amount_cents, currency]" if validate else None,
        store=store,
        namespace=NAMESPACE,
    )


# --- new key, completed duplicate --------------------------------------------------------------


def test_new_record_runs_and_is_stored_completed_with_its_result(
    store: DynamoDBStore, table: Table
) -> None:
    work = Work(results={"p1": {"receipt": "r-1", "amount": 100}})

    response = handler_for(work, store)(sqs_event([payment("p1")]), Context())

    assert failed_ids(response) == []
    assert work.runs == Counter({"p1": 1})
    item = table.item("p1")
    assert item is not None
    assert item["status"] == "COMPLETED"
    assert json.loads(item["data"]) == {"receipt": "r-1", "amount": 100}
    assert int(item["expiration"]) == int(T0) + schema.DEFAULT_EXPIRES_AFTER_SECONDS
    assert schema.IN_PROGRESS_EXPIRY_ATTRIBUTE not in item


def test_completed_duplicate_is_skipped(store: DynamoDBStore, table: Table) -> None:
    work = Work()
    handler = handler_for(work, store)
    handler(sqs_event([payment("p1"), payment("p2")]), Context())

    response = handler(
        sqs_event([payment("p1", message_id="again-1"), payment("p2", message_id="again-2")]),
        Context(),
    )

    assert failed_ids(response) == []
    assert work.runs == Counter({"p1": 1, "p2": 1})
    assert table.count() == 2


def test_completed_duplicate_returns_the_stored_result(store: DynamoDBStore) -> None:
    runs: list[str] = []

    @idempotent(key="order_id", store=store, namespace=NAMESPACE)
    def ship(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append(event["order_id"])
        return {"shipment": f"s-{event['order_id']}", "items": [1, 2]}

    first = ship({"order_id": "o1", "note": "first"}, Context())
    second = ship({"order_id": "o1", "note": "redelivered"}, Context())

    assert first == second == {"shipment": "s-o1", "items": [1, 2]}
    assert runs == ["o1"]


def test_expired_completed_record_is_processed_again(
    store: DynamoDBStore, clock: Clock, table: Table
) -> None:
    work = Work()
    handler = handler_for(work, store)
    handler(sqs_event([payment("p1")]), Context())

    # TTL deletion is lazy: the item is still there, but past its expiration.
    clock.now = T0 + schema.DEFAULT_EXPIRES_AFTER_SECONDS + 1
    assert table.status("p1") == "COMPLETED"
    response = handler(sqs_event([payment("p1", message_id="later")]), Context())

    assert failed_ids(response) == []
    assert work.runs == Counter({"p1": 2})


def test_expiry_window_comes_from_the_environment(
    idempotency_table: str, clock: Clock, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(schema.TABLE_NAME_ENV, idempotency_table)
    monkeypatch.setenv(schema.EXPIRES_AFTER_ENV, "120")
    store = DynamoDBStore(clock=clock)

    handler_for(Work(), store)(sqs_event([payment("p1")]), Context())

    item = table.item("p1")
    assert item is not None
    assert int(item["expiration"]) == int(T0) + 120
    assert store.table_name == idempotency_table


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_bad_expiry_window_in_the_environment_is_rejected(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(schema.EXPIRES_AFTER_ENV, value)
    with pytest.raises(ValueError, match=f"{schema.EXPIRES_AFTER_ENV}.*{value!r}"):
        DynamoDBStore("any-table")


def test_a_store_without_a_table_name_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(schema.TABLE_NAME_ENV, raising=False)
    with pytest.raises(ValueError, match=schema.TABLE_NAME_ENV):
        DynamoDBStore()


# --- in progress --------------------------------------------------------------------------------


def test_lock_expiry_is_bound_to_the_remaining_time(store: DynamoDBStore, table: Table) -> None:
    seen: dict[str, Any] = {}
    work = Work(during=lambda: seen.update(table.item("p1") or {}))

    handler_for(work, store)(sqs_event([payment("p1")]), Context(remaining_ms=7_500))

    assert seen["status"] == "INPROGRESS"
    assert int(seen["in_progress_expiration"]) == int(T0 * 1000) + 7_500


def test_in_progress_duplicate_fails_without_running(store: DynamoDBStore, table: Table) -> None:
    outer = Work()
    inner = Work()
    inner_handler = handler_for(inner, store)
    responses: list[Any] = []
    # While p1's first delivery runs, a second delivery arrives at another worker.
    outer.during = lambda: responses.append(
        inner_handler(sqs_event([payment("p1", message_id="dup")]), Context())
    )

    first = handler_for(outer, store)(sqs_event([payment("p1")]), Context())

    assert failed_ids(first) == []
    assert failed_ids(responses[0]) == ["dup"]
    assert inner.runs == Counter()
    assert outer.runs == Counter({"p1": 1})
    assert table.status("p1") == "COMPLETED"


def test_decorated_handler_raises_on_an_in_progress_duplicate(store: DynamoDBStore) -> None:
    errors: list[BaseException] = []

    @idempotent(key="order_id", store=store, namespace=NAMESPACE)
    def ship(event: dict[str, Any], context: Any) -> str:
        if event.get("reenter"):
            try:
                ship({"order_id": event["order_id"]}, context)
            except IdempotencyAlreadyInProgressError as exc:
                errors.append(exc)
        return "shipped"

    assert ship({"order_id": "o1", "reenter": True}, Context()) == "shipped"
    assert len(errors) == 1


def test_lock_of_an_attempt_that_ran_out_of_time_is_taken_over(
    idempotency_table: str, clock: Clock, table: Table
) -> None:
    # An attempt killed by its timeout leaves just its lock: INPROGRESS until its deadline.
    dead_store = DynamoDBStore(idempotency_table, clock=clock)
    dead_store.acquire(
        [(idempotency_key(NAMESPACE, "p1"), None)], int(T0 * 1000) + 2_000, owner="dead"
    )
    assert table.status("p1") == "INPROGRESS"
    work = Work()
    handler = handler_for(work, DynamoDBStore(idempotency_table, clock=clock))

    clock.now = T0 + 1  # the dead attempt's deadline has not passed
    assert failed_ids(handler(sqs_event([payment("p1")]), Context())) == ["msg-p1-100"]
    assert work.runs == Counter()

    clock.now = T0 + 2.5  # past it
    assert failed_ids(handler(sqs_event([payment("p1")]), Context())) == []
    assert work.runs == Counter({"p1": 1})
    assert table.status("p1") == "COMPLETED"


# --- failures release the lock ------------------------------------------------------------------


def test_exception_releases_the_lock_and_fails_only_that_record(
    store: DynamoDBStore, table: Table
) -> None:
    work = Work(fail={"p2"})
    handler = handler_for(work, store)

    response = handler(sqs_event([payment("p1"), payment("p2"), payment("p3")]), Context())

    assert failed_ids(response) == ["msg-p2-100"]
    assert table.status("p2") is None
    assert table.status("p1") == table.status("p3") == "COMPLETED"

    work.fail.clear()
    retry = handler(sqs_event([payment("p1"), payment("p2"), payment("p3")]), Context())
    assert failed_ids(retry) == []
    assert work.runs == Counter({"p1": 1, "p2": 2, "p3": 1})


def test_decorated_handler_releases_the_lock_and_reraises(store: DynamoDBStore) -> None:
    attempts: list[int] = []

    @idempotent(key="order_id", store=store, namespace=NAMESPACE)
    def ship(event: dict[str, Any], context: Any) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("carrier API down")
        return "shipped"

    with pytest.raises(ConnectionError):
        ship({"order_id": "o1"}, Context())
    assert ship({"order_id": "o1"}, Context()) == "shipped"
    assert ship({"order_id": "o1"}, Context()) == "shipped"
    assert len(attempts) == 2


# --- payload validation -------------------------------------------------------------------------


def test_same_key_with_a_different_payload_fails_with_a_validation_error(
    store: DynamoDBStore, table: Table, caplog: pytest.LogCaptureFixture
) -> None:
    work = Work()
    handler = handler_for(work, store, validate=True)
    handler(sqs_event([payment("p1", amount=100)]), Context())
    stored = table.item("p1")

    with caplog.at_level(logging.ERROR):
        response = handler(sqs_event([payment("p1", amount=999)]), Context())

    assert failed_ids(response) == ["msg-p1-999"]
    assert work.runs == Counter({"p1": 1})
    assert table.item("p1") == stored
    assert "IdempotencyValidationError" in caplog.text
    # The same payload again is an ordinary duplicate.
    assert failed_ids(handler(sqs_event([payment("p1", amount=100)]), Context())) == []


def test_decorated_handler_validation_error(store: DynamoDBStore) -> None:
    @idempotent(key="order_id", payload_validation="total", store=store, namespace=NAMESPACE)
    def charge(event: dict[str, Any], context: Any) -> str:
        return "charged"

    charge({"order_id": "o1", "total": 10}, Context())
    with pytest.raises(IdempotencyValidationError):
        charge({"order_id": "o1", "total": 11}, Context())


# --- results that cannot be stored --------------------------------------------------------------


UNSTORABLE = pytest.mark.parametrize(
    ("result", "message"),
    [
        ("x" * (400 * 1024), "above DynamoDB's item limit"),
        ({"when": object()}, "cannot be stored as JSON"),
    ],
    ids=["too-large", "not-json"],
)


@UNSTORABLE
def test_result_that_cannot_be_stored_fails_the_attempt_but_the_work_runs_once(
    store: DynamoDBStore, table: Table, result: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    work = Work(results={"p1": result})
    handler = handler_for(work, store)

    with caplog.at_level(logging.ERROR):
        response = handler(sqs_event([payment("p1"), payment("p2")]), Context())

    assert failed_ids(response) == ["msg-p1-100"]
    assert message in caplog.text
    item = table.item("p1")
    assert item is not None
    assert item["status"] == "COMPLETED"
    assert schema.DATA_ATTRIBUTE not in item, "completed without its result"
    assert table.status("p2") == "COMPLETED"
    # The redelivery is a completed duplicate: its effects are not repeated.
    assert failed_ids(handler(sqs_event([payment("p1")]), Context())) == []
    assert work.runs == Counter({"p1": 1, "p2": 1})


@UNSTORABLE
def test_decorated_handler_with_a_result_that_cannot_be_stored(
    store: DynamoDBStore, result: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[str] = []

    @idempotent(key="order_id", store=store, namespace=NAMESPACE)
    def direct(event: dict[str, Any], context: Any) -> Any:
        runs.append(event["order_id"])
        return result

    # The call that ran the work fails with the reason; the event is recorded as completed.
    with pytest.raises(IdempotencyResultError, match=message):
        direct({"order_id": "o1"}, Context())
    # A duplicate succeeds without running the work again (so it does not end in a DLQ), and
    # says why it has no result.
    with caplog.at_level(logging.WARNING):
        assert direct({"order_id": "o1"}, Context()) is None
    assert "result could not be stored" in caplog.text
    assert runs == ["o1"]


# --- keys ----------------------------------------------------------------------------------------


def test_record_without_a_key_or_with_a_malformed_body_fails_alone(
    store: DynamoDBStore, table: Table, caplog: pytest.LogCaptureFixture
) -> None:
    work = Work()
    no_key = sqs_record(json.dumps({"amount_cents": 5}), message_id="no-key")
    malformed = sqs_record('{"payment_id": "p9"', message_id="malformed")

    with caplog.at_level(logging.ERROR):
        response = handler_for(work, store)(
            sqs_event([payment("p1"), no_key, malformed]), Context()
        )

    assert failed_ids(response) == ["no-key", "malformed"]
    assert work.runs == Counter({"p1": 1})
    assert table.count() == 1
    assert "IdempotencyKeyError" in caplog.text
    assert "p9" not in caplog.text, "the body must not be logged"


def test_handlers_sharing_a_table_do_not_collide(idempotency_table: str, clock: Clock) -> None:
    store = DynamoDBStore(idempotency_table, clock=clock)
    payments, refunds = Work(), Work()
    event = sqs_event([payment("p1")])

    idempotent_batch_handler(payments, key="payment_id", store=store, namespace="payments")(
        event, Context()
    )
    idempotent_batch_handler(refunds, key="payment_id", store=store, namespace="refunds")(
        event, Context()
    )

    assert payments.runs == refunds.runs == Counter({"p1": 1})


# --- duplicates inside one batch, FIFO ---------------------------------------------------------


def test_duplicates_within_a_batch_follow_the_first(store: DynamoDBStore, table: Table) -> None:
    work = Work(fail={"p2"})
    event = sqs_event(
        [
            payment("p1", message_id="a"),
            payment("p2", message_id="b"),
            payment("p1", message_id="c"),
            payment("p2", message_id="d"),
        ]
    )

    response = handler_for(work, store)(event, Context())

    assert failed_ids(response) == ["b", "d"]
    assert work.runs == Counter({"p1": 1, "p2": 1})
    assert table.status("p1") == "COMPLETED"
    assert table.status("p2") is None


def test_fifo_group_stop_releases_the_locks_of_unprocessed_records(
    store: DynamoDBStore, table: Table
) -> None:
    def fifo(payment_id: str, group: str) -> dict[str, Any]:
        body = json.dumps({"payment_id": payment_id, "amount_cents": 1, "currency": "EUR"})
        return sqs_record(body, message_id=payment_id, group_id=group, queue_arn=FIFO_QUEUE_ARN)

    work = Work(fail={"g1-a"})
    event = sqs_event([fifo("g1-a", "g1"), fifo("g2-a", "g2"), fifo("g1-b", "g1")])

    response = handler_for(work, store)(event, Context())

    assert failed_ids(response) == ["g1-a", "g1-b"]
    assert work.runs == Counter({"g1-a": 1, "g2-a": 1})
    assert table.status("g1-b") is None, "a record never run must not stay locked"
    work.fail.clear()
    assert failed_ids(handler_for(work, store)(event, Context())) == []
    assert work.runs == Counter({"g1-a": 2, "g2-a": 1, "g1-b": 1})


# --- DynamoDB requests per batch, and completion writes during the batch ---------------------


@pytest.fixture
def requests(store: DynamoDBStore) -> Iterator[Counter[str]]:
    """DynamoDB operations the store's client sends (retries included)."""
    sent: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        sent[event_name.rsplit(".", 1)[-1]] += 1

    store.client.meta.events.register("before-send.dynamodb.*", count)
    yield sent
    store.client.meta.events.unregister("before-send.dynamodb.*", count)


@pytest.mark.parametrize("store", [None], indirect=True, ids=["adaptive"])
def test_new_record_costs_two_puts_and_a_duplicate_one(
    store: DynamoDBStore, requests: Counter[str]
) -> None:
    handler = handler_for(Work(), store)
    event = sqs_event([payment(f"p{n}") for n in range(10)])

    # Per new record: the lock and the completion, each a conditional PutItem (one write unit
    # each for items under 1 KB), as many as Powertools' PutItem + UpdateItem.
    handler(event, Context())
    assert requests == Counter({"PutItem": 20})

    requests.clear()
    handler(event, Context())
    assert requests == Counter({"PutItem": 10})


@pytest.mark.parametrize("store", [None], indirect=True, ids=["adaptive"])
def test_after_a_batch_of_duplicates_the_store_reads_first(
    store: DynamoDBStore, requests: Counter[str]
) -> None:
    work = Work()
    handler = handler_for(work, store)
    old = [payment(f"p{n}") for n in range(10)]
    handler(sqs_event(old), Context())
    handler(sqs_event(old), Context())  # every key a duplicate: the store adapts

    requests.clear()
    handler(sqs_event(old), Context())
    assert requests == Counter({"BatchGetItem": 1}), "a replayed batch costs one read"

    requests.clear()
    mixed = old[:5] + [payment(f"new{n}") for n in range(5)]
    assert failed_ids(handler(sqs_event(mixed), Context())) == []
    assert requests == Counter({"BatchGetItem": 1, "PutItem": 5 + 5})
    assert sum(work.runs.values()) == 15

    for round_ in range(3):  # new traffic again: back to locking first, no reads
        handler(sqs_event([payment(f"fresh{n}-{round_}") for n in range(10)]), Context())
    requests.clear()
    handler(sqs_event([payment(f"later{n}") for n in range(10)]), Context())
    assert requests == Counter({"PutItem": 10 + 10})


def test_each_completion_is_written_while_the_batch_still_runs(
    store: DynamoDBStore, table: Table
) -> None:
    seen: dict[str, str | None] = {}

    def during() -> None:
        if "p1" in seen:  # p2's work: p1's completion is written meanwhile, in the background
            deadline = time.monotonic() + 5
            while table.status("p1") != "COMPLETED" and time.monotonic() < deadline:
                time.sleep(0.01)
        seen.setdefault("p1", table.status("p1"))
        seen["p1 during p2"] = table.status("p1")

    handler_for(Work(during=during), store)(sqs_event([payment("p1"), payment("p2")]), Context())

    # p1 was in progress while it ran, and completed before the batch (p2's work) ended.
    assert seen == {"p1": "INPROGRESS", "p1 during p2": "COMPLETED"}
    assert table.status("p2") == "COMPLETED"


# --- odd stored items: reading first decides as the conditional put does ----------------------


NOW = T0 + 0.25  # not a whole second: the condition compares whole seconds and milliseconds


def near(center: int, *, fractions: bool) -> st.SearchStrategy[dict[str, str]]:
    """A number attribute at or around ``center`` (both sides, and equal)."""
    offsets = st.integers(-2, 2).map(lambda offset: str(center + offset))
    if fractions:
        offsets = offsets | st.sampled_from([f"{center}.5", f"{center - 1}.5"])
    return offsets.map(lambda number: {"N": number})


#: INPROGRESS twice: it is the status whose rule has the most branches.
ODD_STATUSES = [
    {"S": "INPROGRESS"},
    {"S": "INPROGRESS"},
    {"S": "COMPLETED"},
    {"S": "DONE"},
    {"S": ""},
    {"N": "1"},
]
#: Any subset of the record's attributes, with odd values. Numbers stay numbers: DynamoDB
#: evaluates a comparison between different types as false, where moto fails the request.
STORED_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        schema.STATUS_ATTRIBUTE: st.sampled_from(ODD_STATUSES),
        schema.EXPIRY_ATTRIBUTE: near(int(NOW), fractions=True),
        schema.IN_PROGRESS_EXPIRY_ATTRIBUTE: near(int(NOW * 1000), fractions=True),
        schema.DATA_ATTRIBUTE: st.sampled_from([{"S": '{"ok":1}'}, {"S": "not json"}]),
        schema.OWNER_ATTRIBUTE: st.just({"S": "someone"}),
    },
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stored=STORED_ITEMS)
@example(stored={})  # nothing but the key
@example(  # the holder still runs, past `expiration`: held (the lock condition's point)
    stored={
        schema.STATUS_ATTRIBUTE: {"S": "INPROGRESS"},
        schema.EXPIRY_ATTRIBUTE: {"N": str(int(NOW) - 1)},
        schema.IN_PROGRESS_EXPIRY_ATTRIBUTE: {"N": str(int(NOW * 1000) + 1)},
    }
)
@example(  # in progress without a deadline: expires as any record does
    stored={
        schema.STATUS_ATTRIBUTE: {"S": "INPROGRESS"},
        schema.EXPIRY_ATTRIBUTE: {"N": str(int(NOW) - 1)},
    }
)
@example(stored={schema.STATUS_ATTRIBUTE: {"S": "COMPLETED"}})  # no expiration: held
def test_read_first_treats_every_stored_item_as_the_conditional_put_does(
    dynamodb: DynamoDBClient, idempotency_table: str, stored: dict[str, Any]
) -> None:
    clock = Clock(NOW)
    lock_first = DynamoDBStore(idempotency_table, clock=clock, read_first=False)
    read_first = DynamoDBStore(idempotency_table, clock=clock, read_first=True)
    deadline_ms = int(NOW * 1000) + 30_000
    outcomes = []
    for store, name in ((lock_first, "lock-first"), (read_first, "read-first")):
        key = idempotency_key(NAMESPACE, [name, repr(stored), time.monotonic_ns()])
        item = {schema.KEY_ATTRIBUTE: {"S": key}, **stored}
        dynamodb.put_item(TableName=idempotency_table, Item=item)

        [lock] = store.acquire([(key, None)], deadline_ms, owner="prober")

        outcomes.append(lock.state is LockState.ACQUIRED)
    taken_by_put, taken_after_read = outcomes
    # The conditional put is DynamoDB's verdict; the read-first path and _is_current agree.
    assert taken_by_put is not _is_current(item, NOW)
    assert taken_after_read is taken_by_put


def test_read_first_with_a_stored_item_without_expiration_fails_only_that_record(
    dynamodb: DynamoDBClient, idempotency_table: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """An odd record (here: no ``expiration``, so it never expires) holds its key."""
    odd = idempotency_key(NAMESPACE, "p1")
    dynamodb.put_item(
        TableName=idempotency_table,
        Item={schema.KEY_ATTRIBUTE: {"S": odd}, schema.STATUS_ATTRIBUTE: {"S": "COMPLETED"}},
    )
    work = Work()
    store = DynamoDBStore(idempotency_table, clock=clock, read_first=True)

    response = handler_for(work, store)(sqs_event([payment("p1"), payment("p2")]), Context())

    assert failed_ids(response) == [], "a completed record without expiry is a duplicate"
    assert work.runs == Counter({"p2": 1})

    dynamodb.put_item(
        TableName=idempotency_table,
        Item={schema.KEY_ATTRIBUTE: {"S": idempotency_key(NAMESPACE, "p3")}},
    )
    response = handler_for(work, store)(sqs_event([payment("p3"), payment("p4")]), Context())
    assert failed_ids(response) == ["msg-p3-100"], "no status, no expiry: held, fails alone"
    assert work.runs == Counter({"p2": 1, "p4": 1})
