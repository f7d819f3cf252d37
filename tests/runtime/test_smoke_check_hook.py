"""The CodeDeploy smoke-check hook: every check outcome reports the right status exactly once.

moto implements no ``PutLifecycleEventHookExecutionStatus`` (its CodeDeploy backend covers
applications, groups and deployments only), so the CodeDeploy call goes to a botocore Stubber
that asserts the exact request and fails on any second call. The new version is reached
through a fake invoker, or a stubbed Lambda client for the handler end to end.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from serverless_patterns.runtime.api import smoke_checks
from serverless_patterns.runtime.api.smoke_checks import (
    CodeDeployReporter,
    InvocationError,
    LambdaInvoker,
    SmokeCheck,
    checks_from_json,
    run_hook,
)
from serverless_patterns.runtime.handlers import smoke_check_hook

REGION = "eu-west-1"
DEPLOYMENT_ID = "d-ABCDEF123"
EXECUTION_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
HOOK_EVENT = {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": EXECUTION_ID}
TARGET = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api:7"


def client(service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def codedeploy() -> Iterator[tuple[Any, Stubber]]:
    """A CodeDeploy client expecting exactly one status report; the test names the status."""
    cd = client("codedeploy")
    with Stubber(cd) as stubber:
        yield cd, stubber
        stubber.assert_no_pending_responses()


def expect_status(stubber: Stubber, status: str) -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": EXECUTION_ID},
        {
            "deploymentId": DEPLOYMENT_ID,
            "lifecycleEventHookExecutionId": EXECUTION_ID,
            "status": status,
        },
    )


def api_response(status: int, payload: Any = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": "" if payload is None else json.dumps(payload),
        "isBase64Encoded": False,
    }


class FakeVersion:
    """Answers proxy events by path; records what it was sent."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self.routes = routes
        self.events: list[Mapping[str, Any]] = []
        self.release = threading.Event()

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        self.events.append(event)
        answer = self.routes[f"{event['httpMethod']} {event['path']}"]
        if answer == "hang":
            self.release.wait(5)
            return api_response(200, {"status": "ok"})
        if isinstance(answer, Exception):
            raise answer
        result: Mapping[str, Any] = answer
        return result


HEALTH = SmokeCheck(name="health", path="/health", expected_body={"status": "ok"})
CREATE = SmokeCheck(
    name="create",
    path="/orders",
    method="POST",
    body={"order_id": "smoke", "quantity": 1},
    expected_status=201,
    expected_body={"status": "accepted", "order": {"quantity": 1}},
)
HEALTHY = {
    "GET /health": api_response(200, {"status": "ok", "version": "7"}),
    "POST /orders": api_response(
        201, {"status": "accepted", "order": {"order_id": "smoke", "quantity": 1}}
    ),
}


def run(version: FakeVersion, reporter: CodeDeployReporter, timeout: float = 2.0) -> str:
    return run_hook(
        HOOK_EVENT,
        load_checks=lambda: [HEALTH, CREATE],
        invoke=version,
        report=reporter,
        timeout_seconds=timeout,
    )


# --- outcomes ---------------------------------------------------------------------------------


def test_every_check_passing_reports_succeeded_once(codedeploy: tuple[Any, Stubber]) -> None:
    cd, stubber = codedeploy
    expect_status(stubber, "Succeeded")
    version = FakeVersion(HEALTHY)
    assert run(version, CodeDeployReporter(cd)) == "Succeeded"
    sent = {f"{e['httpMethod']} {e['path']}": e for e in version.events}
    assert json.loads(sent["POST /orders"]["body"]) == {"order_id": "smoke", "quantity": 1}
    assert sent["GET /health"]["body"] is None


