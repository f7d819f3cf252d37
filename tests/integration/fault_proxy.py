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

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tests.integration.forwarding_proxy import (
    ForwardingProxy,
    Request,
    Response,
    aws_json_error,
    running,
    without_checksum,
)

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


@dataclass(frozen=True)
class AwsError:
    """An AWS JSON-protocol error response."""

    status: int
    code: str
    message: str = "injected"
    namespace: str = "com.amazonaws.dynamodb.v20120810"

    def response(self) -> Response:
        return aws_json_error(
            self.status,
            f"{self.namespace}#{self.code}",
            self.message,
            json_version="1.0",
            error_code=self.code,
        )


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
class FaultProxy(ForwardingProxy):
    """The proxy's state: its URL, rules and the log of requests (use ``fault_proxy()``)."""

    rules: list[FaultRule] = field(default_factory=list)
    seen: list[SeenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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

    def answer(self, request: Request) -> Response:
        try:
            body: Any = json.loads(request.body) if request.body else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        rule = self._decide(request.target, body)
        if rule is None:
            return self.forward(request)
        if rule.mode is Mode.UNPROCESSED:
            return self._partial_batch_write(request, body)
        if rule.mode is Mode.LOSE_RESPONSE:
            self.forward(request)
        return rule.error.response()

    def _decide(self, target: str, body: Mapping[str, Any]) -> FaultRule | None:
        with self._lock:
            rule = next((r for r in self.rules if r._claim(target, body)), None)
            self.seen.append(SeenRequest(target, body, rule))
            return rule

    def _partial_batch_write(self, request: Request, body: Mapping[str, Any]) -> Response:
        requests: Mapping[str, list[Any]] = body.get("RequestItems") or {}
        forwarded = {table: writes[:1] for table, writes in requests.items()}
        unprocessed = {table: writes[1:] for table, writes in requests.items() if writes[1:]}
        status, response_headers, payload = self.forward(
            request, json.dumps({**body, "RequestItems": forwarded}).encode()
        )
        if status != 200:
            return status, response_headers, payload
        answer = json.loads(payload)
        answer["UnprocessedItems"] = unprocessed
        return status, without_checksum(response_headers), json.dumps(answer).encode()


@contextmanager
def fault_proxy(upstream: str, *, serialize: bool = False) -> Iterator[FaultProxy]:
    """A running proxy on 127.0.0.1 in front of ``upstream`` (the moto endpoint)."""
    with running(FaultProxy(upstream, serialize=serialize)) as proxy:
        yield proxy
