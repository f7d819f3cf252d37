"""Idempotency benchmark: our batched SQS idempotency against Powertools, on the same records.

Two implementations process the same Lambda SQS events of 10 records each, through their
public APIs only:

* **ours**: ``idempotent_batch_handler(handle_record, key="payment_id", store=DynamoDBStore(
  table, client=...))``, called with the event and a fake Lambda context;
* **powertools** (the anchor): Powertools for AWS Lambda (Python)
  ``@idempotent_function(data_keyword_argument="record", ...)`` with a
  ``DynamoDBPersistenceLayer`` and ``IdempotencyConfig(event_key_jmespath="payment_id")``,
  called per record in sequence over the same batch, ``config.register_lambda_context``
  once per batch (the documented way; failures collected as a partial batch response).

Both do the same work per record (parse the JSON body, return a small dict) and count their
calls. Each has its own DynamoDB client, created once and reused as in Lambda
(``Config(max_pool_connections=10, retries={"mode": "standard"})``), and its own table created
fresh per run (partition key ``id`` string, on demand, TTL ``expiration``).

Per run: a few warm-up batches (new, then replayed; not counted), then ``--repeat`` batches
(default 100) of 10 NEW records (unique payment ids), then a REPLAY of the same batches, in
which every record is a completed duplicate. The implementations alternate batch by batch, and
which one goes first alternates too, so machine noise favours neither. Before any figure
counts, correctness is checked: after NEW each table holds exactly one COMPLETED record per
payment id and each work function ran once per record; in REPLAY neither work function runs.
A failure there is printed loudly and exits non-zero.

One moto server (``ThreadedMotoServer`` in a child process, ``moto_server.py``), three runs:

* run A, the server directly: wall time per batch (median), the client process's CPU per
  batch (``time.process_time`` around each call: every thread of this process, the store's
  included; the server is another process), and, from every HTTP request each client sends
  (botocore's ``before-send`` event, so retried attempts count too), requests per record and
  the capacity units they consume, as the page "DynamoDB read and write operations" of the
  DynamoDB developer guide prices them for items under 1 KB (writes) and 4 KB (reads):
  PutItem, UpdateItem, DeleteItem 1 write unit (a failed condition still consumes it),
  BatchWriteItem 1 per item, TransactWriteItems 2 per item; GetItem 1 read unit strongly
  consistent (0.5 eventually), BatchGetItem the same per key, TransactGetItems 2 per item;
* run B, the same server behind ``LatencyProxy`` (``latency_proxy.py``), one proxy per
  implementation, delaying each request by ``--delay-ms`` (default 5 ms), a round trip to
  DynamoDB in a region: wall time per batch;
* run C, the same behind a proxy delaying each request by ``--path-delay-ms`` (default 50 ms,
  ``--path-repeat`` batches, default 20): the critical path. Each proxy logs every request's
  (start, end); a batch's requests are those starting inside the client's own window around
  the batch call, and its critical path (``critical_path.py``) is the longest chain of them in
  which each request starts after the previous one ended: the round trips the batch waits
  for. Behind 5 ms, requests sent together still chain, because moto serves one request at
  a time (about 4 ms each, against DynamoDB's parallel service) and the client spends about
  2 ms of CPU per request under its GIL: the chain then measures the emulator and the client
  as much as the design. Behind 50 ms, the order of requests alone decides it. The 5 ms run's
  figure is reported beside it.

In runs B and C, each proxy's count of requests must equal the requests its client sent, or
the run fails; a request that starts between batches (after a handler returned) is flagged.

Then the kill scenario (``kill_mid_batch.py``), per implementation on a fresh table: a
worker is SIGKILLed while record 3 of 3 hangs, and the batch is redelivered after the lock's
deadline; reported are the records in flight at the kill and the records whose work ran again.

Everything is printed with the targets of issue 11 (PASS / MISS, none asserted) and written
to ``benchmarks/out/idempotency.json``: per phase (``new``, ``replay``) the median critical
path round trips (run C; run B's as ``critical_path_round_trips_proxy_5ms``), requests, write
units and read units per record, the client's CPU ms per batch and the median ms per batch
direct and through the 5 ms proxy; and ``kill_mid_batch``.

Run: ``python benchmarks/idempotency_benchmark.py [--repeat N] [--warmup N] [--delay-ms MS]
[--path-delay-ms MS] [--path-repeat N] [--remaining-ms MS] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Run as a script, sys.path starts with benchmarks/; the checkout root makes the package-style
# imports below work as they do for mypy.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from benchmarks.critical_path import Interval, critical_path, per_batch
from benchmarks.idempotency_floor import measure as measure_floor
from benchmarks.kill_mid_batch import KEYS, KillResult, kill_mid_batch, kill_worker_available
from benchmarks.latency_proxy import LatencyProxy
from benchmarks.moto_server import REGION, MotoServer, dummy_aws_environment, moto_server
from benchmarks.report import CorrectnessError, machine, plain_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_SIZE = 10
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bench"
OURS = "ours"
POWERTOOLS = "powertools"
OUT = Path(__file__).resolve().parent / "out" / "idempotency.json"

#: Write units per request of the single-item writes (items under 1 KB).
_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
#: Operations that read or write no item of the table (none is expected in a batch).
_UNPRICED_OK = ("DescribeTable",)


# --- DynamoDB -------------------------------------------------------------------------------


def dynamodb_client(endpoint: str) -> DynamoDBClient:
    """A client as a function creates it once per execution environment."""
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=10, retries={"mode": "standard"})
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, config=config)


def create_table(admin: DynamoDBClient, name: str) -> str:
    """An idempotency table: partition key ``id`` (string), on demand, TTL ``expiration``."""
    admin.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    admin.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )
    return name


def table_statuses(admin: DynamoDBClient, table: str) -> Counter[str]:
    """How many items of ``table`` have each status (a full scan)."""
    statuses: Counter[str] = Counter()
    kwargs: dict[str, Any] = {}
    while True:
        page = admin.scan(TableName=table, **kwargs)
        statuses.update(item.get("status", {}).get("S", "<none>") for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return statuses
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- events ---------------------------------------------------------------------------------


class FakeLambdaContext:
    """What handlers and Powertools' ``register_lambda_context`` read from a Lambda context."""

    function_name = "idempotency-benchmark"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:idempotency-benchmark"
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/idempotency-benchmark"
    log_stream_name = "2025/01/01/[$LATEST]0123456789abcdef"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def sqs_event(run: str, batch: int) -> dict[str, Any]:
    """Batch ``batch`` of run ``run``: 10 records, each with a payment id no other has."""
    records = []
    for index in range(BATCH_SIZE):
        payment_id = f"pay-{run}-{batch:05d}-{index:02d}"
        body = {"payment_id": payment_id, "amount_cents": 1000 + index, "currency": "EUR"}
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{payment_id}",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1735689600000",
                    "SenderId": "123456789012",
                    "ApproximateFirstReceiveTimestamp": "1735689600001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


