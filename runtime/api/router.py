"""A small router for API Gateway REST (proxy integration) events.

::

    from serverless_patterns.runtime.api.router import Request, Response, Router

    router = Router()

    @router.route("GET", "/orders/{order_id}")
    def get_order(request: Request) -> dict:
        return {"order_id": request.path_params["order_id"]}

    handler = router.handler

Bodies are JSON both ways. Every error is a JSON body
``{"error": {"code": ..., "message": ..., "correlationId": ...}}``: a body that is not JSON
this runtime can parse (``runtime.json_input``: bad UTF-8, a syntax error, an integer over
Python's digit limit, nesting too deep) or that holds a number JSON cannot carry (NaN,
Infinity, a float beyond a double) is 400 ``MalformedJson``, an unknown path 404, a known
path with another method 405 (with ``Allow``), and an exception the route did not turn into
an ``HttpError`` is 500 with a generic message; its stack trace goes to the function's log,
never to the client. Request bodies are never logged. A lone surrogate in the event's ``body``
(the Lambda runtime decodes an escaped one) reads as its JSON escape would, never a 500.

The correlation id is the client's ``X-Correlation-Id`` (any case) when it is a safe id (1 to
128 of ``A-Z a-z 0-9 . _ : -``): the ``headers`` value first, else the last safe value in
``multiValueHeaders``, since a REST proxy event carries both maps and either may be null
("Set up Lambda proxy integrations in API Gateway", input format of a Lambda function for proxy
integration). Otherwise it is API Gateway's request id.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serverless_patterns.runtime.json_input import MalformedJson, parse_json

__all__ = [
    "CORRELATION_HEADER",
    "HttpError",
    "Request",
    "Response",
    "RouteHandler",
    "Router",
]

logger = logging.getLogger(__name__)

#: Header carrying the correlation id, read from the request and set on every response.
CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpError(Exception):
    """Raise from a route to answer with this status and a JSON error body.

    :param status: the HTTP status (4xx or 5xx).
    :param message: a message safe to show the client (no payload values, no internals).
    :param code: a short machine-readable code. Default: the status's name (``BadRequest``).
    """

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _STATUS_CODES.get(status, "Error")


_STATUS_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


@dataclass(frozen=True)
class Response:
    """A response; ``body`` is serialised as JSON (None means no body)."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One API Gateway proxy request, parsed."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    path_params: Mapping[str, str]
    raw_body: bytes | None
    correlation_id: str
    event: Mapping[str, Any]

    def header(self, name: str) -> str | None:
        """A header's value, case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON; ``HttpError(400)`` when it is missing or malformed."""
        if self.raw_body is None or not self.raw_body.strip():
            raise HttpError(400, "A JSON request body is required", "MissingBody")
        try:
            return parse_json(self.raw_body, finite=True)
        except MalformedJson as error:
            raise HttpError(400, "The request body is not valid JSON", "MalformedJson") from error


RouteHandler = Callable[[Request], Any]


@dataclass(frozen=True)
class _Route:
    method: str
    segments: tuple[str, ...]
    handler: RouteHandler

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, value in zip(self.segments, segments, strict=True):
            name = _PARAM.match(pattern)
            if name is not None:
                if not value:
                    return None
                params[name.group(1)] = value
            elif pattern != value:
                return None
        return params


def _split(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.strip("/").split("/") if part)


