"""The base of the test proxies in front of the moto server: forward a request, or answer it.

``ForwardingProxy`` owns the plumbing both ``fault_proxy.py`` and ``put_events_proxy.py`` need:
an HTTP/1.1 server on 127.0.0.1, reading a request, forwarding it upstream with
``http.client`` (hop-by-hop headers dropped both ways, ``Content-Length`` recomputed) and
writing the answer. A subclass decides, in ``answer``, what each request gets: the upstream's
response (``forward``), a rewritten one, or an AWS error that never reaches the upstream.
``running(proxy)`` serves it for the length of a ``with`` block.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

__all__ = [
    "ForwardingProxy",
    "Request",
    "Response",
    "aws_json_error",
    "aws_json_headers",
    "running",
    "without_checksum",
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
        "content-length",  # recomputed: a proxy may change the body
    }
)

Response = tuple[int, list[tuple[str, str]], bytes]
"""Status, headers (hop-by-hop ones left out) and body of an answer."""


@dataclass(frozen=True)
class Request:
    """One request the proxy received, hop-by-hop headers left out."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def target(self) -> str:
        """The ``X-Amz-Target`` header of a JSON-protocol call (``""`` when absent)."""
        return next((v for n, v in self.headers.items() if n.lower() == "x-amz-target"), "")


def aws_json_headers(json_version: str) -> list[tuple[str, str]]:
    """The headers of an AWS JSON-protocol answer made by the proxy: its type, a request id."""
    return [
        ("Content-Type", f"application/x-amz-json-{json_version}"),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]


def aws_json_error(
    status: int, error_type: str, message: str, *, json_version: str, error_code: str = ""
) -> Response:
    """An AWS JSON-protocol error answer (``x-amzn-ErrorType`` only when ``error_code``)."""
    headers = aws_json_headers(json_version)
    if error_code:
        headers.append(("x-amzn-ErrorType", error_code))
    return status, headers, json.dumps({"__type": error_type, "message": message}).encode()


def without_checksum(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers without ``x-amz-crc32``: after a body changed, botocore would reject it."""
    return [(name, value) for name, value in headers if name.lower() != "x-amz-crc32"]


@dataclass
class ForwardingProxy:
    """A proxy in front of ``upstream`` that forwards every request; subclasses override
    ``answer``. ``serialize=True`` passes the requests upstream one at a time."""

    upstream: str
    url: str = field(default="", kw_only=True)
    """``http://127.0.0.1:<port>`` while ``running``."""
    serialize: bool = field(default=False, kw_only=True)
    _upstream_lock: threading.Lock = field(default_factory=threading.Lock, kw_only=True)

    def answer(self, request: Request) -> Response:
        """What the client gets for ``request``. Default: the upstream's response."""
        return self.forward(request)

    def forward(self, request: Request, body: bytes | None = None) -> Response:
        """Sends ``request`` upstream (with ``body`` instead of its own, if given)."""
        parts = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )
        try:
            if self.serialize:
                with self._upstream_lock:
                    return _exchange(connection, request, body)
            return _exchange(connection, request, body)
        finally:
            connection.close()


def _exchange(
    connection: http.client.HTTPConnection, request: Request, body: bytes | None
) -> Response:
    connection.request(
        request.method,
        request.path,
        body=request.body if body is None else body,
        headers=dict(request.headers),
    )
    response = connection.getresponse()
    payload = response.read()
    kept = [
        (name, value) for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP
    ]
    return response.status, kept, payload


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections to the proxy
    disable_nagle_algorithm = True  # small writes must not wait for delayed ACKs (40 ms)
    proxy: ForwardingProxy  # set on the subclass made per proxy

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {
            name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP
        }
        status, response_headers, payload = self.proxy.answer(
            Request(self.command, self.path, headers, raw)
        )
        self.send_response_only(status)
        for name, value in response_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would flood a failing test's captured output."""


P = TypeVar("P", bound=ForwardingProxy)


@contextmanager
def running(proxy: P) -> Iterator[P]:
    """Serves ``proxy`` on a free port of 127.0.0.1 (setting ``proxy.url``) until the block ends."""
    name = type(proxy).__name__
    handler = type(f"{name}Handler", (_Handler,), {"proxy": proxy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    proxy.url = f"http://{host!s}:{port}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