# --- request accounting ---------------------------------------------------------------------


class RequestLog:
    """Every HTTP request a client sends (retried attempts included): operation and body."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self._taken = 0
        client.meta.events.register("before-send.dynamodb.*", self._before_send)

    def _before_send(self, request: Any, event_name: str, **_: Any) -> None:
        # Called from the store's worker threads too: list.append is atomic. Returning a
        # value would replace the HTTP response; this returns None.
        body = request.body
        self.sent.append((event_name.rsplit(".", 1)[-1], body if isinstance(body, bytes) else b""))

    @property
    def total(self) -> int:
        """Every request since the client was made, warm-up included."""
        return self._taken + len(self.sent)

    def take(self) -> list[tuple[str, bytes]]:
        """The requests since the last take (call between batches, not during one)."""
        sent, self.sent = self.sent, []
        self._taken += len(sent)
        return sent


@dataclass(frozen=True)
class Usage:
    """Requests by operation, and the capacity units they consume (items under 1 KB / 4 KB)."""

    requests: Counter[str]
    write_units: float
    read_units: float
    unpriced: frozenset[str]  # operations this does not know how to price

    @classmethod
    def of(cls, sent: Sequence[tuple[str, bytes]]) -> Usage:
        requests: Counter[str] = Counter()
        write_units = read_units = 0.0
        unpriced: set[str] = set()
        for operation, body in sent:
            requests[operation] += 1
            request = json.loads(body or b"{}")
            if operation in _SINGLE_WRITES:
                write_units += 1
            elif operation == "BatchWriteItem":
                items = request.get("RequestItems", {})
                write_units += sum(len(table) for table in items.values())
            elif operation == "TransactWriteItems":
                write_units += 2 * len(request.get("TransactItems", []))
            elif operation == "GetItem":
                read_units += _read_unit(request)
            elif operation == "BatchGetItem":
                for table in request.get("RequestItems", {}).values():
                    read_units += _read_unit(table) * len(table["Keys"])
            elif operation == "TransactGetItems":
                read_units += 2 * len(request.get("TransactItems", []))
            elif operation not in _UNPRICED_OK:
                unpriced.add(operation)
        return cls(requests, write_units, read_units, frozenset(unpriced))


def _read_unit(request: Mapping[str, Any]) -> float:
    """One item under 4 KB: 1 read unit strongly consistent, 0.5 eventually consistent."""
    return 1.0 if request.get("ConsistentRead") else 0.5


# --- the two implementations ----------------------------------------------------------------


@dataclass
class Implementation:
    """One implementation under test: its handler, work counter, client and table."""

    name: str
    handler: Callable[[Mapping[str, Any], Any], Any]
    log: RequestLog
    table: str
    calls: list[int]  # [how often the work function ran]

    def failures(self, response: Any) -> list[Any]:
        failures: list[Any] = response["batchItemFailures"]
        return failures


def _work(payment: Mapping[str, Any]) -> dict[str, Any]:
    """The trivial work both do per record, after parsing its body."""
    return {"payment_id": payment["payment_id"], "status": "captured"}


def ours(endpoint: str, table: str) -> Implementation:
    from serverless_patterns.runtime.batch import SqsRecord
    from serverless_patterns.runtime.idempotency import DynamoDBStore, idempotent_batch_handler

    client = dynamodb_client(endpoint)
    log = RequestLog(client)
    calls = [0]

    def handle_record(record: SqsRecord) -> dict[str, Any]:
        calls[0] += 1
        return _work(record.json())

    handler = idempotent_batch_handler(
        handle_record, key="payment_id", store=DynamoDBStore(table, client=client)
    )
    return Implementation(OURS, handler, log, table, calls)


def powertools(endpoint: str, table: str) -> Implementation:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    client = dynamodb_client(endpoint)
    log = RequestLog(client)
    calls = [0]
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="payment_id")

    # Powertools types idempotent_function as returning Any.
    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="record", persistence_store=persistence, config=config
    )
    def process_payment(record: dict[str, Any]) -> dict[str, Any]:
        calls[0] += 1
        return _work(record)

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)
        failures = []
        for raw in event["Records"]:
            try:
                process_payment(record=json.loads(raw["body"]))
            except Exception:
                failures.append({"itemIdentifier": raw["messageId"]})
        return {"batchItemFailures": failures}

    return Implementation(POWERTOOLS, handler, log, table, calls)


# --- one run --------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one implementation did in one phase of one run, batch by batch."""

    seconds: list[float]  # wall time per batch
    cpu_seconds: list[float]  # this process's CPU time per batch
    windows: list[Interval]  # (start, end) of each batch call, time.monotonic()
    usage: Usage
    records: int
    server_cpu_seconds: float | None
    round_trips: list[int] | None = None  # critical path per batch (proxied runs)
    leaked_requests: int = 0  # requests started between batches (proxied runs)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p90_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[-1] * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu_seconds) * 1000

    @property
    def server_cpu_ms(self) -> float | None:
        if self.server_cpu_seconds is None:
            return None
        return self.server_cpu_seconds / len(self.seconds) * 1000

    def per_record(self, value: float) -> float:
        return value / self.records


