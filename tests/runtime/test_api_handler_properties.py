"""Property tests (issue 12): API handlers answer every client input with JSON and a
correlation id, never 5xx, and never log a body.

Entry points: the reference CanaryApi handler (``handlers.canary_api``), the runtime
``Router`` with a route echoing the parsed body, and the smoke-check hook's parse functions
(``checks_from_json``, the response-body parsing of ``run_smoke_checks``, ``LambdaInvoker``).
Events have the REST proxy shape of "Set up Lambda proxy integrations in API Gateway" (input
format of a Lambda function for proxy integration): ``headers`` and ``multiValueHeaders``,
either null.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverless_patterns.runtime.api.router import Request, Router
from serverless_patterns.runtime.api.smoke_checks import (
    InvocationError,
    LambdaInvoker,
    SmokeCheck,
    checks_from_json,
    run_hook,
)
from serverless_patterns.runtime.handlers import canary_api
from tests.runtime.api_events import proxy_event
from tests.runtime.hostile_inputs import (
    header_maps,
    hostile_json_bytes,
    hostile_json_texts,
    marked_json_texts,
    mixed_case,
    multi_value_header_maps,
)

SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MARKER = "body-marker-7f3a"
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"])
paths = st.one_of(
    st.sampled_from(["/health", "/orders", "/orders/o-1", "/orders/", "/", "//orders"]),
    st.text(max_size=30).map(lambda text: "/" + text),
)
bodies: st.SearchStrategy[str | bytes | None] = st.one_of(
    st.none(), hostile_json_texts(), hostile_json_bytes()
)


def strict_json(text: str) -> Any:
    """``json.loads`` refusing NaN and Infinity, which are not JSON (RFC 8259, section 6)."""

    def refuse(literal: str) -> None:
        raise ValueError(f"{literal} is not JSON")

    return json.loads(text, parse_constant=refuse)


@st.composite
def client_events(draw: st.DrawFn, body: st.SearchStrategy[str | bytes | None] = bodies) -> Any:
    """A proxy event with client-controlled method, path, body, base64 flag and headers."""
    raw = draw(body)
    event = proxy_event(
        draw(methods),
        draw(paths),
        body=raw,
        base64_body=draw(st.booleans()),
        request_id=draw(st.uuids()).hex,
    )
    event["headers"] = draw(header_maps())
    event["multiValueHeaders"] = draw(multi_value_header_maps())
    if draw(st.booleans()):  # a base64 flag on a body that is not base64
        event["isBase64Encoded"] = True
    return event


def client_header_values(event: Mapping[str, Any]) -> set[str]:
    values = {v for v in (event["headers"] or {}).values() if isinstance(v, str)}
    for listed in (event["multiValueHeaders"] or {}).values():
        values.update(listed or ())
    return values


def assert_json_answer_with_correlation_id(event: Mapping[str, Any], response: Any) -> None:
    """Not 5xx, a JSON body, and a safe correlation id: the client's or the request id."""
    assert 200 <= response["statusCode"] < 500
    assert response["headers"]["Content-Type"] == "application/json"
    correlation_id = response["headers"]["X-Correlation-Id"]
    assert SAFE_ID.match(correlation_id)
    assert correlation_id in client_header_values(event) | {event["requestContext"]["requestId"]}
    if response["body"]:
        payload = strict_json(response["body"])
        if response["statusCode"] >= 400:
            assert payload["error"]["correlationId"] == correlation_id


@PROPERTY
@given(event=client_events())
def test_canary_api_never_answers_5xx_and_always_answers_json(event: dict[str, Any]) -> None:
    assert_json_answer_with_correlation_id(event, canary_api.handler(event, None))


echo = Router()


@echo.route("POST", "/echo")
def echo_body(request: Request) -> dict[str, Any]:
    return {"echo": request.json()}


@PROPERTY
@given(event=client_events(), method=st.just("POST"))
def test_a_route_echoing_the_body_answers_it_or_400(event: dict[str, Any], method: str) -> None:
    """Whatever the body, the echo is the parsed body (strict JSON) or a 400 naming why."""
    event["httpMethod"], event["path"] = method, "/echo"
    response = echo.handler(event)
    assert_json_answer_with_correlation_id(event, response)
    assert response["statusCode"] in {200, 400}
    if response["statusCode"] == 400:
        code = strict_json(response["body"])["error"]["code"]
        assert code in {"MalformedJson", "MissingBody", "BadRequest"}


