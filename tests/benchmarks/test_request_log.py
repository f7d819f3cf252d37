"""What the idempotency benchmark measures: the proxy's request log and capacity units."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.critical_path import critical_path
from benchmarks.idempotency_benchmark import Usage
from benchmarks.latency_proxy import LatencyProxy


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[LatencyProxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with LatencyProxy("127.0.0.1", server.server_address[1], delay_seconds=0.02) as started:
        yield started
    server.shutdown()
    server.server_close()


def _get(proxy: LatencyProxy) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{proxy.port}/", timeout=5) as response:
        assert response.read() == b"ok"


def test_the_log_chains_sequential_requests(proxy: LatencyProxy) -> None:
    for _ in range(3):
        _get(proxy)
    times = proxy.request_times()
    assert len(times) == 3
    assert all(end - start >= 0.02 for start, end in times)  # the delay is inside each
    assert critical_path(times) == 3


def test_the_log_does_not_chain_concurrent_requests(proxy: LatencyProxy) -> None:
    # Released together, and each held 0.3 s at the proxy: on a loaded machine the threads'
    # start times spread by far less than that, so the four requests overlap.
    proxy.delay_seconds = 0.3
    together = threading.Barrier(4)

    def get(_: int) -> None:
        together.wait(timeout=10)
        _get(proxy)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(get, range(4)))
    times = proxy.request_times()
    assert len(times) == 4
    assert critical_path(times) == 1


def _sent(operation: str, request: dict[str, object]) -> tuple[str, bytes]:
    return operation, json.dumps(request).encode()


def test_capacity_units_as_dynamodb_prices_small_items() -> None:
    usage = Usage.of(
        [
            _sent("PutItem", {"ConditionExpression": "attribute_not_exists(id)"}),
            _sent("UpdateItem", {}),
            _sent("DeleteItem", {}),
            _sent("BatchWriteItem", {"RequestItems": {"t": [{}, {}, {}]}}),
            _sent("TransactWriteItems", {"TransactItems": [{}, {}]}),
            _sent("GetItem", {"ConsistentRead": True}),
            _sent("GetItem", {}),
            _sent(
                "BatchGetItem", {"RequestItems": {"t": {"Keys": [{}, {}], "ConsistentRead": True}}}
            ),
            _sent("BatchGetItem", {"RequestItems": {"t": {"Keys": [{}, {}]}}}),
            _sent("TransactGetItems", {"TransactItems": [{}]}),
        ]
    )
    assert usage.write_units == 1 + 1 + 1 + 3 + 4
    assert usage.read_units == 1 + 0.5 + 2 + 1 + 2
    assert usage.requests.total() == 10
    assert usage.unpriced == frozenset()


def test_unknown_operations_are_flagged_not_priced() -> None:
    usage = Usage.of([_sent("Query", {}), _sent("DescribeTable", {})])
    assert (usage.write_units, usage.read_units) == (0, 0)
    assert usage.unpriced == {"Query"}
