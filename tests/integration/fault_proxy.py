"""An HTTP proxy in front of the moto server that can inject AWS errors, for JSON-protocol APIs.

Clients pointed at ``FaultProxy.url`` reach moto through it. Each request is forwarded with
``http.client`` unless a rule matches it; a rule sees the ``X-Amz-Target`` header (for example
``DynamoDB_20120810.PutItem``) and the JSON body, and decides how the request fails:

- ``Mode.REJECT``: answer with the rule's AWS error; the service never sees the request.
- ``Mode.LOSE_RESPONSE``: forward the request, then answer with the error anyway, as when a
  write succeeds but its response is lost (a timeout, a dropped connection).
- ``Mode.UNPROCESSED``: ``BatchWriteItem`` only: forward just the first write request of each
  table and answer 200 with the others as ``UnprocessedItems``, as DynamoDB does when a
  partition is throttled.

``serialize=True`` passes requests to moto one at a time. Moto applies a conditional write as
read, check, write without a lock, so two concurrent conditional puts of one key can both
succeed there; DynamoDB applies every single-item write atomically (and SQS hands a message to
one receiver at a time). Concurrency tests serialize so they test the code, not the emulator.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "INTERNAL_SERVER_ERROR",
    "THROUGHPUT_EXCEEDED",
    "AwsError",
    "FaultProxy",
    "FaultRule",
    "Mode",
    "SeenRequest",
    "fault_proxy",
]

#: Headers that describe one hop, not the message: never forwarded in either direction.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",  # recomputed: a rule may change the body
    }
)


@dataclass(frozen=True)
class AwsError:
    """An AWS JSON-protocol error response."""

    status: int
    code: str
    message: str = "injected"
    namespace: str = "com.amazonaws.dynamodb.v20120810"

    def body(self) -> bytes:
        return json.dumps(
            {"__type": f"{self.namespace}#{self.code}", "message": self.message}
        ).encode()


#: DynamoDB's 500: botocore retries it (standard mode), then raises ClientError.
INTERNAL_SERVER_ERROR = AwsError(500, "InternalServerError")
#: DynamoDB's throttling error: retried with throttling backoff, then raised.
THROUGHPUT_EXCEEDED = AwsError(
    400,
    "ProvisionedThroughputExceededException",
    "The level of configured provisioned throughput for the table was exceeded (injected)",
)


class Mode(Enum):
    """How a matching request fails (see the module docstring)."""

    REJECT = "reject"
    LOSE_RESPONSE = "lose_response"
    UNPROCESSED = "unprocessed"


def _always(body: Mapping[str, Any]) -> bool:
    return True


@dataclass
class FaultRule:
    """Fails the requests with ``X-Amz-Target == target`` whose JSON body ``when`` accepts.

    :param times: how many requests to fail, then the rule is spent. Default: - every one.
    """

    target: str
    when: Callable[[Mapping[str, Any]], bool] = _always
    error: AwsError = INTERNAL_SERVER_ERROR
    mode: Mode = Mode.REJECT
    times: int | None = None
    injected: int = 0
    """How many requests this rule failed so far."""

    def _claim(self, target: str, body: Mapping[str, Any]) -> bool:
        if target != self.target or (self.times is not None and self.injected >= self.times):
            return False
        if not self.when(body):
            return False
        self.injected += 1
        return True


@dataclass(frozen=True)
class SeenRequest:
    """One request the proxy received: its target, JSON body and the rule that failed it."""

    target: str
    body: Mapping[str, Any]
    rule: FaultRule | None


@dataclass
class FaultProxy:
    """The proxy's state: its URL, rules and the log of requests (use ``fault_proxy()``)."""

    upstream: str
    serialize: bool = False
    url: str = ""
    rules: list[FaultRule] = field(default_factory=list)
    seen: list[SeenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _upstream_lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, rule: FaultRule) -> FaultRule:
        """Adds a rule (checked after the earlier ones); returns it, to read ``injected``."""
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Removes every rule: from now on every request is forwarded."""
        with self._lock:
            self.rules.clear()

    def requests(self, target: str) -> list[SeenRequest]:
        """The requests seen with this ``X-Amz-Target``, in arrival order."""
        with self._lock:
            return [request for request in self.seen if request.target == target]

    # --- used by the request handler ----------------------------------------------------------

    def _decide(self, target: str, body: Mapping[str, Any]) -> FaultRule | None:
        with self._lock:
            rule = next((r for r in self.rules if r._claim(target, body)), None)
            self.seen.append(SeenRequest(target, body, rule))
            return rule

    def _forward(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )
        try:
            if self.serialize:
                with self._upstream_lock:
                    return _exchange(connection, method, path, headers, body)
            return _exchange(connection, method, path, headers, body)
        finally:
            connection.close()


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[int, list[tuple[str, str]], bytes]:
    connection.request(method, path, body=body, headers=dict(headers))
    response = connection.getresponse()
    payload = response.read()
    kept = [
        (name, value) for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP
    ]
    return response.status, kept, payload


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections to the proxy
    disable_nagle_algorithm = True  # small writes must not wait for delayed ACKs (40 ms)
    proxy: FaultProxy  # set on the subclass made per proxy

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target") or ""
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        headers = {
            name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP
        }
        rule = self.proxy._decide(target, body)
        if rule is None:
            self._reply(*self.proxy._forward(self.command, self.path, headers, raw))
        elif rule.mode is Mode.UNPROCESSED:
            self._reply(*self._partial_batch_write(headers, body))
        else:
            if rule.mode is Mode.LOSE_RESPONSE:
                self.proxy._forward(self.command, self.path, headers, raw)
            self._reply_error(rule.error)

    def _partial_batch_write(
        self, headers: Mapping[str, str], body: Mapping[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        requests: Mapping[str, list[Any]] = body.get("RequestItems") or {}
        forwarded = {table: writes[:1] for table, writes in requests.items()}
        unprocessed = {table: writes[1:] for table, writes in requests.items() if writes[1:]}
        status, response_headers, payload = self.proxy._forward(
            self.command,
            self.path,
            headers,
            json.dumps({**body, "RequestItems": forwarded}).encode(),
        )
        if status != 200:
            return status, response_headers, payload
        answer = json.loads(payload)
        answer["UnprocessedItems"] = unprocessed
        # The body changed: drop its checksum, or botocore would reject the response.
        kept = [(name, value) for name, value in response_headers if name.lower() != "x-amz-crc32"]
        return status, kept, json.dumps(answer).encode()

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reply_error(self, error: AwsError) -> None:
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amzn-ErrorType", error.code),
        ]
        self._reply(error.status, headers, error.body())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would flood a failing test's captured output."""


@contextmanager
def fault_proxy(upstream: str, *, serialize: bool = False) -> Iterator[FaultProxy]:
    """A running proxy on 127.0.0.1 in front of ``upstream`` (the moto endpoint)."""
    proxy = FaultProxy(upstream, serialize=serialize)
    handler = type("FaultProxyHandler", (_Handler,), {"proxy": proxy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    proxy.url = f"http://{host!s}:{port}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-proxy", daemon=True
    )
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
