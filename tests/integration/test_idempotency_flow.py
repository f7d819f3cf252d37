"""IdempotentConsumer end to end against DynamoDB and SQS APIs (moto server over HTTP).

Every record's side effect is an ``ADD #count :one`` on a counter table, so "exactly once"
is read back from DynamoDB, not from the code under test. Scenarios: concurrent consumers of
a queue full of duplicates, a worker killed after taking its locks, DynamoDB errors injected
by a proxy in front of moto (``fault_proxy``), and the reference payments handler.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from serverless_patterns.runtime.batch import LambdaHandler, SqsRecord
from serverless_patterns.runtime.handlers import idempotent_payments
from serverless_patterns.runtime.idempotency import (
    DynamoDBStore,
    IdempotentBatch,
    data_hash,
    idempotency_key,
    idempotent_batch_handler,
    schema,
)
from serverless_patterns.runtime.idempotency.sqs_batch import default_namespace, keyed_record
from tests.integration.dynamodb_tables import create_counter_table, create_idempotency_table
from tests.integration.fault_proxy import (
    THROUGHPUT_EXCEEDED,
    FaultProxy,
    FaultRule,
    Mode,
    fault_proxy,
)
from tests.integration.sqs_poller import SqsPoller, queue_depth, receive_all
from tests.integration.sqs_queues import message_entries, queue_with_dlq, send_all
from tests.moto_fixtures import AWS_REGION
from tests.runtime.sqs_events import sqs_event, sqs_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

NAMESPACE = "payments-flow"
PUT_ITEM = "DynamoDB_20120810.PutItem"
BATCH_GET_ITEM = "DynamoDB_20120810.BatchGetItem"
#: maxReceiveCount as QueueWorker synthesizes it by default.
MAX_RECEIVE_COUNT = 5


# --- helpers ------------------------------------------------------------------------------------


class LambdaContext:
    """The part of Lambda's context the runtime reads: the time left before the timeout."""

    def __init__(self, timeout_ms: int) -> None:
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def dynamodb_client(endpoint: str, *, attempts: int = 2) -> DynamoDBClient:
    """A DynamoDB client for ``endpoint`` (moto or the proxy) making at most ``attempts``
    attempts per call (botocore's standard retries; 1: no retry), for speed."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts}, max_pool_connections=10
    )
    client: DynamoDBClient = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=AWS_REGION, config=config
    )
    return client


def sqs_client(endpoint: str) -> SQSClient:
    client: SQSClient = boto3.client("sqs", endpoint_url=endpoint, region_name=AWS_REGION)
    return client


def payment(n: int) -> dict[str, Any]:
    return {"payment_id": f"pay-{n:04d}", "amount_cents": 100 + n, "currency": "EUR"}


def ids_of(payments: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(p["payment_id"]) for p in payments]


def key_of(payment_id: str, namespace: str = NAMESPACE) -> str:
    return idempotency_key(namespace, payment_id)


def payment_event(payments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One SQS batch, a message per payment (message ids ``m-<payment_id>``)."""
    return sqs_event(sqs_record(json.dumps(p), message_id=f"m-{p['payment_id']}") for p in payments)


