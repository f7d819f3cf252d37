"""The API router and the reference CanaryApi handler, on full API Gateway proxy events."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from serverless_patterns.runtime.api.router import HttpError, Request, Response, Router
from serverless_patterns.runtime.handlers import canary_api
from tests.runtime.api_events import proxy_event


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = body(response)["error"]
    return payload


@pytest.fixture
def router() -> Router:
    router = Router()

    @router.route("GET", "/items/{item_id}")
    def get_item(request: Request) -> dict[str, Any]:
        return {"id": request.path_params["item_id"], "q": dict(request.query)}

    @router.route("POST", "/items")
    def create_item(request: Request) -> Response:
        return Response(201, {"created": request.json(), "tenant": request.header("x-tenant")})

    @router.route("DELETE", "/items/{item_id}")
    def delete_item(request: Request) -> Response:
        return Response(204)

    @router.route("GET", "/boom")
    def boom(request: Request) -> None:
        raise RuntimeError("secret internal detail /var/task/app.py line 7")

    @router.route("GET", "/conflict")
    def conflict(request: Request) -> None:
        raise HttpError(409, "Item already exists")

    @router.route("GET", "/unserialisable")
    def unserialisable(request: Request) -> Any:
        return {"when": object()}

    return router


# --- routing ----------------------------------------------------------------------------------


def test_routes_by_method_and_path_template_with_query(router: Router) -> None:
    response = router.handler(proxy_event("GET", "/items/i-7", query={"page": ["1", "2"]}))
    assert response["statusCode"] == 200
    assert body(response) == {"id": "i-7", "q": {"page": "2"}}
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False


def test_json_body_and_case_insensitive_headers(router: Router) -> None:
    event = proxy_event("POST", "/items", body='{"name": "pen"}', headers={"X-Tenant": "acme"})
    response = router.handler(event)
    assert response["statusCode"] == 201
    assert body(response) == {"created": {"name": "pen"}, "tenant": "acme"}


def test_base64_encoded_body_is_decoded(router: Router) -> None:
    event = proxy_event("POST", "/items", body='{"name": "pen"}', base64_body=True)
    assert event["isBase64Encoded"] is True and event["body"] != '{"name": "pen"}'
    response = router.handler(event)
    assert response["statusCode"] == 201
    assert body(response)["created"] == {"name": "pen"}


def test_trailing_slash_matches_the_same_route(router: Router) -> None:
    assert router.handler(proxy_event("GET", "/items/i-7/"))["statusCode"] == 200


def test_response_without_body_is_empty(router: Router) -> None:
    response = router.handler(proxy_event("DELETE", "/items/i-7"))
    assert response["statusCode"] == 204 and response["body"] == ""


def test_multi_value_headers_only_event_is_read(router: Router) -> None:
    event = proxy_event("POST", "/items", body="{}")
    event["headers"] = None
    event["multiValueHeaders"]["X-Tenant"] = ["a", "b"]
    response = router.handler(event)
    assert body(response)["tenant"] == "a, b"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ['{"name": "pen"', "name=pen", "", "   "],
    ids=["truncated", "form", "empty", "blank"],
)
def test_malformed_or_missing_json_body_is_400(router: Router, raw: str) -> None:
    event = proxy_event("POST", "/items", body=raw, request_id="req-400")
    response = router.handler(event)
    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] in {"MalformedJson", "MissingBody"}
    assert error["correlationId"] == "req-400"
    assert response["headers"]["X-Correlation-Id"] == "req-400"


def test_body_that_is_not_utf8_is_400(router: Router) -> None:
    response = router.handler(proxy_event("POST", "/items", body=b"\xff\xfe{"))
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "MalformedJson"


@pytest.mark.parametrize(
    "raw",
    ["1" * 5_000, '{"quantity": ' + "9" * 5_000 + "}", "[" * 2_000 + "]" * 2_000],
    ids=["5000-digit-int", "5000-digit-field", "2000-deep"],
)
def test_json_python_cannot_parse_is_400_not_500(router: Router, raw: str) -> None:
    """Issue 12 item 1: Python's int-string limit (ValueError) and nesting (RecursionError)."""
    response = router.handler(proxy_event("POST", "/items", body=raw, request_id="req-big"))
    assert response["statusCode"] == 400
    assert error_of(response) == {
        "code": "MalformedJson",
        "message": "The request body is not valid JSON",
        "correlationId": "req-big",
    }


