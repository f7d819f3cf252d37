"""An HTTP proxy in front of the moto server that makes EventBridge PutEvents calls fail.

Clients pointed at ``PutEventsProxy.url`` reach moto through it. Every request other than
``AWSEvents.PutEvents`` is forwarded untouched. For each PutEvents request a plan, given the
request's entries, decides what happens:

- ``CallError(status, code)``: the whole call fails with that AWS error and moto never sees it
  (a throttled call, a 5xx);
- a list with one item per entry: ``None`` forwards the entry, an error code fails it. The
  failing entries are taken out of the request before it is forwarded, so moto (like
  EventBridge) never publishes them, and the answer is moto's, with the injected
  ``{"ErrorCode", "ErrorMessage"}`` results put back at their positions and
  ``FailedEntryCount`` counting them: a partial failure exactly as PutEvents reports one.

``calls`` records every PutEvents request in arrival order with the entries it carried and what
the client was told about each. (``fault_proxy.py`` injects whole-request errors for any JSON
API; it cannot rewrite a response entry by entry, which PutEvents partial failures need.)
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CallError", "Plan", "PutEventsProxy", "SeenCall", "put_events_proxy"]

PUT_EVENTS = "AWSEvents.PutEvents"
#: Headers about one hop, never forwarded; Content-Length is recomputed.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer"}
    | {"upgrade", "content-length"}
)


@dataclass(frozen=True)
class CallError:
    """An AWS JSON-protocol error answering a whole PutEvents call."""

    status: int
    code: str
    message: str = "injected"


Plan = Callable[[list[dict[str, Any]]], CallError | Sequence[str | None]]
"""Given the entries of one PutEvents request: fail the call, or an error code (or None to
forward it) per entry."""


@dataclass(frozen=True)
class SeenCall:
    """One PutEvents request: its entries and, per entry, what the client was told: the
    injected or moto's ``ErrorCode``, ``"ok"`` for a published entry, or the call's error code
    for every entry when the whole call failed."""

    entries: list[dict[str, Any]]
    outcomes: list[str]
    call_error: CallError | None = None


@dataclass
class PutEventsProxy:
    """The proxy's state (use ``put_events_proxy()``)."""

    upstream: str
    plan: Plan
    url: str = ""
    calls: list[SeenCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, call: SeenCall) -> None:
        with self._lock:
            self.calls.append(call)

    def forward(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            payload = response.read()
            kept = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() not in _HOP_BY_HOP
            ]
            return response.status, kept, payload
        finally:
            connection.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    proxy: PutEventsProxy  # set on the subclass made per proxy

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {
            name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP
        }
        if self.headers.get("X-Amz-Target") != PUT_EVENTS:
            self._reply(*self.proxy.forward(self.command, self.path, headers, raw))
            return
        body = json.loads(raw)
        entries: list[dict[str, Any]] = body.get("Entries") or []
        decision = self.proxy.plan(entries)
        if isinstance(decision, CallError):
            self.proxy._record(SeenCall(entries, [decision.code] * len(entries), decision))
            error = json.dumps({"__type": decision.code, "message": decision.message})
            self._reply(
                decision.status,
                [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("x-amzn-RequestId", str(uuid.uuid4())),
                ],
                error.encode(),
            )
            return
        codes = list(decision)
        assert len(codes) == len(entries), "the plan must give one item per entry"
        forwarded = [entry for entry, code in zip(entries, codes, strict=True) if code is None]
        results: list[dict[str, Any]] = []
        response_headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
        if forwarded:
            status, response_headers, payload = self.proxy.forward(
                self.command,
                self.path,
                headers,
                json.dumps({**body, "Entries": forwarded}).encode(),
            )
            if status != 200:
                self.proxy._record(SeenCall(entries, [f"HTTP {status}"] * len(entries)))
                self._reply(status, response_headers, payload)
                return
            results = json.loads(payload)["Entries"]
        upstream_results = iter(results)
        merged = [
            {"ErrorCode": code, "ErrorMessage": "injected"}
            if code is not None
            else next(upstream_results)
            for code in codes
        ]
        outcomes = [result.get("ErrorCode") or "ok" for result in merged]
        self.proxy._record(SeenCall(entries, outcomes))
        answer = {
            "FailedEntryCount": sum(1 for outcome in outcomes if outcome != "ok"),
            "Entries": merged,
        }
        kept = [(n, v) for n, v in response_headers if n.lower() != "x-amz-crc32"]
        self._reply(200, kept, json.dumps(answer).encode())

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would flood a failing test's captured output."""


@contextmanager
def put_events_proxy(upstream: str, plan: Plan) -> Iterator[PutEventsProxy]:
    """A running proxy on 127.0.0.1 in front of ``upstream`` (the moto endpoint)."""
    proxy = PutEventsProxy(upstream, plan)
    handler = type("PutEventsProxyHandler", (_Handler,), {"proxy": proxy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    proxy.url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, name="put-events-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