def failed_ids(response: Mapping[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def scan(dynamodb: DynamoDBClient, table: str) -> dict[str, dict[str, Any]]:
    """Every item of a table, by its ``id``."""
    items: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[str(item["id"]["S"])] = dict(item)
    return items


def counters(dynamodb: DynamoDBClient, table: str) -> dict[str, int]:
    """The side-effect counters: payment id -> how often its work ran."""
    return {pid: int(item["count"]["N"]) for pid, item in scan(dynamodb, table).items()}


def status(item: Mapping[str, Any] | None) -> str | None:
    return None if item is None else str(item[schema.STATUS_ATTRIBUTE]["S"])


def statuses(dynamodb: DynamoDBClient, table: str, payment_ids: Sequence[str]) -> dict[str, Any]:
    """payment id -> status of its idempotency record (None when there is none)."""
    items = scan(dynamodb, table)
    return {pid: status(items.get(key_of(pid))) for pid in payment_ids}


def assert_counted_once_and_completed(
    dynamodb: DynamoDBClient, counter_table: str, table: str, payment_ids: Sequence[str]
) -> None:
    """Each payment counted once in the counter table, and its idempotency record COMPLETED."""
    assert counters(dynamodb, counter_table) == dict.fromkeys(payment_ids, 1)
    assert set(statuses(dynamodb, table, payment_ids).values()) == {"COMPLETED"}


def error_types(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """messageId -> exception type of the failures the batch processor logged."""
    return {
        r.messageId: r.errorType
        for r in caplog.records
        if hasattr(r, "errorType") and hasattr(r, "messageId")
    }


@dataclass
class Capture:
    """The per-record work: counts the payment in the counter table and returns a receipt."""

    dynamodb: DynamoDBClient
    table: str
    calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, record: SqsRecord) -> dict[str, str]:
        payment_id = str(record.json()["payment_id"])
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"id": {"S": payment_id}},
            UpdateExpression="ADD #count :one",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        with self._lock:
            self.calls[payment_id] += 1
        return {"payment_id": payment_id, "status": "captured"}


def payments_handler(store: DynamoDBStore, capture: Capture) -> LambdaHandler:
    return idempotent_batch_handler(capture, key="payment_id", store=store, namespace=NAMESPACE)


class WorkerDied(BaseException):
    """The invocation was killed (timeout, out of memory): no code of it runs afterwards."""


def dying(store: DynamoDBStore) -> Callable[[], None]:
    """Work that kills the invocation: the store's background writes stop with it."""

    def die() -> None:
        store.submit = lambda *args: Future()  # type: ignore[method-assign]
        raise WorkerDied

    return die


def wait_for_in_progress_expiry(dynamodb: DynamoDBClient, table: str) -> None:
    """Sleeps until every INPROGRESS lock of the table may be taken over."""
    expiries = [
        int(item[schema.IN_PROGRESS_EXPIRY_ATTRIBUTE]["N"])
        for item in scan(dynamodb, table).values()
        if status(item) == "INPROGRESS"
    ]
    assert expiries, "no lock is in progress"
    wait = (max(expiries) + 50) / 1000 - time.time()
    assert wait < 5, "the lock outlives its invocation's remaining time (about 1.5 s here)"
    time.sleep(max(0.0, wait))


@pytest.fixture
def moto_dynamodb(dynamodb: Any) -> DynamoDBClient:
    """A DynamoDB client straight to moto (no proxy): set-up and assertions."""
    client: DynamoDBClient = dynamodb
    return client


@pytest.fixture
def counter_table(moto_dynamodb: DynamoDBClient) -> str:
    return create_counter_table(moto_dynamodb)


@pytest.fixture
def capture(moto_dynamodb: DynamoDBClient, counter_table: str) -> Capture:
    return Capture(moto_dynamodb, counter_table)


def lock_only_store(table: str, proxy: FaultProxy) -> DynamoDBStore:
    """A store through ``proxy`` that only locks (no read first), so every key meets the
    injected PutItem errors; botocore tries each call twice."""
    return DynamoDBStore(table, client=dynamodb_client(proxy.url, attempts=2), read_first=False)


def locking(*keys: str) -> Callable[[Mapping[str, Any]], bool]:
    """Matches the PutItem requests that lock one of ``keys``."""
    return lambda body: body["Item"]["id"]["S"] in keys and status(body["Item"]) == "INPROGRESS"


def completing(body: Mapping[str, Any]) -> bool:
    """Matches the PutItem requests that complete a record."""
    return status(body["Item"]) == "COMPLETED"


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as running:
        yield running


# --- (a) concurrent consumers ---------------------------------------------------------------


@dataclass
class Traffic:
    """Messages the producer sent and the workers deleted, shared by the threads of one test."""

    sent: int = 0
    deleted: int = 0
    all_sent: threading.Event = field(default_factory=threading.Event)
    failed: threading.Event = field(default_factory=threading.Event)
    """Set when a thread failed: the others stop instead of waiting for the deadline."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, *, sent: int = 0, deleted: int = 0) -> None:
        with self._lock:
            self.sent += sent
            self.deleted += deleted

    def backlog(self) -> int:
        """Messages sent and not deleted yet: queued, in flight or waiting for a retry."""
        with self._lock:
            return self.sent - self.deleted


@dataclass
class PollingWorker(SqsPoller):
    """One concurrent Lambda instance behind the SQS event source mapping.

    An ``SqsPoller`` that counts the messages it deletes in ``traffic``, shared with the other
    workers, and runs until all that was sent has been deleted.
    """

    traffic: Traffic = field(default_factory=Traffic)

    @property
    def deliveries(self) -> int:
        """Messages delivered to the handler, redeliveries included."""
        return sum(len(batch) for batch in self.batches)

    def poll(self) -> int:
        failed_before = len(self.failures)
        received = super().poll()
        self.traffic.count(deleted=received - (len(self.failures) - failed_before))
        return received

    def run(self, deadline: float) -> None:
        """Polls until every message sent has been deleted (or the queue is empty for good)."""
        try:
            self._run(deadline)
        except BaseException:
            self.traffic.failed.set()
            raise

    def _run(self, deadline: float) -> None:
        idle_since: float | None = None
        while time.monotonic() < deadline and not self.traffic.failed.is_set():
            if self.poll():
                idle_since = None
                continue
            if self.traffic.all_sent.is_set() and self.traffic.backlog() == 0:
                return
            idle_since = idle_since or time.monotonic()
            # Idle for longer than a retry delay: a message was dead-lettered; stop if so.
            if (
                time.monotonic() - idle_since > 2 * self.retry_delay_seconds + 1
                and self.traffic.all_sent.is_set()
                and queue_depth(self.sqs, self.queue_url) == 0
            ):
                return
            time.sleep(0.05)
        raise AssertionError("the queue was not drained in time")


def test_concurrent_workers_run_each_payment_once_across_overlapping_duplicates(
    moto_endpoint: str,
    moto_dynamodb: DynamoDBClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    idempotency_table = create_idempotency_table(moto_dynamodb)
    counter_table = create_counter_table(moto_dynamodb)
    payments = [payment(n) for n in range(500)]
    # Each payment is sent 2 or 3 times (new messageIds, same body). Copies are shuffled within
    # windows of 10 payments, so the workers, each taking 10 messages from the head of the
    # queue at the same time, keep receiving copies of a payment another worker is processing.
    rng = random.Random(20240601)
    windows: list[list[str]] = []
    for start in range(0, len(payments), 10):
        window = [
            json.dumps(p)
            for p in payments[start : start + 10]
            for _ in range(2 + p["amount_cents"] % 2)
        ]
        rng.shuffle(window)
        windows.append(window)
    sent = sum(len(window) for window in windows)
    assert sent == 1250

    # A failed record comes back after 1 s, as Lambda returns it after the queue's visibility
    # timeout (6 x the function timeout, far longer than one batch): the worker holding the
    # lock has long finished by then, so an in-progress duplicate fails once or twice, not
    # maxReceiveCount times, and the QueueWorker redrive (5 receives) is kept as it is.
    # Returning it at once instead would bounce it a dozen times during one batch: it would be
    # dead-lettered unless maxReceiveCount were raised far above what QueueWorker deploys.
    with (
        fault_proxy(moto_endpoint, serialize=True) as proxy,  # atomic requests, as in AWS
        queue_with_dlq(
            sqs_client(proxy.url),
            max_receive_count=MAX_RECEIVE_COUNT,
            visibility_timeout=30,
            prefix="payments",
        ) as queues,
    ):
        queue_url, queue_arn, dlq_url = queues
        producer = sqs_client(proxy.url)
        calls: Counter[str] = Counter()
        calls_lock = threading.Lock()
        traffic = Traffic()
        pollers: list[PollingWorker] = []
        # Own clients and store per worker, as separate Lambdas. Two stores choose for
        # themselves whether to read a batch's records before locking (the default), one always
        # reads first and one never does: every way of meeting a duplicate is in play at once.
        for read_first in (None, None, True, False):
            capture = Capture(dynamodb_client(proxy.url), counter_table, calls, calls_lock)
            store = DynamoDBStore(
                idempotency_table, client=dynamodb_client(proxy.url), read_first=read_first
            )
            handler = payments_handler(store, capture)
            # A failed record comes back after 1 s (see above).
            worker = PollingWorker(
                sqs_client(proxy.url),
                queue_url,
                queue_arn,
                handler,
                retry_delay_seconds=1,
                context=lambda: LambdaContext(timeout_ms=30_000),
                traffic=traffic,
            )
            pollers.append(worker)

        deadline = time.monotonic() + 120
        with ThreadPoolExecutor(max_workers=len(pollers)) as pool:
            running = [pool.submit(p.run, deadline) for p in pollers]
            # Producers keep sending while the workers consume. A short backlog also keeps
            # moto fast: its receive costs grow with the number of queued messages.
            for window in windows:
                while traffic.backlog() > 40 and not traffic.failed.is_set():
                    time.sleep(0.005)
                if traffic.failed.is_set():
                    break  # a worker failed: its error is raised below
                send_all(producer, queue_url, message_entries(window))
                traffic.count(sent=len(window))
            traffic.all_sent.set()
            for future in running:
                future.result()

        assert queue_depth(producer, queue_url) == 0
        dead = receive_all(producer, dlq_url)

    assert dead == [], "nothing dead-lettered"
    payment_ids = ids_of(payments)
    assert calls == Counter(dict.fromkeys(payment_ids, 1)), "each payment's work ran once"
    assert counters(moto_dynamodb, counter_table) == dict.fromkeys(payment_ids, 1)
    items = scan(moto_dynamodb, idempotency_table)
    assert set(items) == {key_of(pid) for pid in payment_ids}
    for pid in payment_ids:
        item = items[key_of(pid)]
        assert status(item) == "COMPLETED", pid
        assert json.loads(item[schema.DATA_ATTRIBUTE]["S"]) == {
            "payment_id": pid,
            "status": "captured",
        }
        assert schema.IN_PROGRESS_EXPIRY_ATTRIBUTE not in item

    # The scenario did what it claims: duplicates overlapped. Some were skipped as completed,
    # some hit a lock another worker held, and each of those failed (in progress) and was
    # redelivered until the holder had completed it.
    deliveries = sum(p.deliveries for p in pollers)
    failures = [mid for p in pollers for mid in p.failures]
    assert deliveries == sent + len(failures), "each failed delivery redelivered exactly once"
    assert failures, "no duplicate ever met an in-progress lock: the workers did not overlap"
    assert set(error_types(caplog).values()) == {"IdempotencyAlreadyInProgressError"}
    assert set(error_types(caplog)) == set(failures)


# --- (b) a worker killed after taking its locks -------------------------------------------


def test_worker_killed_after_taking_locks_blocks_duplicates_until_its_locks_expire(
    moto_endpoint: str,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = DynamoDBStore(idempotency_table, client=dynamodb_client(moto_endpoint))
    # The killed invocation is a Lambda instance of its own, with its own store.
    dying_store = DynamoDBStore(idempotency_table, client=dynamodb_client(moto_endpoint))
    payments = [payment(n) for n in range(10)]
    event = payment_event(payments)
    payment_ids = ids_of(payments)
    records = [SqsRecord(raw) for raw in event["Records"]]

    # The dying invocation has 1.5 s left: it takes every lock of its batch, then is killed in
    # the first record's work. Its `with` block never exits, its background writes stop.
    keyed = [
        keyed_record(r, NAMESPACE, lambda record: record.json()["payment_id"], None)
        for r in records
    ]
    batch = IdempotentBatch(dying_store, keyed, remaining_ms=lambda: 1500)
    locked_at_ms = time.time() * 1000
    batch.__enter__()
    with pytest.raises(WorkerDied):
        batch.run(0, dying(dying_store))
    del batch

    items = scan(moto_dynamodb, idempotency_table)
    assert set(items) == {key_of(pid) for pid in payment_ids}
    for item in items.values():
        assert status(item) == "INPROGRESS"
        expiry = int(item[schema.IN_PROGRESS_EXPIRY_ATTRIBUTE]["N"])
        assert locked_at_ms + 1400 <= expiry <= locked_at_ms + 1600, "bound to the time left"

    # SQS redelivers the batch to another instance at once: every record is still locked.
    handler = payments_handler(store, capture)
    response = handler(event, LambdaContext(timeout_ms=30_000))
    assert failed_ids(response) == {f"m-{pid}" for pid in payment_ids}
    assert set(error_types(caplog).values()) == {"IdempotencyAlreadyInProgressError"}
    assert capture.calls == Counter(), "no work ran while the dead worker's locks held"
    assert counters(moto_dynamodb, capture.table) == {}

    # Once the dead invocation's deadline has passed, its locks can be taken over.
    wait_for_in_progress_expiry(moto_dynamodb, idempotency_table)
    response = handler(event, LambdaContext(timeout_ms=30_000))
    assert failed_ids(response) == set()
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)

    # A later redelivery runs nothing.
    response = handler(event, LambdaContext(timeout_ms=30_000))
    assert failed_ids(response) == set()
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))
    assert counters(moto_dynamodb, capture.table) == dict.fromkeys(payment_ids, 1)


def test_completions_written_during_the_batch_survive_the_worker_being_killed(
    moto_endpoint: str,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
) -> None:
    """In-process; ``test_idempotency_kill`` SIGKILLs a worker process."""
    store = DynamoDBStore(idempotency_table, client=dynamodb_client(moto_endpoint))
    # The killed invocation is a Lambda instance of its own, with its own store.
    dying_store = DynamoDBStore(idempotency_table, client=dynamodb_client(moto_endpoint))
    payments = [payment(n) for n in range(6)]
    event = payment_event(payments)
    payment_ids = ids_of(payments)
    records = [SqsRecord(raw) for raw in event["Records"]]
    keyed = [
        keyed_record(r, NAMESPACE, lambda record: record.json()["payment_id"], None)
        for r in records
    ]
    batch = IdempotentBatch(dying_store, keyed, remaining_ms=lambda: 1500)
    batch.__enter__()
    batch.run(0, lambda: capture(records[0]))
    batch.run(1, lambda: capture(records[1]))

    def killed_in_record_2() -> None:
        # Records 0 and 1 are completed in the background while record 2 runs, not at the
        # end of the batch; then the timeout kills the invocation.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and set(
            statuses(moto_dynamodb, idempotency_table, payment_ids[:2]).values()
        ) != {"COMPLETED"}:
            time.sleep(0.01)
        dying(dying_store)()

    with pytest.raises(WorkerDied):
        batch.run(2, killed_in_record_2)
    del batch

    assert statuses(moto_dynamodb, idempotency_table, payment_ids) == {
        **dict.fromkeys(payment_ids[:2], "COMPLETED"),
        **dict.fromkeys(payment_ids[2:], "INPROGRESS"),
    }

    wait_for_in_progress_expiry(moto_dynamodb, idempotency_table)
    response = payments_handler(store, capture)(event, LambdaContext(timeout_ms=30_000))
    assert failed_ids(response) == set()
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1)), "0 and 1 not rerun"
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)


# --- (c) DynamoDB errors -------------------------------------------------------------------


def test_lock_errors_fail_only_their_records_without_running_them(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = lock_only_store(idempotency_table, proxy)
    payments = [payment(n) for n in range(10)]
    payment_ids = ids_of(payments)
    broken = {payment_ids[1], payment_ids[4], payment_ids[8]}
    broken_keys = {key_of(pid) for pid in broken}
    rule = proxy.inject(FaultRule(PUT_ITEM, when=locking(*broken_keys)))
    event = payment_event(payments)
    handler = payments_handler(store, capture)

    response = handler(event, LambdaContext(timeout_ms=30_000))

    assert failed_ids(response) == {f"m-{pid}" for pid in broken}
    assert error_types(caplog) == dict.fromkeys(failed_ids(response), "IdempotencyPersistenceError")
    assert rule.injected == 2 * len(broken), "each lock tried twice (one botocore retry)"
    healthy = [pid for pid in payment_ids if pid not in broken]
    assert counters(moto_dynamodb, capture.table) == dict.fromkeys(healthy, 1)
    assert statuses(moto_dynamodb, idempotency_table, payment_ids) == {
        **dict.fromkeys(healthy, "COMPLETED"),
        **dict.fromkeys(broken, None),  # no lock was taken, nothing to clean up
    }

    proxy.clear()  # DynamoDB recovers; Lambda redelivers the batch
    response = handler(event, LambdaContext(timeout_ms=30_000))

    assert failed_ids(response) == set()
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1)), "healthy ones not rerun"
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)


def test_throttled_locks_are_retried_then_fail_only_their_record(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = lock_only_store(idempotency_table, proxy)
    payments = [payment(n) for n in range(4)]
    payment_ids = ids_of(payments)
    once, always = key_of(payment_ids[0]), key_of(payment_ids[1])
    throttled_once = proxy.inject(
        FaultRule(
            PUT_ITEM,
            when=locking(once),
            error=THROUGHPUT_EXCEEDED,
            times=1,
        )
    )
    throttled_always = proxy.inject(
        FaultRule(
            PUT_ITEM,
            when=locking(always),
            error=THROUGHPUT_EXCEEDED,
        )
    )

    response = payments_handler(store, capture)(payment_event(payments), LambdaContext(30_000))

    assert failed_ids(response) == {f"m-{payment_ids[1]}"}
    assert error_types(caplog) == {f"m-{payment_ids[1]}": "IdempotencyPersistenceError"}
    assert (throttled_once.injected, throttled_always.injected) == (1, 2)
    assert capture.calls == Counter(dict.fromkeys([payment_ids[0], *payment_ids[2:]], 1))
    assert statuses(moto_dynamodb, idempotency_table, payment_ids) == {
        payment_ids[0]: "COMPLETED",
        payment_ids[1]: None,
        payment_ids[2]: "COMPLETED",
        payment_ids[3]: "COMPLETED",
    }


def test_lost_lock_response_is_recognised_by_its_owner_token(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lock is written but its response is lost; the retry finds the lock it took."""
    store = lock_only_store(idempotency_table, proxy)
    payments = [payment(n) for n in range(3)]
    payment_ids = ids_of(payments)
    lost = key_of(payment_ids[2])
    rule = proxy.inject(
        FaultRule(
            PUT_ITEM,
            when=locking(lost),
            mode=Mode.LOSE_RESPONSE,
            times=1,
        )
    )
    event = payment_event(payments)
    handler = payments_handler(store, capture)

    response = handler(event, LambdaContext(timeout_ms=1500))

    # botocore's retry met the lock its first attempt wrote, with this batch's owner token:
    # the lock is this batch's, so the record runs (once) instead of failing as in progress.
    assert rule.injected == 1
    assert len([r for r in proxy.requests(PUT_ITEM) if locking(lost)(r.body)]) == 2
    assert failed_ids(response) == set()
    assert error_types(caplog) == {}
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)

    # A redelivery runs nothing.
    response = handler(event, LambdaContext(timeout_ms=30_000))
    assert failed_ids(response) == set()
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))