@pytest.mark.parametrize("raw", ["NaN", '{"n": Infinity}', "[-Infinity]", '{"n": 1e999}'])
def test_numbers_json_cannot_carry_are_400(router: Router, raw: str) -> None:
    """NaN and Infinity are not JSON (RFC 8259, section 6) and 1e999 does not fit a double:
    a route echoing them could not answer JSON."""
    response = router.handler(proxy_event("POST", "/items", body=raw))
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "MalformedJson"


def test_body_with_a_lone_surrogate_reads_as_its_escape(router: Router) -> None:
    """The Lambda runtime decodes the event's JSON, so ``"\\ud800"`` in ``body`` arrives as a
    lone surrogate, which strict UTF-8 cannot encode (that was a 500). It reads as the JSON
    escape would, and the answer escapes it again."""
    response = router.handler(proxy_event("POST", "/items", body='{"name": "\ud800"}'))
    assert response["statusCode"] == 201
    assert '"\\ud800"' in response["body"]
    assert body(response)["created"] == {"name": "\ud800"}


def test_invalid_base64_body_is_400(router: Router) -> None:
    event = proxy_event("POST", "/items", body="{}")
    event["isBase64Encoded"] = True
    event["body"] = "not base64!"
    response = router.handler(event)
    assert response["statusCode"] == 400


@pytest.mark.parametrize("path", ["/nothing", "/items/i-7/parts", "/"], ids=str)
def test_unknown_route_is_404(router: Router, path: str) -> None:
    response = router.handler(proxy_event("GET", path))
    assert response["statusCode"] == 404
    assert error_of(response)["code"] == "NotFound"


def test_known_path_with_another_method_is_405_with_allow(router: Router) -> None:
    response = router.handler(proxy_event("PUT", "/items/i-7"))
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "DELETE, GET"
    assert error_of(response)["code"] == "MethodNotAllowed"


def test_http_error_from_a_route_keeps_its_status(router: Router) -> None:
    response = router.handler(proxy_event("GET", "/conflict"))
    assert response["statusCode"] == 409
    assert error_of(response) == {
        "code": "Conflict",
        "message": "Item already exists",
        "correlationId": response["headers"]["X-Correlation-Id"],
    }


