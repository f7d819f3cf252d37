"""A TCP proxy on 127.0.0.1 that delays each HTTP request, to model a network round trip.

``LatencyProxy(upstream_host, upstream_port, delay_seconds=0.005)`` listens on a free port of
127.0.0.1 (``.port``) and forwards every accepted connection to the upstream server over its own
upstream connection, with two pump threads per connection. On the client-to-upstream
direction it sleeps ``delay_seconds`` before forwarding the first chunk of each new request: a
chunk that arrives after upstream data has flowed back starts a new request (a per-connection
flag, set when the response begins and cleared when the delay is paid). So each HTTP
request/response pair costs one delay, even when headers and body arrive in separate chunks,
and keep-alive connections carry many requests. Concurrent connections are delayed in
parallel, as independent round trips are. Both sockets have TCP_NODELAY. ``delay_seconds``
may be changed while the proxy runs; it applies to the next request.

``request_times()`` is the log of every request answered so far: its start (its first chunk
reaching the proxy, before the delay) and its end (the last response chunk reaching the proxy
so far, before it is forwarded: a client that has its response always finds the request
logged as ended), on the ``time.monotonic()`` clock, in the order the requests started.

Only for benchmarks and tests: no TLS, no pipelining awareness (HTTP clients such as urllib3
send the next request on a connection only after reading the previous response).

::

    with LatencyProxy("127.0.0.1", server_port, delay_seconds=0.005) as proxy:
        client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{proxy.port}")
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

__all__ = ["LatencyProxy"]

_CHUNK_BYTES = 65536
_ACCEPT_POLL_SECONDS = 0.2


class _Connection:
    """One proxied client connection, its upstream connection and the new-request flag."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        #: True until the next request's first chunk has been delayed; set again when the
        #: response to it starts flowing back.
        self.awaiting_request = True
        #: [start, end] of the request in progress on this connection (end: None until its
        #: response starts), shared with the proxy's log.
        self.current: list[float | None] | None = None
        self._closed = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class LatencyProxy:
    """Forwards 127.0.0.1:``port`` to the upstream, delaying each request by ``delay_seconds``."""

    def __init__(
        self, upstream_host: str, upstream_port: int, *, delay_seconds: float = 0.005
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay_seconds = delay_seconds
        #: How many requests were delayed so far.
        self.requests_delayed = 0
        #: How many client connections were accepted so far.
        self.connections_accepted = 0
        self._count_lock = threading.Lock()
        self._log: list[list[float | None]] = []
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[_Connection] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port the proxy listens on (127.0.0.1)."""
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._listener.getsockname()[1]
        return port

    def request_times(self) -> list[tuple[float, float]]:
        """(start, end) of every request answered so far, ``time.monotonic()``, by start."""
        with self._count_lock:
            log = [list(entry) for entry in self._log]
        return [(start, end) for start, end in log if start is not None and end is not None]

    def start(self) -> LatencyProxy:
        if self._listener is not None:
            raise RuntimeError("the proxy is already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.settimeout(_ACCEPT_POLL_SECONDS)
        self._listener = listener
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="latency-proxy-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stops accepting and closes every proxied connection."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join()
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- internals --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._count_lock:
                self.connections_accepted += 1
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(client, upstream)
            with self._connections_lock:
                self._connections.add(connection)
            for target, name in ((self._pump_requests, "up"), (self._pump_responses, "down")):
                threading.Thread(
                    target=target, args=(connection,), name=f"latency-proxy-{name}", daemon=True
                ).start()

    def _pump_requests(self, connection: _Connection) -> None:
        """Client to upstream: the first chunk of each new request waits ``delay_seconds``."""
        try:
            while True:
                data = connection.client.recv(_CHUNK_BYTES)
                if not data:
                    break
                if connection.awaiting_request:
                    connection.awaiting_request = False
                    connection.current = [time.monotonic(), None]
                    with self._count_lock:
                        self.requests_delayed += 1
                        self._log.append(connection.current)
                    if self.delay_seconds > 0:
                        time.sleep(self.delay_seconds)
                connection.upstream.sendall(data)
        except OSError:
            pass
        finally:
            self._forget(connection)

    def _pump_responses(self, connection: _Connection) -> None:
        """Upstream to client: the response starting marks the end of the request."""
        try:
            while True:
                data = connection.upstream.recv(_CHUNK_BYTES)
                if not data:
                    break
                connection.awaiting_request = True
                # Taken before forwarding, the request and its end time: once the client has
                # the whole response it may read the log or start the next request (which
                # replaces connection.current and must start after this one ended).
                answered = connection.current
                if answered is not None:
                    answered[1] = time.monotonic()
                connection.client.sendall(data)
        except OSError:
            pass
        finally:
            self._forget(connection)

    def _forget(self, connection: _Connection) -> None:
        connection.close()
        with self._connections_lock:
            self._connections.discard(connection)