def test_transient_completion_write_errors_are_retried(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
) -> None:
    # No botocore retries: each injected error reaches the store's own retry loop.
    store = DynamoDBStore(idempotency_table, client=dynamodb_client(proxy.url, attempts=1))
    payments = [payment(n) for n in range(30)]
    payment_ids = ids_of(payments)
    rule = proxy.inject(FaultRule(PUT_ITEM, when=completing, times=3))

    response = payments_handler(store, capture)(payment_event(payments), LambdaContext(30_000))

    assert failed_ids(response) == set()
    assert rule.injected == 3
    completions = [r for r in proxy.requests(PUT_ITEM) if completing(r.body)]
    assert len(completions) == 30 + 3, "one conditional put per record, plus the retries"
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)


def test_lost_completion_response_is_recognised_as_written(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = DynamoDBStore(idempotency_table, client=dynamodb_client(proxy.url, attempts=1))
    payments = [payment(n) for n in range(3)]
    payment_ids = ids_of(payments)
    # The first completion is written, but its response is lost: the retry's condition
    # (still IN_PROGRESS) fails, and the record it returns is this batch's own completion.
    rule = proxy.inject(FaultRule(PUT_ITEM, when=completing, mode=Mode.LOSE_RESPONSE, times=1))

    with caplog.at_level(logging.WARNING):
        response = payments_handler(store, capture)(payment_event(payments), LambdaContext(30_000))

    assert failed_ids(response) == set()
    assert rule.injected == 1
    assert len([r for r in proxy.requests(PUT_ITEM) if completing(r.body)]) == 3 + 1
    assert not [r for r in caplog.records if hasattr(r, "idempotencyKey")], "nothing reported"
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)