@dataclass
class RunResult:
    name: str
    description: str
    proxied: bool
    phases: dict[tuple[str, str], Phase]  # (phase, implementation)
    notes: list[str]


@dataclass
class Timings:
    seconds: dict[str, list[float]]
    cpu_seconds: dict[str, list[float]]
    windows: dict[str, list[Interval]]
    server_cpu: dict[str, float | None]


def _run_batches(
    implementations: Sequence[Implementation],
    events: Sequence[Mapping[str, Any]],
    phase: str,
    server: MotoServer,
) -> Timings:
    """Every event through every implementation, alternating who goes first per batch.

    Around each call: wall time, this process's CPU time, the call's monotonic window, and the
    server's CPU time (summed per implementation).
    """
    names = [impl.name for impl in implementations]
    timings = Timings(
        {name: [] for name in names},
        {name: [] for name in names},
        {name: [] for name in names},
        dict.fromkeys(names, 0.0),
    )
    for index, event in enumerate(events):
        order = implementations if index % 2 == 0 else list(reversed(implementations))
        for impl in order:
            context = FakeLambdaContext()
            server_before = server.cpu_seconds()
            cpu_before = time.process_time()
            start = time.monotonic()
            response = impl.handler(event, context)
            end = time.monotonic()
            cpu_after = time.process_time()
            server_after = server.cpu_seconds()
            timings.seconds[impl.name].append(end - start)
            timings.cpu_seconds[impl.name].append(cpu_after - cpu_before)
            timings.windows[impl.name].append((start, end))
            total = timings.server_cpu[impl.name]
            timings.server_cpu[impl.name] = (
                None
                if total is None or server_before is None or server_after is None
                else total + server_after - server_before
            )
            failures = impl.failures(response)
            if failures:
                raise CorrectnessError(
                    f"{impl.name}, {phase} batch {index}: records failed: {failures}"
                )
    return timings


