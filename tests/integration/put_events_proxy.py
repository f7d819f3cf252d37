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

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.integration.forwarding_proxy import (
    ForwardingProxy,
    Request,
    Response,
    aws_json_error,
    aws_json_headers,
    running,
    without_checksum,
)

__all__ = ["CallError", "Plan", "PutEventsProxy", "SeenCall", "put_events_proxy"]

PUT_EVENTS = "AWSEvents.PutEvents"


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
class PutEventsProxy(ForwardingProxy):
    """The proxy's state (use ``put_events_proxy()``)."""

    plan: Plan
    calls: list[SeenCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, call: SeenCall) -> None:
        with self._lock:
            self.calls.append(call)

    def answer(self, request: Request) -> Response:
        if request.target != PUT_EVENTS:
            return self.forward(request)
        body = json.loads(request.body)
        entries: list[dict[str, Any]] = body.get("Entries") or []
        decision = self.plan(entries)
        if isinstance(decision, CallError):
            self._record(SeenCall(entries, [decision.code] * len(entries), decision))
            return aws_json_error(
                decision.status, decision.code, decision.message, json_version="1.1"
            )
        codes = list(decision)
        assert len(codes) == len(entries), "the plan must give one item per entry"
        forwarded = [entry for entry, code in zip(entries, codes, strict=True) if code is None]
        results: list[dict[str, Any]] = []
        response_headers = aws_json_headers("1.1")
        if forwarded:
            status, response_headers, payload = self.forward(
                request, json.dumps({**body, "Entries": forwarded}).encode()
            )
            if status != 200:
                self._record(SeenCall(entries, [f"HTTP {status}"] * len(entries)))
                return status, response_headers, payload
            results = json.loads(payload)["Entries"]
        upstream_results = iter(results)
        merged = [
            {"ErrorCode": code, "ErrorMessage": "injected"}
            if code is not None
            else next(upstream_results)
            for code in codes
        ]
        outcomes = [result.get("ErrorCode") or "ok" for result in merged]
        self._record(SeenCall(entries, outcomes))
        answer = {
            "FailedEntryCount": sum(1 for outcome in outcomes if outcome != "ok"),
            "Entries": merged,
        }
        return 200, without_checksum(response_headers), json.dumps(answer).encode()


@contextmanager
def put_events_proxy(upstream: str, plan: Plan) -> Iterator[PutEventsProxy]:
    """A running proxy on 127.0.0.1 in front of ``upstream`` (the moto endpoint)."""
    with running(PutEventsProxy(upstream, plan)) as proxy:
        yield proxy