def test_unhandled_exception_is_500_without_internals(
    router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = router.handler(proxy_event("GET", "/boom", request_id="req-500"))
    assert response["statusCode"] == 500
    assert error_of(response) == {
        "code": "InternalError",
        "message": "Internal server error",
        "correlationId": "req-500",
    }
    assert "secret" not in response["body"] and "Traceback" not in response["body"]
    assert any(r.correlationId == "req-500" for r in caplog.records)  # type: ignore[attr-defined]


def test_unserialisable_result_is_500(router: Router) -> None:
    response = router.handler(proxy_event("GET", "/unserialisable"))
    assert response["statusCode"] == 500
    assert error_of(response)["code"] == "InternalError"


def test_not_a_proxy_event_is_400(router: Router) -> None:
    response = router.handler({"source": "aws.events"})
    assert response["statusCode"] == 400


# --- correlation id ---------------------------------------------------------------------------


def test_correlation_id_header_from_the_client_is_echoed(router: Router) -> None:
    event = proxy_event("GET", "/nothing", headers={"x-correlation-id": "client-42"})
    response = router.handler(event)
    assert response["headers"]["X-Correlation-Id"] == "client-42"
    assert error_of(response)["correlationId"] == "client-42"


@pytest.mark.parametrize("single_headers", [None, {}], ids=["headers-null", "headers-empty"])
def test_correlation_id_only_in_multi_value_headers_is_echoed(
    router: Router, single_headers: dict[str, str] | None
) -> None:
    """Issue 12 item 7. A REST proxy event carries ``headers`` and ``multiValueHeaders``, and
    either may be null ("Set up Lambda proxy integrations in API Gateway", input format of a
    Lambda function for proxy integration)."""
    event = proxy_event("GET", "/nothing", request_id="req-7")
    event["headers"] = single_headers
    event["multiValueHeaders"]["x-CORRELATION-id"] = ["client-7"]
    response = router.handler(event)
    assert response["headers"]["X-Correlation-Id"] == "client-7"
    assert error_of(response)["correlationId"] == "client-7"


def test_repeated_correlation_header_uses_the_last_safe_value(router: Router) -> None:
    """API Gateway puts the last value of a repeated header in ``headers``; without it the
    last value of ``multiValueHeaders`` that is a safe id wins."""
    event = proxy_event("GET", "/nothing", request_id="req-7")
    event["headers"] = None
    event["multiValueHeaders"]["X-Correlation-Id"] = ["first", "second", "<bad>"]
    assert router.handler(event)["headers"]["X-Correlation-Id"] == "second"


def test_single_correlation_header_wins_over_multi_value(router: Router) -> None:
    event = proxy_event("GET", "/nothing", headers={"X-Correlation-Id": "single"})
    event["multiValueHeaders"]["X-Correlation-Id"] = ["multi"]
    assert router.handler(event)["headers"]["X-Correlation-Id"] == "single"


def test_unsafe_correlation_id_falls_back_to_the_request_id(router: Router) -> None:
    event = proxy_event(
        "GET", "/nothing", headers={"X-Correlation-Id": "<script>"}, request_id="req-1"
    )
    assert router.handler(event)["headers"]["X-Correlation-Id"] == "req-1"


def test_route_registration_is_validated() -> None:
    router = Router()
    with pytest.raises(ValueError, match="unsupported method"):
        router.route("FETCH", "/x")
    with pytest.raises(ValueError, match="must start with '/'"):
        router.route("GET", "x")


# --- the reference handler --------------------------------------------------------------------


def test_health_reports_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    response = canary_api.handler(proxy_event("GET", "/health"), None)
    assert response["statusCode"] == 200
    assert body(response) == {"status": "ok", "version": "7"}


def test_create_order_is_201() -> None:
    event = proxy_event("POST", "/orders", body=json.dumps({"order_id": "o-1", "quantity": 2}))
    response = canary_api.handler(event, None)
    assert response["statusCode"] == 201
    assert body(response) == {"order_id": "o-1", "quantity": 2, "status": "accepted"}


@pytest.mark.parametrize(
    "payload",
    [[1], {"quantity": 1}, {"order_id": " ", "quantity": 1}, {"order_id": "o", "quantity": 0}],
    ids=["array", "no-id", "blank-id", "zero"],
)
def test_invalid_order_is_422(payload: Any) -> None:
    response = canary_api.handler(proxy_event("POST", "/orders", body=json.dumps(payload)), None)
    assert response["statusCode"] == 422


def test_reference_handler_errors(caplog: pytest.LogCaptureFixture) -> None:
    secret = '{"order_id": "card-4111111111111111", "quantity": '
    with caplog.at_level(logging.DEBUG):
        malformed = canary_api.handler(proxy_event("POST", "/orders", body=secret), None)
    assert malformed["statusCode"] == 400
    assert "4111" not in caplog.text  # bodies are never logged
    assert canary_api.handler(proxy_event("GET", "/customers"), None)["statusCode"] == 404
    assert canary_api.handler(proxy_event("DELETE", "/orders"), None)["statusCode"] == 405
    got = canary_api.handler(proxy_event("GET", "/orders/o-9"), None)
    assert body(got) == {"order_id": "o-9", "status": "accepted"}