@dataclass(frozen=True)
class Expected:
    records: int  # new records of the timed phase
    table_items: int  # payment ids in each table after it (warm-up included)


def _check_new(admin: DynamoDBClient, impl: Implementation, ran: int, expected: Expected) -> None:
    if ran != expected.records:
        raise CorrectnessError(
            f"{impl.name}: in NEW the work ran {ran} times for {expected.records} new records"
        )
    statuses = table_statuses(admin, impl.table)
    if statuses != Counter({"COMPLETED": expected.table_items}):
        raise CorrectnessError(
            f"{impl.name}: table {impl.table} holds {dict(statuses)} after NEW; expected "
            f"{expected.table_items} COMPLETED records (one per payment id) and nothing else"
        )


def _check_replay(impl: Implementation, ran: int) -> None:
    if ran:
        raise CorrectnessError(
            f"{impl.name}: in REPLAY the work ran {ran} times; every record was a completed "
            "duplicate, so it must run 0 times"
        )


def _round_trips(proxy: LatencyProxy, windows: Sequence[Interval]) -> tuple[list[int], int]:
    """Each batch's critical path, and how many requests started between its batches."""
    grouped, outside = per_batch(proxy.request_times(), windows)
    first, last = windows[0][0], windows[-1][1]
    leaked = sum(1 for start, _ in outside if first <= start <= last)
    return [critical_path(requests) for requests in grouped], leaked


