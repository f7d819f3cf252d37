"""Idempotency access-pattern floor: the two DynamoDB access patterns with bare boto3 calls.

The idempotency benchmark compares two runtimes. This one measures what their access
patterns alone cost on the same kind of server, with no runtime code around them, so the
runtime's own overhead can be read off the difference:

* **concurrent** (ours): for a batch of 10 new keys, 10 conditional ``PutItem`` locks in flight
  at once (a thread pool of 10, one client), each carrying the attempt's owner token, then the
  10 completions in flight at once, each a ``PutItem`` conditioned on the lock still being
  IN_PROGRESS under that owner (a completion never overwrites another attempt's record): two
  round trips;
* **sequential** (Powertools): per key, one conditional ``PutItem`` then one ``UpdateItem``,
  one after the other: 20 round trips.

Both use the lock condition and item shapes of the runtimes, a client with
``Config(max_pool_connections=10, retries={"mode": "standard"})``, and fresh keys per batch.
Run A talks to the moto server directly, run B through ``LatencyProxy`` (+5 ms per request),
as in ``idempotency_benchmark.py``. Run A also reports the client's CPU per batch
(``time.process_time``): what the 20 requests themselves cost the client, the floor under the
idempotency benchmark's client CPU figures. The moto server handles one request at a time under its
GIL, so its CPU per request bounds how much the concurrent side can gain here.

Run: ``python benchmarks/idempotency_floor.py [--repeat N] [--delay-ms MS]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Run as a script, sys.path starts with benchmarks/; the checkout root makes the package-style
# imports below work.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.moto_server import REGION, dummy_aws_environment, moto_server
from benchmarks.report import machine, plain_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH = 10
#: The runtime's lock condition (``runtime/idempotency/store.py``), written out.
CONDITION = (
    "attribute_not_exists(#id) "
    "OR (#status = :in_progress AND #in_progress_expiry < :now_ms) "
    "OR (#expiry < :now AND NOT (#status = :in_progress AND attribute_exists(#in_progress_expiry)))"
)
NAMES = {
    "#id": "id",
    "#expiry": "expiration",
    "#status": "status",
    "#in_progress_expiry": "in_progress_expiration",
}
OWNED = "#status = :in_progress AND #owner = :owner"


def client(endpoint: str) -> DynamoDBClient:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=BATCH, retries={"mode": "standard"})
    dynamodb: DynamoDBClient = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=REGION, config=config
    )
    return dynamodb


def patterns(dynamodb: DynamoDBClient) -> dict[str, Callable[[list[str]], None]]:
    """The two access patterns, each processing one batch of new keys."""
    table = f"floor-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    now = int(time.time())
    values: Any = {
        ":now": {"N": str(now)},
        ":now_ms": {"N": str(now * 1000)},
        ":in_progress": {"S": "INPROGRESS"},
    }
    pool = ThreadPoolExecutor(max_workers=BATCH)

    owner = uuid.uuid4().hex

    def lock(key: str) -> None:
        dynamodb.put_item(
            TableName=table,
            Item={
                "id": {"S": key},
                "status": {"S": "INPROGRESS"},
                "expiration": {"N": str(now + 3600)},
                "in_progress_expiration": {"N": str(now * 1000 + 30_000)},
                "owner": {"S": owner},
            },
            ConditionExpression=CONDITION,
            ExpressionAttributeNames=NAMES,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def complete(key: str) -> None:
        dynamodb.put_item(
            TableName=table,
            Item={
                "id": {"S": key},
                "status": {"S": "COMPLETED"},
                "expiration": {"N": str(now + 3600)},
                "owner": {"S": owner},
                "data": {"S": "{}"},
            },
            ConditionExpression=OWNED,
            ExpressionAttributeNames={"#status": "status", "#owner": "owner"},
            ExpressionAttributeValues={
                ":in_progress": {"S": "INPROGRESS"},
                ":owner": {"S": owner},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def concurrent(keys: list[str]) -> None:
        list(pool.map(lock, keys))
        list(pool.map(complete, keys))

    def sequential(keys: list[str]) -> None:
        for key in keys:
            lock(key)
            dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": key}},
                UpdateExpression="SET #status = :completed, #data = :data",
                ExpressionAttributeNames={"#status": "status", "#data": "data"},
                ExpressionAttributeValues={":completed": {"S": "COMPLETED"}, ":data": {"S": "{}"}},
            )

    return {"concurrent": concurrent, "sequential": sequential}


def measure(endpoint: str, repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall ms and client CPU ms per batch of each pattern, alternating batch by batch
    after a warm-up."""
    timed: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    cpu: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    runs = patterns(client(endpoint))
    for index in range(repeat + 3):
        order = list(runs) if index % 2 == 0 else list(reversed(runs))
        for name in order:
            keys = [uuid.uuid4().hex for _ in range(BATCH)]
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[name](keys)
            if index >= 3:
                timed[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((time.process_time() - start_cpu) * 1000)
    return _medians(timed), _medians(cpu)


def _medians(values: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(samples) for name, samples in values.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=60, help="timed batches (default 60)")
    parser.add_argument(
        "--delay-ms", type=float, default=5.0, help="run B: delay per request (default 5 ms)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    dummy_aws_environment()
    rows: list[list[str]] = []
    with moto_server() as server:
        direct, direct_cpu = measure(server.endpoint, args.repeat)
        rows.append(["A: moto directly", *_cells(direct)])
        rows.append(["A: client CPU", *_cells(direct_cpu)])
        proxy = LatencyProxy("127.0.0.1", server.port, delay_seconds=args.delay_ms / 1000)
        proxy.start()
        try:
            delayed, _ = measure(f"http://127.0.0.1:{proxy.port}", args.repeat)
        finally:
            proxy.stop()
        rows.append([f"B: +{args.delay_ms:g} ms per request", *_cells(delayed)])
    print(
        plain_table(
            f"Access-pattern floor, batches of {BATCH} new keys, median of {args.repeat} "
            f"({machine()})",
            ["run", "concurrent ms", "sequential ms", "sequential/concurrent"],
            rows,
        )
    )
    return 0


def _cells(medians: dict[str, float]) -> list[str]:
    concurrent, sequential = medians["concurrent"], medians["sequential"]
    return [f"{concurrent:.2f}", f"{sequential:.2f}", f"{sequential / concurrent:.2f}x"]


if __name__ == "__main__":
    raise SystemExit(main())
