"""A local webhook endpoint for sender tests: an HTTP server on 127.0.0.1 with scripted answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    """One scripted response: status, headers, and how long to wait before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request the endpoint received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookEndpoint:
    """Answers POSTs with the scripted answers in order, then with ``default``."""

    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *answers: Answer) -> None:
        """Queue these answers for the next requests."""
        with self._lock:
            self.answers.extend(answers)

    def _next(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            return self.answers.pop(0) if self.answers else self.default


@contextmanager
def webhook_endpoint(path: str = "/hooks") -> Iterator[WebhookEndpoint]:
    """A running endpoint on a free port of 127.0.0.1; ``endpoint.url`` ends with ``path``."""
    endpoint = WebhookEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = endpoint._next(Received(self.path, headers, body))
            if answer.delay_seconds:
                time.sleep(answer.delay_seconds)
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the client gave up (timeout)
                pass

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