def run(
    name: str,
    description: str,
    server: MotoServer,
    *,
    delay_seconds: float | None,
    repeat: int,
    warmup: int,
) -> RunResult:
    """Fresh tables, warm-up, NEW then REPLAY, correctness checked after each phase.

    With ``delay_seconds``, each implementation reaches the server through its own
    LatencyProxy, whose request log gives each batch's critical path, and whose count of
    delayed requests is checked against the requests its client sent.
    """
    direct = server.endpoint
    admin = dynamodb_client(direct)  # set-up and checks, never through a proxy
    tag = uuid.uuid4().hex[:8]
    factories: list[tuple[str, Callable[[str, str], Implementation]]] = [
        (OURS, ours),
        (POWERTOOLS, powertools),
    ]
    with ExitStack() as stack:
        implementations = []
        proxies: dict[str, LatencyProxy] = {}
        for impl_name, factory in factories:
            endpoint = direct
            if delay_seconds is not None:
                proxy = LatencyProxy("127.0.0.1", server.port, delay_seconds=delay_seconds)
                stack.callback(proxy.stop)
                endpoint = f"http://127.0.0.1:{proxy.start().port}"
                proxies[impl_name] = proxy
            table = create_table(admin, f"bench-{impl_name}-{tag}")
            implementations.append(factory(endpoint, table))

        warm_events = [sqs_event(f"{tag}-warm", batch) for batch in range(warmup)]
        _run_batches(implementations, warm_events, "warm-up", server)
        _run_batches(implementations, warm_events, "warm-up replay", server)
        for impl in implementations:
            impl.log.take()

        events = [sqs_event(tag, batch) for batch in range(repeat)]
        expected = Expected(repeat * BATCH_SIZE, (repeat + warmup) * BATCH_SIZE)
        phases: dict[tuple[str, str], Phase] = {}
        for phase in ("NEW", "REPLAY"):
            calls_before = {impl.name: impl.calls[0] for impl in implementations}
            timings = _run_batches(implementations, events, phase, server)
            for impl in implementations:
                ran = impl.calls[0] - calls_before[impl.name]
                if phase == "NEW":
                    _check_new(admin, impl, ran, expected)
                else:
                    _check_replay(impl, ran)
                result = Phase(
                    timings.seconds[impl.name],
                    timings.cpu_seconds[impl.name],
                    timings.windows[impl.name],
                    Usage.of(impl.log.take()),
                    expected.records,
                    timings.server_cpu[impl.name],
                )
                if impl.name in proxies:
                    result.round_trips, result.leaked_requests = _round_trips(
                        proxies[impl.name], result.windows
                    )
                phases[phase, impl.name] = result

        notes = []
        for impl in implementations:
            proxy_or_none = proxies.get(impl.name)
            if proxy_or_none is None:
                continue
            delayed, accepted = proxy_or_none.requests_delayed, proxy_or_none.connections_accepted
            if delayed != impl.log.total:
                raise CorrectnessError(
                    f"the LatencyProxy of {impl.name} delayed {delayed} requests but the client "
                    f"sent {impl.log.total}: the run did not model one round trip per request"
                )
            notes.append(
                f"{impl.name}'s proxy: {delayed} requests delayed (= requests sent, warm-up "
                f"included) over {accepted} connections"
            )
    notes += _warnings(phases)
    return RunResult(name, description, delay_seconds is not None, phases, notes)


def _warnings(phases: Mapping[tuple[str, str], Phase]) -> list[str]:
    """Requests sent after a handler returned, and operations this cannot price."""
    notes = []
    for (phase, impl_name), result in phases.items():
        if result.leaked_requests:
            notes.append(
                f"WARNING: {impl_name} sent {result.leaked_requests} requests in {phase} after "
                "its handler had returned (Lambda freezes the environment then: they may "
                "never be sent)"
            )
        if result.usage.unpriced:
            notes.append(
                f"WARNING: {impl_name} in {phase} used operations not priced here: "
                f"{', '.join(sorted(result.usage.unpriced))}"
            )
    return notes


# --- kill mid-batch -------------------------------------------------------------------------


def kill_scenarios(server: MotoServer, remaining_ms: int) -> dict[str, KillResult | None]:
    """The kill scenario for each implementation, each on a fresh table (None: no worker)."""
    if not kill_worker_available():
        return {OURS: None, POWERTOOLS: None}
    admin = dynamodb_client(server.endpoint)
    tag = uuid.uuid4().hex[:8]
    return {
        impl: kill_mid_batch(
            server.endpoint,
            REGION,
            create_table(admin, f"kill-{impl}-{tag}"),
            impl,
            remaining_ms=remaining_ms,
        )
        for impl in (OURS, POWERTOOLS)
    }