def test_completion_writes_failing_for_good_leave_records_in_progress_not_failed(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = DynamoDBStore(idempotency_table, client=dynamodb_client(proxy.url, attempts=1))
    payments = [payment(n) for n in range(10)]
    payment_ids = ids_of(payments)
    event = payment_event(payments)
    handler = payments_handler(store, capture)
    rule = proxy.inject(FaultRule(PUT_ITEM, when=completing))
    started_ms = time.time() * 1000

    response = handler(event, LambdaContext(timeout_ms=30_000))

    # The work ran, once. The records are not reported failed: SQS would redeliver them, and
    # once their locks expired the redelivery would run the work a second time. Left deleted,
    # they are done; only their records stay IN_PROGRESS until the invocation's deadline
    # (duplicates arriving meanwhile fail and are retried later), then expire. The store logs
    # the keys it could not write, as an error.
    assert failed_ids(response) == set()
    assert rule.injected > 1, "the store retried before giving up"
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))
    assert counters(moto_dynamodb, capture.table) == dict.fromkeys(payment_ids, 1)
    items = scan(moto_dynamodb, idempotency_table)
    assert {status(items[key_of(pid)]) for pid in payment_ids} == {"INPROGRESS"}
    for item in items.values():
        expiry = int(item[schema.IN_PROGRESS_EXPIRY_ATTRIBUTE]["N"])
        assert started_ms + 29_000 <= expiry <= started_ms + 31_000
    unwritten = [r for r in caplog.records if hasattr(r, "idempotencyKey")]
    assert {r.levelno for r in unwritten} == {logging.ERROR}
    assert sorted(r.idempotencyKey for r in unwritten) == sorted(key_of(p) for p in payment_ids)

    # A redelivery before the locks expire (DynamoDB healthy again) runs nothing.
    proxy.clear()
    response = handler(event, LambdaContext(timeout_ms=30_000))
    assert failed_ids(response) == {f"m-{pid}" for pid in payment_ids}
    assert set(error_types(caplog).values()) == {"IdempotencyAlreadyInProgressError"}
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))
    assert counters(moto_dynamodb, capture.table) == dict.fromkeys(payment_ids, 1)
    assert {status(i) for i in scan(moto_dynamodb, idempotency_table).values()} == {"INPROGRESS"}