@pytest.mark.parametrize(
    ("routes", "reason"),
    [
        ({**HEALTHY, "GET /health": api_response(503, {"status": "down"})}, "status 503"),
        ({**HEALTHY, "GET /health": api_response(200, {"status": "degraded"})}, "does not match"),
        (
            {**HEALTHY, "POST /orders": api_response(201, {"status": "accepted", "order": {}})},
            "does not match",
        ),
        ({**HEALTHY, "GET /health": {"statusCode": 200, "body": "<html>"}}, "not JSON"),
        ({**HEALTHY, "GET /health": InvocationError("function error (Unhandled)")}, "invocation"),
        ({**HEALTHY, "GET /health": ConnectionError("reset")}, "invocation failed"),
    ],
    ids=[
        "wrong-status",
        "body-predicate-false",
        "nested-body-predicate-false",
        "body-not-json",
        "function-error",
        "invoke-raised",
    ],
)
def test_a_failing_check_reports_failed_once(
    codedeploy: tuple[Any, Stubber],
    routes: Mapping[str, Any],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cd, stubber = codedeploy
    expect_status(stubber, "Failed")
    with caplog.at_level(logging.INFO, logger=smoke_checks.__name__):
        assert run(FakeVersion(routes), CodeDeployReporter(cd)) == "Failed"
    failed = [r for r in caplog.records if r.getMessage() == "Smoke check failed"]
    assert len(failed) == 1 and reason in failed[0].reason  # type: ignore[attr-defined]


def test_a_check_that_times_out_reports_failed_without_waiting_for_it(
    codedeploy: tuple[Any, Stubber],
) -> None:
    cd, stubber = codedeploy
    expect_status(stubber, "Failed")
    version = FakeVersion({**HEALTHY, "GET /health": "hang"})
    try:
        results = smoke_checks.run_smoke_checks([HEALTH, CREATE], version, 0.2)
        assert [(r.name, r.passed) for r in results] == [("health", False), ("create", True)]
        assert results[0].reason == "timed out after 0.2 s"
        assert run(version, CodeDeployReporter(cd), timeout=0.2) == "Failed"
    finally:
        version.release.set()


def test_broken_configuration_reports_failed(codedeploy: tuple[Any, Stubber]) -> None:
    cd, stubber = codedeploy
    expect_status(stubber, "Failed")

    def broken() -> list[SmokeCheck]:
        return checks_from_json("{not json")

    status = run_hook(
        HOOK_EVENT,
        load_checks=broken,
        invoke=FakeVersion(HEALTHY),
        report=CodeDeployReporter(cd),
        timeout_seconds=1,
    )
    assert status == "Failed"


def test_no_target_version_reports_failed(codedeploy: tuple[Any, Stubber]) -> None:
    cd, stubber = codedeploy
    expect_status(stubber, "Failed")
    status = run_hook(
        HOOK_EVENT,
        load_checks=lambda: [HEALTH],
        invoke=None,
        report=CodeDeployReporter(cd),
        timeout_seconds=1,
    )
    assert status == "Failed"


def test_event_without_ids_raises_and_reports_nothing(codedeploy: tuple[Any, Stubber]) -> None:
    cd, _ = codedeploy
    with pytest.raises(ValueError, match="not a CodeDeploy lifecycle hook event"):
        run_hook(
            {"source": "aws.events"},
            load_checks=lambda: [HEALTH],
            invoke=FakeVersion(HEALTHY),
            report=CodeDeployReporter(cd),
            timeout_seconds=1,
        )


def test_a_failed_report_is_raised_so_lambda_retries_the_hook(
    codedeploy: tuple[Any, Stubber],
) -> None:
    cd, stubber = codedeploy
    stubber.add_client_error(
        "put_lifecycle_event_hook_execution_status",
        service_error_code="ThrottlingException",
        http_status_code=400,
    )
    with pytest.raises(cd.exceptions.ClientError):
        run(FakeVersion(HEALTHY), CodeDeployReporter(cd))


# --- configuration and helpers ----------------------------------------------------------------


def test_checks_are_read_from_the_construct_json() -> None:
    text = json.dumps(
        [
            {"name": "GET /health", "method": "GET", "path": "/health", "expected_status": 200},
            {
                "method": "post",
                "path": "/orders",
                "body": {"a": 1},
                "headers": {"X-Tenant": "t"},
                "query": {"dry_run": 1},
                "expected_status": 201,
                "expected_body": {"status": "accepted"},
            },
        ]
    )
    health, create = checks_from_json(text)
    assert health == SmokeCheck(name="GET /health", path="/health")
    assert create.name == "POST /orders" and create.method == "POST"
    assert create.query == {"dry_run": "1"} and create.headers == {"X-Tenant": "t"}
    assert create.expected_body == {"status": "accepted"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "must be a JSON list"),
        ("[1]", "check 0 must be a JSON object"),
        ('[{"path": "health"}]', "path must be a string starting with '/'"),
        ('[{"path": "/", "method": "FETCH"}]', "unsupported method"),
        ('[{"path": "/", "expected_status": true}]', "expected_status must be"),
        ('[{"path": "/", "headers": []}]', "headers and query must be JSON objects"),
    ],
    ids=["object", "number", "path", "method", "status", "headers"],
)
def test_bad_check_json_is_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        checks_from_json(text)