# --- report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One phase's figures per implementation, as the JSON reports them."""

    round_trips: dict[str, float]
    max_round_trips: dict[str, int]
    round_trip_counts: dict[str, Counter[int]]  # batches per critical path length
    round_trips_proxy: dict[str, float]  # median critical path behind the run-B proxy
    requests: dict[str, float]
    write_units: dict[str, float]
    read_units: dict[str, float]
    cpu_ms: dict[str, float]
    direct_ms: dict[str, float]
    proxy_ms: dict[str, float]

    @classmethod
    def of(cls, phase: str, direct: RunResult, proxied: RunResult, path: RunResult) -> Figures:
        """Round trips from ``path``, wall time also from ``proxied``, the rest ``direct``."""

        def each(result: RunResult, value: Callable[[Phase], float]) -> dict[str, float]:
            return {impl: value(result.phases[phase, impl]) for impl in (OURS, POWERTOOLS)}

        def trips(found: Phase) -> list[int]:
            assert found.round_trips is not None
            return found.round_trips

        return cls(
            round_trips=each(path, lambda p: statistics.median(trips(p))),
            max_round_trips={
                impl: max(trips(path.phases[phase, impl])) for impl in (OURS, POWERTOOLS)
            },
            round_trip_counts={
                impl: Counter(trips(path.phases[phase, impl])) for impl in (OURS, POWERTOOLS)
            },
            round_trips_proxy=each(proxied, lambda p: statistics.median(trips(p))),
            requests=each(direct, lambda p: p.per_record(p.usage.requests.total())),
            write_units=each(direct, lambda p: p.per_record(p.usage.write_units)),
            read_units=each(direct, lambda p: p.per_record(p.usage.read_units)),
            cpu_ms=each(direct, lambda p: p.cpu_ms),
            direct_ms=each(direct, lambda p: p.median_ms),
            proxy_ms=each(proxied, lambda p: p.median_ms),
        )

    def json(self, proxy_key: str) -> dict[str, Any]:
        return {
            "critical_path_round_trips": _rounded(self.round_trips),
            f"critical_path_round_trips_{proxy_key}": _rounded(self.round_trips_proxy),
            "requests_per_record": _rounded(self.requests),
            "write_units_per_record": _rounded(self.write_units),
            "read_units_per_record": _rounded(self.read_units),
            "client_cpu_ms_per_batch": _rounded(self.cpu_ms),
            "ms_per_batch": {
                "direct": _rounded(self.direct_ms),
                proxy_key: _rounded(self.proxy_ms),
            },
        }


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {name: round(value, 3) for name, value in values.items()}


def _verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def target_rows(
    figures: Mapping[str, Figures],
    kills: Mapping[str, KillResult | None],
    delays: str,
    floor_cpu: Mapping[str, float],
) -> list[list[str]]:
    """The issue's targets: metric, ours, powertools, target, verdict."""
    rows: list[list[str]] = []
    for phase, most in (("NEW", 2), ("REPLAY", 1)):
        found = figures[phase]
        mine, anchor = found.round_trips[OURS], found.round_trips[POWERTOOLS]
        rows.append(
            [
                f"{phase} critical path round trips (median; max)",
                f"{mine:g}; {found.max_round_trips[OURS]}",
                f"{anchor:g}; {found.max_round_trips[POWERTOOLS]}",
                f"ours <= {most}",
                _verdict(mine <= most),
            ]
        )
        rows.append(
            [
                f"  the same behind {delays} (median)",
                f"{found.round_trips_proxy[OURS]:g}",
                f"{found.round_trips_proxy[POWERTOOLS]:g}",
                "(reported)",
                "",
            ]
        )
        for metric, values in (
            ("requests / record", found.requests),
            ("write units / record", found.write_units),
            ("read units / record", found.read_units),
        ):
            rows.append(
                [
                    f"{phase} {metric}",
                    f"{values[OURS]:.3f}",
                    f"{values[POWERTOOLS]:.3f}",
                    "ours <= powertools",
                    _verdict(values[OURS] <= values[POWERTOOLS] + 1e-9),
                ]
            )
    cpu = figures["NEW"].cpu_ms
    rows.append(
        [
            "NEW client CPU ms / batch",
            f"{cpu[OURS]:.2f}",
            f"{cpu[POWERTOOLS]:.2f}",
            f"ours <= 0.75 x powertools ({0.75 * cpu[POWERTOOLS]:.2f})",
            _verdict(cpu[OURS] <= 0.75 * cpu[POWERTOOLS]),
        ]
    )
    own = own_cpu_ms(cpu, floor_cpu)
    rows.append(
        [
            "  of it the runtime's own (minus the same requests made bare)",
            f"{own[OURS]:.2f}",
            f"{own[POWERTOOLS]:.2f}",
            "(reported)",
            "",
        ]
    )
    mine_kill, anchor_kill = kills[OURS], kills[POWERTOOLS]
    rows.append(
        [
            "kill mid-batch: records rerun / in flight",
            _kill_cell(mine_kill),
            _kill_cell(anchor_kill),
            "rerun <= in flight",
            "MISS (not run)"
            if mine_kill is None
            else _verdict(mine_kill.records_rerun <= mine_kill.records_in_flight),
        ]
    )
    return rows