def test_read_first_skips_known_duplicates_and_falls_back_to_locks_when_reads_fail(
    proxy: FaultProxy,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    capture: Capture,
) -> None:
    store = DynamoDBStore(
        idempotency_table, client=dynamodb_client(proxy.url, attempts=2), read_first=True
    )
    handler = payments_handler(store, capture)
    first, later = [payment(n) for n in range(10)], [payment(n) for n in range(10, 15)]

    def run(event: Mapping[str, Any]) -> tuple[set[str], int, int]:
        """The failed records, and the BatchGetItem and PutItem requests of one invocation."""
        reads, puts = len(proxy.requests(BATCH_GET_ITEM)), len(proxy.requests(PUT_ITEM))
        failed = failed_ids(handler(event, LambdaContext(timeout_ms=30_000)))
        reads = len(proxy.requests(BATCH_GET_ITEM)) - reads
        return failed, reads, len(proxy.requests(PUT_ITEM)) - puts

    # New keys: one read finds none of them, then each is locked and completed.
    assert run(payment_event(first)) == (set(), 1, 10 + 10)
    # A replay: the read finds every record completed; nothing is locked, nothing runs.
    assert run(payment_event(first)) == (set(), 1, 0)

    # Reads fail: every key gets its conditional put, which still finds the completed ones.
    failing_reads = proxy.inject(FaultRule(BATCH_GET_ITEM))
    assert run(payment_event([*first, *later])) == (set(), 2, 15 + 5), "one read, one retry"
    assert failing_reads.injected == 2

    payment_ids = ids_of([*first, *later])
    assert capture.calls == Counter(dict.fromkeys(payment_ids, 1))
    assert_counted_once_and_completed(moto_dynamodb, capture.table, idempotency_table, payment_ids)