def test_proxy_event_has_the_api_gateway_shape() -> None:
    event = smoke_checks.proxy_event(CREATE)
    assert event["httpMethod"] == "POST" and event["path"] == "/orders"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["requestContext"]["requestId"].startswith("smoke-")
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2], "c": 3}}, True),
        ({"a": 1}, {"a": True}, False),
        ({"a": {"b": 1}}, {"a": 1}, False),
        ({"a": [1]}, {"a": [1, 2]}, False),
        ({"a": 1}, [{"a": 1}], False),
    ],
)
def test_expected_body_is_a_json_subset(expected: Any, actual: Any, matches: bool) -> None:
    assert smoke_checks.is_subset(expected, actual) is matches


def test_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(smoke_checks.TIMEOUT_ENV, "3")
    assert smoke_checks.timeout_from_env() == 3
    monkeypatch.setenv(smoke_checks.TIMEOUT_ENV, "soon")
    assert smoke_checks.timeout_from_env() == smoke_checks.DEFAULT_TIMEOUT_SECONDS


# --- the Lambda invoker and the handler end to end ---------------------------------------------


def payload(data: Any) -> StreamingBody:
    raw = json.dumps(data).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def expect_invoke(stubber: Stubber, response: dict[str, Any]) -> None:
    stubber.add_response(
        "invoke",
        response,
        {"FunctionName": TARGET, "InvocationType": "RequestResponse", "Payload": ANY},
    )


def test_lambda_invoker_returns_the_proxy_response_of_the_version() -> None:
    lam = client("lambda")
    with Stubber(lam) as stubber:
        expect_invoke(
            stubber,
            {"StatusCode": 200, "ExecutedVersion": "7", "Payload": payload(api_response(200))},
        )
        assert LambdaInvoker(TARGET, lam)({"path": "/"})["statusCode"] == 200


def test_lambda_invoker_raises_on_a_function_error() -> None:
    lam = client("lambda")
    with Stubber(lam) as stubber:
        expect_invoke(
            stubber,
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": payload({"errorType": "KeyError"}),
            },
        )
        with pytest.raises(InvocationError, match=r"function error \(Unhandled\)"):
            LambdaInvoker(TARGET, lam)({"path": "/"})


def test_lambda_invoker_raises_when_invoke_fails() -> None:
    lam = client("lambda")
    with Stubber(lam) as stubber:
        stubber.add_client_error("invoke", service_error_code="ResourceNotFoundException")
        with pytest.raises(InvocationError, match="ResourceNotFoundException"):
            LambdaInvoker(TARGET, lam)({"path": "/"})


@pytest.mark.parametrize(
    ("invoke_response", "status"),
    [
        ({"StatusCode": 200, "Payload": "healthy"}, "Succeeded"),
        ({"StatusCode": 200, "Payload": "unhealthy"}, "Failed"),
        ({"StatusCode": 200, "FunctionError": "Unhandled", "Payload": "error"}, "Failed"),
    ],
    ids=["pass", "wrong-status", "function-error"],
)
def test_handler_invokes_the_target_version_and_reports(
    monkeypatch: pytest.MonkeyPatch, invoke_response: dict[str, Any], status: str
) -> None:
    bodies = {
        "healthy": api_response(200, {"status": "ok"}),
        "unhealthy": api_response(500, {"error": {}}),
        "error": {"errorType": "RuntimeError"},
    }
    monkeypatch.setenv(smoke_checks.CHECKS_ENV, json.dumps([{"path": "/health"}]))
    monkeypatch.setenv(smoke_checks.TARGET_ENV, TARGET)
    monkeypatch.setenv(smoke_checks.TIMEOUT_ENV, "5")
    lam, cd = client("lambda"), client("codedeploy")
    monkeypatch.setattr(
        "boto3.client",
        lambda service, **_: {"lambda": lam, "codedeploy": cd}[service],
    )
    with Stubber(lam) as lambda_stub, Stubber(cd) as codedeploy_stub:
        expect_invoke(
            lambda_stub, {**invoke_response, "Payload": payload(bodies[invoke_response["Payload"]])}
        )
        expect_status(codedeploy_stub, status)
        assert smoke_check_hook.handler(HOOK_EVENT, None) == {"status": status}
        lambda_stub.assert_no_pending_responses()
        codedeploy_stub.assert_no_pending_responses()


def test_handler_without_a_target_reports_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(smoke_checks.CHECKS_ENV, json.dumps([{"path": "/health"}]))
    monkeypatch.delenv(smoke_checks.TARGET_ENV, raising=False)
    cd = client("codedeploy")
    monkeypatch.setattr("boto3.client", lambda service, **_: cd)
    with Stubber(cd) as stubber:
        expect_status(stubber, "Failed")
        assert smoke_check_hook.handler(HOOK_EVENT, None) == {"status": "Failed"}
        stubber.assert_no_pending_responses()