def own_cpu_ms(cpu: Mapping[str, float], floor_cpu: Mapping[str, float]) -> dict[str, float]:
    """Each runtime's client CPU per batch beyond its access pattern made with bare boto3
    calls (``idempotency_floor.py``): ours makes the concurrent pattern, Powertools the
    sequential one."""
    return {
        OURS: cpu[OURS] - floor_cpu["concurrent"],
        POWERTOOLS: cpu[POWERTOOLS] - floor_cpu["sequential"],
    }


def _kill_cell(result: KillResult | None) -> str:
    if result is None:
        return "n/a"
    return f"{result.records_rerun} / {result.records_in_flight}"


def run_table(result: RunResult) -> str:
    """Everything measured in one run, per phase and implementation."""
    rows: list[list[str]] = []
    for phase in ("NEW", "REPLAY"):
        mine, anchor = result.phases[phase, OURS], result.phases[phase, POWERTOOLS]
        metrics: list[tuple[str, Callable[[Phase], float | None]]] = [
            ("median ms / batch", lambda p: p.median_ms),
            ("p90 ms / batch", lambda p: p.p90_ms),
            ("moto server CPU ms / batch", lambda p: p.server_cpu_ms),
            ("requests / record", lambda p: p.per_record(p.usage.requests.total())),
            ("write units / record", lambda p: p.per_record(p.usage.write_units)),
            ("read units / record", lambda p: p.per_record(p.usage.read_units)),
        ]
        if result.proxied:
            metrics.insert(
                0,
                (
                    "critical path round trips (median)",
                    lambda p: statistics.median(p.round_trips or [0]),
                ),
            )
        else:  # this process's CPU; in a proxied run it would include the proxy's threads
            metrics.insert(2, ("client CPU ms / batch (median)", lambda p: p.cpu_ms))
        for metric, value in metrics:
            rows.append([phase, metric, _number(value(mine)), _number(value(anchor))])
    return plain_table(
        f"{result.name}: {result.description}", ["phase", "metric", OURS, POWERTOOLS], rows, text=2
    )


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def operations_table(result: RunResult) -> str:
    """Requests per record by operation, per phase and implementation."""
    operations = sorted(
        {operation for phase in result.phases.values() for operation in phase.usage.requests}
    )
    rows = [
        [
            phase_name,
            impl,
            *(f"{phase.per_record(phase.usage.requests[op]):.2f}" for op in operations),
            str(phase.usage.requests.total()),
        ]
        for (phase_name, impl), phase in result.phases.items()
    ]
    return plain_table(
        f"{result.name}: DynamoDB requests per record by operation (retried attempts included)",
        ["phase", "implementation", *operations, "requests in all"],
        rows,
        text=2,
    )


def kill_table(kills: Mapping[str, KillResult | None], remaining_ms: int) -> str:
    rows = [
        [
            impl,
            ", ".join(result.finished_before_kill) or "-",
            ", ".join(result.in_flight) or "-",
            ", ".join(result.rerun) or "-",
        ]
        for impl, result in kills.items()
        if result is not None
    ]
    return plain_table(
        f"Kill mid-batch: keys {', '.join(KEYS)}, {KEYS[-1]} hangs, SIGKILL 0.5 s after it "
        f"starts, redelivered after the {remaining_ms} ms deadline",
        ["implementation", "finished before the kill", "in flight at the kill", "ran again"],
        rows,
        text=4,
    )