@PROPERTY
@given(
    correlation_id=st.from_regex(SAFE_ID, fullmatch=True),
    name=mixed_case("X-Correlation-Id"),
    in_multi_value=st.booleans(),
    headers_null=st.booleans(),
    noise=multi_value_header_maps(),
)
def test_a_safe_correlation_id_in_either_header_map_is_echoed(
    correlation_id: str, name: str, in_multi_value: bool, headers_null: bool, noise: Any
) -> None:
    """Issue 12 item 7, for any case of the name and either map (the other null or not)."""
    event = proxy_event("GET", "/health", request_id="req-props")
    multi = {k: v for k, v in (noise or {}).items() if k.lower() != "x-correlation-id"}
    event["headers"] = None if headers_null else {}
    event["multiValueHeaders"] = multi
    if in_multi_value:
        multi[name] = [correlation_id]
    else:
        event["headers"] = {name: correlation_id}
    response = canary_api.handler(event, None)
    assert response["headers"]["X-Correlation-Id"] == correlation_id


@PROPERTY
@given(body=marked_json_texts(MARKER), path=st.sampled_from(["/orders", "/echo"]))
def test_no_body_reaches_the_log(body: str, path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    event = proxy_event("POST", path, body=body)
    with caplog.at_level(logging.DEBUG):
        canary_api.handler(event, None)
        echo.handler(event)
    logged = caplog.text + "".join(str(vars(record)) for record in caplog.records)
    assert MARKER not in logged


# --- the smoke-check hook's parse functions -------------------------------------------------


@PROPERTY
@given(text=hostile_json_texts())
def test_smoke_check_configuration_is_parsed_or_a_value_error(text: str) -> None:
    """``checks_from_json`` raises only ValueError, whose message never quotes the text."""
    try:
        checks = checks_from_json(text)
    except ValueError as error:
        assert text not in str(error) or len(text) < 4
    else:
        assert all(isinstance(check, SmokeCheck) for check in checks)


class StreamingPayload:
    """The ``Payload`` of a Lambda Invoke response: a stream of the function's bytes."""

    def __init__(self, payload: bytes) -> None:
        self._stream = io.BytesIO(payload)

    def read(self) -> bytes:
        return self._stream.read()


class FakeLambda:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        return {"StatusCode": 200, "Payload": StreamingPayload(self.payload)}


@PROPERTY
@given(payload=hostile_json_bytes())
def test_lambda_invoker_returns_a_mapping_or_raises_invocation_error(payload: bytes) -> None:
    try:
        response = LambdaInvoker("arn:aws:lambda:eu-west-1:1:function:f:1", FakeLambda(payload))({})
    except InvocationError:
        return
    assert isinstance(response, Mapping)


@PROPERTY
@given(response_body=hostile_json_texts(), status=st.sampled_from([200, 500]))
def test_a_hook_reports_one_status_whatever_the_version_answers(
    response_body: str, status: int
) -> None:
    """A response body the hook cannot parse fails its check; the hook still reports once."""
    reports: list[str] = []
    check = SmokeCheck(name="health", path="/health", expected_body={"status": "ok"})
    result = run_hook(
        {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"},
        load_checks=lambda: [check],
        invoke=lambda event: {"statusCode": status, "body": response_body},
        report=lambda deployment, execution, hook_status: reports.append(hook_status),
        timeout_seconds=5,
    )
    assert reports == [result]
    try:
        body = json.loads(response_body)
    except (ValueError, RecursionError):  # what json.loads cannot parse is no match
        body = None
    matches = isinstance(body, dict) and body.get("status") == "ok" and status == 200
    assert result == ("Succeeded" if matches else "Failed")


def test_strict_json_refuses_non_finite_literals() -> None:
    """The oracle above must be able to fail: NaN is refused, finite numbers pass."""
    with pytest.raises(ValueError):
        strict_json("NaN")
    assert math.isfinite(strict_json("1.5"))
