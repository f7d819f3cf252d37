"""Publisher benchmark: EventBridge publishing throughput, the helper against a naive loop.

Three ways publish the same events (a small JSON detail each) to one custom bus:

* **naive** (the anchor): ``client.put_events(Entries=[entry])`` once per event, in a loop,
  checking each response's ``FailedEntryCount``: what a handler does without a helper;
* **helper, sequential**: ``EventPublisher(bus, client=..., max_concurrency=1).publish(events)``:
  10 entries per PutEvents call, one call at a time (the gain of batching alone);
* **helper**: ``EventPublisher(bus, client=...).publish(events)`` with its defaults: 10 entries
  per call, up to 8 calls in flight.

Each has its own EventBridge client, created once (as in Lambda): the naive loop's with
botocore's default configuration, the helper's configured as ``EventPublisher`` configures its
own (a pool of ``max_concurrency`` connections, botocore retries off, the publisher retries).
The bus has no rules: PutEvents latency does not depend on targets (EventBridge delivers
asynchronously), while moto would deliver to targets inside the call.

Per run: one untimed warm-up publish of each, then ``--repeat`` rounds (default 3) in which
each way publishes ``--events`` new events (default 1,000); the order rotates every round, so
machine noise favours none. Reported: events per second (median over rounds) and the ratio to
the naive loop, plus the raw figures: wall time per round and PutEvents requests per event
(counted from botocore's ``before-send``, so retried attempts would count). Every publish must
report every event published (``FailedEntryCount`` 0, no failed entry), else the run fails.

Two endpoints, one moto server (``ThreadedMotoServer`` in a child process, ``moto_server.py``,
so that its CPU does not share this process's GIL with the clients):

* run A: the server directly; its own CPU per request dominates;
* run B: the same server behind ``LatencyProxy`` (``latency_proxy.py``), one proxy per way,
  which delays each request by ``--delay-ms`` (default 5 ms), modelling the round trip to
  EventBridge in a region. Each proxy's count of delayed requests must equal the requests its
  client sent.

Nothing is asserted on timings; the ratios are printed.

Run: ``python benchmarks/publisher_benchmark.py [--repeat N] [--events N] [--delay-ms MS]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Run as a script, sys.path starts with benchmarks/; the checkout root makes the package-style
# imports below work as they do for mypy.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.moto_server import REGION, dummy_aws_environment, moto_server
from benchmarks.report import CorrectnessError, machine, plain_table

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

    from serverless_patterns.runtime.events.publisher import Event, EventPublisher

SOURCE = "bench.orders"
NAIVE = "naive loop"
SEQUENTIAL = "helper, sequential"
HELPER = "helper"
WAYS = (NAIVE, SEQUENTIAL, HELPER)
HELPER_CONCURRENCY = 8  # EventPublisher's default max_concurrency


@dataclass
class Way:
    """One way of publishing: its client (counting the requests it sends) and its proxy."""

    name: str
    client: EventBridgeClient
    publish: Callable[[list[Event]], None]
    proxy: LatencyProxy | None = None
    requests: int = 0
    seconds: list[float] = field(default_factory=list)
    events: int = 0
    delayed_before: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, **kwargs: Any) -> None:
        with self._lock:
            self.requests += 1

    @property
    def events_per_second(self) -> float:
        return self.events / len(self.seconds) / statistics.median(self.seconds)


def events_client(endpoint: str, *, helper: bool) -> EventBridgeClient:
    import boto3
    from botocore.config import Config

    config = (
        Config(max_pool_connections=HELPER_CONCURRENCY, retries={"total_max_attempts": 1})
        if helper
        else Config()
    )
    client: EventBridgeClient = boto3.client(
        "events", endpoint_url=endpoint, region_name=REGION, config=config
    )
    return client


def naive_loop(client: EventBridgeClient, bus: str) -> Callable[[list[Event]], None]:
    """One PutEvents call per event, in sequence."""

    def publish(events: list[Event]) -> None:
        for event in events:
            response = client.put_events(Entries=[event.to_entry(bus)])
            if response["FailedEntryCount"]:
                raise CorrectnessError(f"naive loop: {response['Entries']}")

    return publish


def helper(publisher: EventPublisher) -> Callable[[list[Event]], None]:
    """``publisher.publish``, checking that every event was published."""

    def publish(events: list[Event]) -> None:
        result = publisher.publish(events)
        if not result.ok or None in result.event_ids:
            raise CorrectnessError(f"{len(result.failed)} events not published")

    return publish


def make_ways(direct: str, proxies: dict[str, LatencyProxy], bus: str) -> list[Way]:
    """The three ways, each through its own proxy when ``proxies`` has one for it."""
    from serverless_patterns.runtime.events.publisher import EventPublisher

    ways = []
    for name in WAYS:
        proxy = proxies.get(name)
        endpoint = direct if proxy is None else f"http://127.0.0.1:{proxy.port}"
        client = events_client(endpoint, helper=name != NAIVE)

        publish = (
            naive_loop(client, bus)
            if name == NAIVE
            else helper(
                EventPublisher(
                    bus,
                    client=client,
                    max_concurrency=1 if name == SEQUENTIAL else HELPER_CONCURRENCY,
                )
            )
        )
        way = Way(name, client, publish, proxy)
        client.meta.events.register("before-send.events.PutEvents", way.count)
        ways.append(way)
    return ways


def new_events(count: int) -> list[Event]:
    from serverless_patterns.runtime.events.publisher import Event

    return [
        Event(SOURCE, "OrderPlaced", {"order_id": str(uuid.uuid4()), "amount_cents": 1000 + n})
        for n in range(count)
    ]


def run(ways: list[Way], *, events: int, repeat: int) -> None:
    for way in ways:  # warm-up: connections, the helper's thread pool
        way.publish(new_events(20))
        way.requests = 0
        way.delayed_before = way.proxy.requests_delayed if way.proxy is not None else 0
    for round_number in range(repeat):
        order = ways[round_number % len(ways) :] + ways[: round_number % len(ways)]
        for way in order:
            batch = new_events(events)
            start = time.perf_counter()
            way.publish(batch)
            way.seconds.append(time.perf_counter() - start)
            way.events += events
    for way in ways:
        if way.proxy is None:
            continue
        delayed = way.proxy.requests_delayed - way.delayed_before
        if delayed != way.requests:
            raise CorrectnessError(
                f"{way.name}: the proxy delayed {delayed} requests, the client sent {way.requests}"
            )


def report(run_name: str, title: str, ways: list[Way]) -> tuple[str, list[list[str]]]:
    naive = next(way for way in ways if way.name == NAIVE)
    rows = []
    summary = []
    for way in ways:
        ratio = way.events_per_second / naive.events_per_second
        per_round = ", ".join(f"{seconds:.2f}" for seconds in way.seconds)
        rows.append(
            [
                way.name,
                f"{way.events_per_second:,.0f}",
                f"{ratio:.2f}x",
                per_round,
                f"{way.requests / way.events:.2f}",
            ]
        )
        if way is not naive:
            summary.append([run_name, way.name, f"{ratio:.2f}x"])
    header = ["way", "events/s (median)", "vs naive", "seconds per round", "PutEvents/event"]
    return plain_table(title, header, rows), summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per way (default 3)")
    parser.add_argument(
        "--events", type=int, default=1000, help="events per way per round (default 1000)"
    )
    parser.add_argument(
        "--delay-ms", type=float, default=5.0, help="run B: delay per request (default 5 ms)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.events < 1:
        parser.error("--repeat and --events must be at least 1")
    dummy_aws_environment(unset=["EVENT_BUS_NAME"])
    summary: list[list[str]] = []
    print(f"Publisher benchmark ({machine()})\n", flush=True)
    with moto_server() as server:
        direct = server.endpoint
        bus = events_client(direct, helper=False).create_event_bus(Name="bench-bus")["EventBusArn"]
        runs = [
            ("Run A", f"moto server at 127.0.0.1:{server.port} directly", None),
            (
                "Run B",
                f"the same moto server behind LatencyProxy, +{args.delay_ms:g} ms per request",
                args.delay_ms / 1000,
            ),
        ]
        for name, description, delay in runs:
            with ExitStack() as stack:
                proxies: dict[str, LatencyProxy] = {}
                if delay is not None:
                    for way_name in WAYS:
                        proxy = LatencyProxy("127.0.0.1", server.port, delay_seconds=delay).start()
                        stack.callback(proxy.stop)
                        proxies[way_name] = proxy
                ways = make_ways(direct, proxies, bus)
                try:
                    run(ways, events=args.events, repeat=args.repeat)
                except CorrectnessError as exc:
                    print(f"\n!!!!! CORRECTNESS FAILURE in {name}: {exc}", file=sys.stderr)
                    print("!!!!! The timings of this benchmark are meaningless.", file=sys.stderr)
                    return 2
            table, rows = report(
                name,
                f"{name}: {description}; {args.repeat} rounds of {args.events} events per way",
                ways,
            )
            summary += rows
            print(table, end="\n\n", flush=True)
    print(
        plain_table(
            "Throughput of the helper / naive loop", ["run", "way", "ratio"], summary, text=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