class Router:
    """Routes proxy events by method and path template (``/orders/{order_id}``)."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def route(self, method: str, path: str) -> Callable[[RouteHandler], RouteHandler]:
        """Registers the decorated function for ``method`` and ``path``."""
        verb = method.upper()
        if verb not in _METHODS:
            raise ValueError(f"unsupported method {method!r}")
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")

        def register(handler: RouteHandler) -> RouteHandler:
            self._routes.append(_Route(verb, _split(path), handler))
            return handler

        return register

    def handler(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda handler: returns the proxy integration's response shape."""
        if not isinstance(event, Mapping):
            event = {}  # answered 400: not an API Gateway proxy request
        correlation_id = _correlation_id(event, context)
        try:
            request = _parse(event, correlation_id)
            response = self._dispatch(request)
        except HttpError as error:
            response = _error_response(error, correlation_id)
        except Exception as error:
            logger.exception(
                "Unhandled error",
                extra={"correlationId": correlation_id, "errorType": type(error).__name__},
            )
            response = _error_response(
                HttpError(500, "Internal server error", "InternalError"), correlation_id
            )
        try:
            return _render(response, correlation_id)
        except (TypeError, ValueError) as error:  # a route returned a body JSON cannot encode
            logger.error(
                "Response body is not JSON serialisable",
                extra={"correlationId": correlation_id, "errorType": type(error).__name__},
            )
            return _render(
                _error_response(
                    HttpError(500, "Internal server error", "InternalError"), correlation_id
                ),
                correlation_id,
            )

    def _dispatch(self, request: Request) -> Response:
        segments = _split(request.path)
        allowed: set[str] = set()
        for route in self._routes:
            params = route.match(segments)
            if params is None:
                continue
            if route.method != request.method:
                allowed.add(route.method)
                continue
            result = route.handler(
                Request(
                    method=request.method,
                    path=request.path,
                    headers=request.headers,
                    query=request.query,
                    path_params=params,
                    raw_body=request.raw_body,
                    correlation_id=request.correlation_id,
                    event=request.event,
                )
            )
            return result if isinstance(result, Response) else Response(200, result)
        if allowed:
            error = HttpError(405, f"Method {request.method} is not allowed on this resource")
            response = _error_response(error, request.correlation_id)
            return Response(response.status, response.body, {"Allow": ", ".join(sorted(allowed))})
        raise HttpError(404, "No route matches this path")


def _mapping(event: Mapping[str, Any], key: str) -> Mapping[Any, Any]:
    """``event[key]`` when it is a map; an empty map when it is null, absent or not a map."""
    value = event.get(key)
    return value if isinstance(value, Mapping) else {}


def _header_values(event: Mapping[str, Any], name: str) -> list[Any]:
    """Every value of header ``name`` (any case): ``headers`` first, then ``multiValueHeaders``
    from its last value back (API Gateway copies a repeated header's last value to ``headers``)."""
    single: list[Any] = []
    multi: list[Any] = []
    for key, value in _mapping(event, "headers").items():
        if isinstance(key, str) and key.lower() == name.lower():
            single.append(value)
    for key, values in _mapping(event, "multiValueHeaders").items():
        if isinstance(key, str) and key.lower() == name.lower() and isinstance(values, list):
            multi.extend(reversed(values))
    return single + multi


def _correlation_id(event: Mapping[str, Any], context: Any) -> str:
    for value in _header_values(event, CORRELATION_HEADER):
        if isinstance(value, str) and _CORRELATION_ID.match(value):
            return value
    request_id = _mapping(event, "requestContext").get("requestId")
    if isinstance(request_id, str) and request_id:
        return request_id
    aws_request_id = getattr(context, "aws_request_id", None)
    if isinstance(aws_request_id, str) and aws_request_id:
        return aws_request_id
    return str(uuid.uuid4())


def _parse(event: Mapping[str, Any], correlation_id: str) -> Request:
    method = event.get("httpMethod")
    path = event.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        raise HttpError(400, "Not an API Gateway proxy request", "BadRequest")
    headers: dict[str, str] = {}
    for source in ("multiValueHeaders", "headers"):  # single values win
        for name, value in _mapping(event, source).items():
            if isinstance(value, list):
                if value:
                    headers[str(name).lower()] = ", ".join(str(v) for v in value)
            elif value is not None:
                headers[str(name).lower()] = str(value)
    query = {
        str(k): str(v) for k, v in _mapping(event, "queryStringParameters").items() if v is not None
    }
    body = event.get("body")
    raw_body: bytes | None = None
    if body is not None:
        if event.get("isBase64Encoded"):
            try:
                raw_body = base64.b64decode(str(body), validate=True)
            except (binascii.Error, ValueError) as error:
                raise HttpError(
                    400, "The request body is not valid base64", "BadRequest"
                ) from error
        else:
            # surrogatepass: strict UTF-8 cannot encode a lone surrogate; json.loads decodes
            # bytes with surrogatepass too, so it reads as its escape would.
            raw_body = str(body).encode("utf-8", "surrogatepass")
    return Request(
        method=method.upper(),
        path=path,
        headers=headers,
        query=query,
        path_params={},
        raw_body=raw_body,
        correlation_id=correlation_id,
        event=event,
    )


def _error_response(error: HttpError, correlation_id: str) -> Response:
    return Response(
        error.status,
        {"error": {"code": error.code, "message": error.message, "correlationId": correlation_id}},
    )


def _render(response: Response, correlation_id: str) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/json",
        CORRELATION_HEADER: correlation_id,
        **response.headers,
    }
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": ""
        if response.body is None
        else json.dumps(response.body, separators=(",", ":"), allow_nan=False),
        "isBase64Encoded": False,
    }