def report_json(
    figures: Mapping[str, Figures],
    kills: Mapping[str, KillResult | None],
    proxy_key: str,
    floor_cpu: Mapping[str, float],
) -> dict[str, Any]:
    new = figures["NEW"].json(proxy_key)
    new["client_cpu_ms_per_batch_bare_requests"] = {
        OURS: round(floor_cpu["concurrent"], 3),
        POWERTOOLS: round(floor_cpu["sequential"], 3),
    }
    new["client_cpu_ms_per_batch_own"] = _rounded(own_cpu_ms(figures["NEW"].cpu_ms, floor_cpu))
    return {
        "new": new,
        "replay": figures["REPLAY"].json(proxy_key),
        "kill_mid_batch": {
            impl: None
            if result is None
            else {
                "records_rerun": result.records_rerun,
                "records_in_flight": result.records_in_flight,
            }
            for impl, result in kills.items()
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--repeat", type=int, default=100, help="timed batches per phase (default 100)"
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="untimed batches first, new and replayed (default 5)"
    )
    parser.add_argument(
        "--delay-ms", type=float, default=5.0, help="run B: delay per request (default 5 ms)"
    )
    parser.add_argument(
        "--path-delay-ms",
        type=float,
        default=50.0,
        help="run C, critical path: delay per request (default 50 ms)",
    )
    parser.add_argument(
        "--path-repeat", type=int, default=20, help="run C: batches per phase (default 20)"
    )
    parser.add_argument(
        "--remaining-ms",
        type=int,
        default=3000,
        help="kill scenario: the invocation's remaining time, its lock's deadline (default 3000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="the JSON report (default benchmarks/out/idempotency.json)",
    )
    args = parser.parse_args(argv)
    if min(args.repeat, args.path_repeat) < 2:
        parser.error("--repeat and --path-repeat must be at least 2")
    dummy_aws_environment(
        AWS_LAMBDA_FUNCTION_NAME="idempotency-benchmark", POWERTOOLS_IDEMPOTENCY_DISABLED="false"
    )
    print(f"{machine()} at the start\n", flush=True)
    results: dict[str, RunResult] = {}
    with moto_server() as server:
        runs: list[tuple[str, str, float | None, int]] = [
            ("Run A", f"moto server at 127.0.0.1:{server.port} directly", None, args.repeat),
            (
                "Run B",
                f"the same server behind LatencyProxy, +{args.delay_ms:g} ms per request",
                args.delay_ms / 1000,
                args.repeat,
            ),
            (
                "Run C",
                f"the same server behind LatencyProxy, +{args.path_delay_ms:g} ms per request "
                "(critical path)",
                args.path_delay_ms / 1000,
                args.path_repeat,
            ),
        ]
        for name, endpoint, delay_seconds, repeat in runs:
            description = (
                f"{endpoint}; {repeat} batches of {BATCH_SIZE} records per phase after "
                f"{args.warmup} warm-up batches, implementations alternating per batch"
            )
            try:
                result = run(
                    name,
                    description,
                    server,
                    delay_seconds=delay_seconds,
                    repeat=repeat,
                    warmup=args.warmup,
                )
            except CorrectnessError as exc:
                print(f"\n!!!!! CORRECTNESS FAILURE in {name}: {exc}", file=sys.stderr)
                print("!!!!! No figure of this benchmark means anything.", file=sys.stderr)
                return 2
            results[name] = result
            print(run_table(result))
            print()
            print(operations_table(result))
            for note in result.notes:
                print(note)
            print(flush=True)
        kills = kill_scenarios(server, args.remaining_ms)
        # The two access patterns with bare boto3 calls, on the same server in the same run:
        # the part of each runtime's client CPU that is the requests themselves.
        _, floor_cpu = measure_floor(server.endpoint, args.repeat)
    if any(result is None for result in kills.values()):
        print("Kill mid-batch: not run (tests/integration/kill_worker.py is not there)\n")
    else:
        print(kill_table(kills, args.remaining_ms), end="\n\n")
    figures = {
        phase: Figures.of(phase, results["Run A"], results["Run B"], results["Run C"])
        for phase in ("NEW", "REPLAY")
    }
    print(
        plain_table(
            "Targets of issue 11 (printed, not asserted; round trips from run C, the rest from "
            "run A)",
            ["metric", OURS, POWERTOOLS, "target", "verdict"],
            target_rows(figures, kills, f"+{args.delay_ms:g} ms (run B)", floor_cpu),
        )
    )
    for phase, found in figures.items():
        for impl, counts in found.round_trip_counts.items():
            spread = ", ".join(f"{trips}: {n}" for trips, n in sorted(counts.items()))
            print(
                f"{phase} {impl}, run C: batches per critical path length (round trips: batches) "
                f"{spread}"
            )
    report = report_json(figures, kills, f"proxy_{args.delay_ms:g}ms", floor_cpu)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    print(f"{machine()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