# --- the reference payments handler ----------------------------------------------------------


def reference_payments_module() -> Any:
    """A private copy of the reference handler module, ``handler`` built as its import builds it.

    The shared module's ``handler`` keeps the store (table and client) of its first call for
    the rest of the process, so each test runs the module's code in a copy of its own.
    """
    name = f"idempotent_payments_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, idempotent_payments.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_payments_handler_captures_each_payment_once_and_rejects_altered_ones(
    sqs: SQSClient,
    moto_dynamodb: DynamoDBClient,
    idempotency_table: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(schema.TABLE_NAME_ENV, idempotency_table)
    monkeypatch.setenv(schema.EXPIRES_AFTER_ENV, "600")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "payments-flow")
    module = reference_payments_module()
    caplog.set_level(logging.INFO, logger=module.__name__)
    namespace = default_namespace(module.capture_payment)
    handler: LambdaHandler = module.handler

    payments = [payment(n) for n in range(20)]
    payment_ids = ids_of(payments)
    invalid = json.dumps({"payment_id": "pay-invalid", "amount_cents": 0, "currency": "EUR"})
    malformed = '{"payment_id": "pay-malformed", "amount_cents": 1'
    altered_amount = json.dumps({**payments[3], "amount_cents": 999_999})
    altered_currency = json.dumps({**payments[4], "currency": "USD"})

    def captured() -> Counter[str]:
        return Counter(
            str(getattr(r, "payment_id", None))
            for r in caplog.records
            if r.getMessage() == "Payment captured"
        )

    with queue_with_dlq(sqs, max_receive_count=MAX_RECEIVE_COUNT, prefix="payments") as (
        queue_url,
        queue_arn,
        dlq_url,
    ):
        poller = SqsPoller(
            sqs, queue_url, queue_arn, handler, context=lambda: LambdaContext(30_000)
        )
        originals = [json.dumps(p) for p in payments]
        send_all(sqs, queue_url, message_entries([*originals, *originals, invalid, malformed]))
        start = time.time()
        poller.drain()

        assert captured() == Counter(dict.fromkeys(payment_ids, 1))
        items = scan(moto_dynamodb, idempotency_table)
        # The invalid payment's lock was released; the malformed one never had a key.
        assert set(items) == {key_of(pid, namespace) for pid in payment_ids}
        for p in payments:
            item = items[key_of(str(p["payment_id"]), namespace)]
            assert status(item) == "COMPLETED"
            assert json.loads(item[schema.DATA_ATTRIBUTE]["S"]) == {
                "payment_id": p["payment_id"],
                "status": "captured",
            }
            assert item[schema.VALIDATION_ATTRIBUTE]["S"] == data_hash(
                [p["amount_cents"], p["currency"]]
            )
            assert start + 600 - 5 <= int(item[schema.EXPIRY_ATTRIBUTE]["N"]) <= time.time() + 600

        # Later: resends of captured payments, and two that reuse a payment id with different
        # amount or currency.
        caplog.clear()
        send_all(
            sqs, queue_url, message_entries([*originals[:5], altered_amount, altered_currency])
        )
        poller.drain()

        dead = receive_all(sqs, dlq_url)
        assert queue_depth(sqs, queue_url) == 0

    assert captured() == Counter(), "nothing captured again"
    assert scan(moto_dynamodb, idempotency_table) == items, "receipts unchanged"
    assert sorted(m["Body"] for m in dead) == sorted(
        [invalid, malformed, altered_amount, altered_currency]
    )
    deliveries = Counter(m["MessageId"] for batch in poller.batches for m in batch)
    for message in dead:  # failed on every delivery, then dead-lettered
        assert deliveries[message["MessageId"]] == MAX_RECEIVE_COUNT
    altered_ids = {m["MessageId"] for m in dead if m["Body"] in (altered_amount, altered_currency)}
    assert {error_types(caplog)[mid] for mid in altered_ids} == {"IdempotencyValidationError"}
    assert set(error_types(caplog)) == altered_ids, "resends of captured payments succeed"


def test_a_result_holding_a_lone_surrogate_is_stored_and_returned_to_duplicates(
    moto_dynamodb: DynamoDBClient, idempotency_table: str
) -> None:
    """A result decoded from JSON may hold a lone surrogate (the escape "\\udc80"), which
    strict UTF-8 cannot encode: the record is completed with the result as a JSON escape, and
    a duplicate gets the same result back without running the work again."""
    runs: list[str] = []
    store = DynamoDBStore(idempotency_table, client=moto_dynamodb, read_first=False)

    def note(record: SqsRecord) -> dict[str, str]:
        runs.append(record.message_id)
        return {"note": json.loads('"caf\\udc80"')}

    handler = idempotent_batch_handler(note, key="payment_id", store=store, namespace=NAMESPACE)
    event = payment_event([payment(1)])
    assert handler(event, LambdaContext(30_000)) == {"batchItemFailures": []}
    assert handler(event, LambdaContext(30_000)) == {"batchItemFailures": []}
    assert runs == ["m-pay-0001"]
    item = scan(moto_dynamodb, idempotency_table)[key_of("pay-0001")]
    assert status(item) == "COMPLETED"
    assert json.loads(item[schema.DATA_ATTRIBUTE]["S"]) == {"note": "caf\udc80"}
