"""Idempotency benchmark: our batched SQS idempotency against Powertools, on the same records.

Two implementations process the same Lambda SQS events of 10 records each:

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
which one goes first alternates too, so machine noise favours neither. Reported: median and
p90 wall time per batch, and from every HTTP request the client sends (botocore's
``before-send`` event, so retried attempts count too) the requests per record by operation and
the capacity units per record they consume: PutItem, UpdateItem and DeleteItem 1 write unit
(items stay under 1 KB; a failed condition still consumes it), BatchWriteItem 1 per item it
carries, GetItem a read unit (strongly consistent, item under 4 KB).

Before timings count, correctness is checked: after NEW each table holds exactly one
COMPLETED record per payment id and each work function ran once per record; in REPLAY neither
work function runs at all. A failure there is printed loudly and exits non-zero.

Two endpoints, one moto server (``ThreadedMotoServer`` in a child process, ``moto_server.py``,
so that its CPU does not share this process's GIL with the clients it serves, as DynamoDB does
not):

* run A: the server directly. Its own CPU per request (about 3 ms here, one request at a time
  under its GIL; werkzeug also closes every connection, so each request is a new TCP
  connection and a new server thread) dominates, so concurrency gains little;
* run B: the same server behind ``LatencyProxy`` (``latency_proxy.py``), one proxy per
  implementation, which delays each request by ``--delay-ms`` (default 5 ms), modelling the
  round trip to DynamoDB in a region. Each proxy's count of delayed requests must equal the
  requests its client sent, or the run fails.

The "moto server CPU" rows sum the server process's CPU time (``/proc``, 10 ms clock ticks,
read around every call) per implementation: the floor under a batch's wall time, whatever
the client overlaps.

The targets are printed next to the measured ratios (PASS / BELOW TARGET); none is asserted.

Run: ``python benchmarks/idempotency_benchmark.py [--repeat N] [--warmup N] [--delay-ms MS]``.
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

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.moto_server import REGION, MotoServer, dummy_aws_environment, moto_server
from benchmarks.report import CorrectnessError, machine, plain_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_SIZE = 10
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bench"
OURS = "ours"
POWERTOOLS = "powertools"

#: Write units per request of the single-item writes (items under 1 KB).
_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


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
    """Requests by operation, and the capacity units they consume."""

    requests: Counter[str]
    write_units: int
    read_units: int

    @classmethod
    def of(cls, sent: Sequence[tuple[str, bytes]]) -> Usage:
        requests: Counter[str] = Counter()
        write_units = read_units = 0
        for operation, body in sent:
            requests[operation] += 1
            if operation in _SINGLE_WRITES:
                write_units += 1
            elif operation == "BatchWriteItem":
                items = json.loads(body or b"{}").get("RequestItems", {})
                write_units += sum(len(table) for table in items.values())
            elif operation == "GetItem":  # strongly consistent, as Powertools reads
                read_units += 1
            elif operation == "BatchGetItem":
                items = json.loads(body or b"{}").get("RequestItems", {})
                read_units += sum(len(table["Keys"]) for table in items.values())
        return cls(requests, write_units, read_units)


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
    """Per-batch wall times, requests and server CPU of one implementation in one phase."""

    seconds: list[float]
    usage: Usage
    records: int
    server_cpu_seconds: float | None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p90_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[-1] * 1000

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
    phases: dict[tuple[str, str], Phase]  # (phase, implementation)
    notes: list[str]


@dataclass
class Timings:
    seconds: dict[str, list[float]]
    server_cpu: dict[str, float | None]


def _run_batches(
    implementations: Sequence[Implementation],
    events: Sequence[Mapping[str, Any]],
    phase: str,
    server: MotoServer,
) -> Timings:
    """Every event through every implementation, alternating who goes first per batch.

    The server's CPU time is read around each call and summed per implementation.
    """
    timings = Timings(
        {impl.name: [] for impl in implementations}, {impl.name: 0.0 for impl in implementations}
    )
    for index, event in enumerate(events):
        order = implementations if index % 2 == 0 else list(reversed(implementations))
        for impl in order:
            context = FakeLambdaContext()
            cpu_before = server.cpu_seconds()
            start = time.perf_counter()
            response = impl.handler(event, context)
            timings.seconds[impl.name].append(time.perf_counter() - start)
            cpu_after = server.cpu_seconds()
            total = timings.server_cpu[impl.name]
            timings.server_cpu[impl.name] = (
                None
                if total is None or cpu_before is None or cpu_after is None
                else total + cpu_after - cpu_before
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
    LatencyProxy, so the proxy's count of delayed requests can be checked against the
    requests its client sent.
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
                phases[phase, impl.name] = Phase(
                    timings.seconds[impl.name],
                    Usage.of(impl.log.take()),
                    expected.records,
                    timings.server_cpu[impl.name],
                )

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
    return RunResult(name, description, phases, notes)


# --- report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A goal from the issue: ``powertools / ours`` at least ``ratio``, or ours at most."""

    text: str
    ratio: float | None  # None: ours must not exceed powertools

    def verdict(self, ours_value: float, powertools_value: float) -> str:
        if self.ratio is None:
            met = ours_value <= powertools_value + 1e-9
        else:
            met = ours_value > 0 and powertools_value / ours_value >= self.ratio
        return "PASS" if met else "BELOW TARGET"


def _ratio(ours_value: float | None, powertools_value: float | None) -> str:
    if ours_value is None or powertools_value is None:
        return ""
    if ours_value == 0:
        return "-" if powertools_value == 0 else "inf"
    return f"{powertools_value / ours_value:.2f}x"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def run_table(result: RunResult, speed_target: float) -> tuple[str, list[list[str]]]:
    """The run's table, and its rows of the targets summary."""
    speed = Target(f">= {speed_target:g}x", speed_target)
    no_more = Target("ours <= powertools", None)
    rows: list[list[str]] = []
    summary: list[list[str]] = []
    for phase in ("NEW", "REPLAY"):
        mine, anchor = result.phases[phase, OURS], result.phases[phase, POWERTOOLS]
        metrics: list[tuple[str, float | None, float | None, Target | None]] = [
            ("median ms / batch", mine.median_ms, anchor.median_ms, speed),
            ("p90 ms / batch", mine.p90_ms, anchor.p90_ms, None),
            ("moto server CPU ms / batch", mine.server_cpu_ms, anchor.server_cpu_ms, None),
            (
                "requests / record",
                mine.per_record(mine.usage.requests.total()),
                anchor.per_record(anchor.usage.requests.total()),
                no_more,
            ),
            (
                "write units / record",
                mine.per_record(mine.usage.write_units),
                anchor.per_record(anchor.usage.write_units),
                no_more,
            ),
            (
                "read units / record",
                mine.per_record(mine.usage.read_units),
                anchor.per_record(anchor.usage.read_units),
                None,
            ),
        ]
        for metric, ours_value, powertools_value, target in metrics:
            verdict = ""
            if target is not None and ours_value is not None and powertools_value is not None:
                verdict = target.verdict(ours_value, powertools_value)
                summary.append(
                    [
                        result.name,
                        f"{phase} {metric}",
                        f"{_number(ours_value)} vs {_number(powertools_value)}",
                        _ratio(ours_value, powertools_value),
                        target.text,
                        verdict,
                    ]
                )
            rows.append(
                [
                    phase,
                    metric,
                    _number(ours_value),
                    _number(powertools_value),
                    _ratio(ours_value, powertools_value),
                    target.text if target else "",
                    verdict,
                ]
            )
    table = plain_table(
        f"{result.name}: {result.description}",
        ["phase", "metric", OURS, POWERTOOLS, "powertools/ours", "target", "verdict"],
        rows,
        text=2,
    )
    return table, summary


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
    args = parser.parse_args(argv)
    if args.repeat < 2:
        parser.error("--repeat must be at least 2")
    dummy_aws_environment(
        AWS_LAMBDA_FUNCTION_NAME="idempotency-benchmark", POWERTOOLS_IDEMPOTENCY_DISABLED="false"
    )
    print(f"{machine()} at the start\n", flush=True)
    summary: list[list[str]] = []
    with moto_server() as server:
        runs: list[tuple[str, str, float | None, float]] = [
            ("Run A", f"moto server at 127.0.0.1:{server.port} directly", None, 2.5),
            (
                "Run B",
                f"the same server behind LatencyProxy, +{args.delay_ms:g} ms per request",
                args.delay_ms / 1000,
                5.0,
            ),
        ]
        for name, endpoint, delay_seconds, speed_target in runs:
            description = (
                f"{endpoint}; {args.repeat} batches of {BATCH_SIZE} records per phase after "
                f"{args.warmup} warm-up batches, implementations alternating per batch"
            )
            try:
                result = run(
                    name,
                    description,
                    server,
                    delay_seconds=delay_seconds,
                    repeat=args.repeat,
                    warmup=args.warmup,
                )
            except CorrectnessError as exc:
                print(f"\n!!!!! CORRECTNESS FAILURE in {name}: {exc}", file=sys.stderr)
                print("!!!!! No timing of this benchmark means anything.", file=sys.stderr)
                return 2
            table, rows = run_table(result, speed_target)
            summary += rows
            print(table)
            print()
            print(operations_table(result))
            for note in result.notes:
                print(note)
            print(flush=True)
    print(
        plain_table(
            "Targets (from the issue; printed, not asserted)",
            ["run", "metric", "ours vs powertools", "powertools/ours", "target", "verdict"],
            summary,
            text=2,
        )
    )
    print(f"\n{machine()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
