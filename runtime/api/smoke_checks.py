"""Smoke checks for CodeDeploy lifecycle hooks: invoke a new function version, report once.

The CanaryApi construct passes the checks to its hook functions as JSON in the environment
(``SMOKE_CHECKS``), with the version to test (``TARGET_FUNCTION_ARN``) and the time each check
may take (``SMOKE_CHECK_TIMEOUT_SECONDS``). A check sends an API Gateway proxy event to the
version and compares the response::

    {"name": "health", "method": "GET", "path": "/health", "expected_status": 200,
     "expected_body": {"status": "ok"}}

``expected_body`` is a JSON subset: every key it names must be in the response body with an
equal value (nested objects compared the same way; lists compared whole). ``body``,
``headers`` and ``query`` shape the request.

All checks run at once, each with the timeout. The hook reports ``Succeeded`` only when every
check passed; a wrong status, a body that does not match, an invocation error, a timeout or a
broken configuration reports ``Failed`` (a response body the hook cannot parse as JSON, see
``runtime.json_input``, fails its check as "response body is not JSON"). Exactly one status is
reported per hook event, so CodeDeploy never waits for its hook timeout. Logs name checks and
statuses, never bodies.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from serverless_patterns.runtime.json_input import MalformedJson, parse_json

__all__ = [
    "CHECKS_ENV",
    "TARGET_ENV",
    "TIMEOUT_ENV",
    "CheckResult",
    "CodeDeployReporter",
    "HookStatus",
    "InvocationError",
    "Invoker",
    "LambdaInvoker",
    "SmokeCheck",
    "StatusReporter",
    "checks_from_json",
    "proxy_event",
    "run_hook",
    "run_smoke_checks",
]

logger = logging.getLogger(__name__)

CHECKS_ENV = "SMOKE_CHECKS"
TARGET_ENV = "TARGET_FUNCTION_ARN"
TIMEOUT_ENV = "SMOKE_CHECK_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 10.0

HookStatus = Literal["Succeeded", "Failed"]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class InvocationError(Exception):
    """The function could not be invoked, or it raised (a Lambda function error)."""


@dataclass(frozen=True)
class SmokeCheck:
    """One request to send to the new version and what its response must be."""

    name: str
    path: str
    method: str = "GET"
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    expected_status: int = 200
    expected_body: Any = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; ``reason`` never contains the response body."""

    name: str
    passed: bool
    reason: str
    status: int | None = None


#: Sends one proxy event to the function under test and returns its proxy response.
Invoker = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class StatusReporter(Protocol):
    """Reports a lifecycle hook's outcome to CodeDeploy."""

    def __call__(self, deployment_id: str, execution_id: str, status: HookStatus) -> None: ...


def checks_from_json(text: str) -> list[SmokeCheck]:
    """Parses the ``SMOKE_CHECKS`` JSON; a ValueError names what is wrong (not the values)."""
    try:
        raw = parse_json(text)
    except MalformedJson as error:
        raise ValueError(f"{CHECKS_ENV} is not valid JSON") from error
    if not isinstance(raw, list):
        raise ValueError(f"{CHECKS_ENV} must be a JSON list of checks")
    checks: list[SmokeCheck] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValueError(f"check {index} must be a JSON object")
        path = item.get("path")
        method = str(item.get("method", "GET")).upper()
        status = item.get("expected_status", 200)
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"check {index}: path must be a string starting with '/'")
        if method not in _METHODS:
            raise ValueError(f"check {index}: unsupported method {method}")
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"check {index}: expected_status must be an HTTP status")
        headers = item.get("headers")
        query = item.get("query")
        headers = {} if headers is None else headers
        query = {} if query is None else query
        if not isinstance(headers, dict) or not isinstance(query, dict):
            raise ValueError(f"check {index}: headers and query must be JSON objects")
        checks.append(
            SmokeCheck(
                name=str(item.get("name") or f"{method} {path}"),
                path=path,
                method=method,
                body=item.get("body"),
                headers={str(k): str(v) for k, v in headers.items()},
                query={str(k): str(v) for k, v in query.items()},
                expected_status=status,
                expected_body=item.get("expected_body"),
            )
        )
    return checks


def proxy_event(check: SmokeCheck) -> dict[str, Any]:
    """The API Gateway REST proxy event a check sends (the shape the API delivers)."""
    request_id = f"smoke-{uuid.uuid4()}"
    headers = {"Content-Type": "application/json", "User-Agent": "smoke-check", **check.headers}
    return {
        "resource": "/{proxy+}",
        "path": check.path,
        "httpMethod": check.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": dict(check.query) or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in check.query.items()} or None,
        "pathParameters": {"proxy": check.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": check.method,
            "path": check.path,
            "stage": "smoke-check",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "smoke-check"},
        },
        "body": None if check.body is None else json.dumps(check.body),
        "isBase64Encoded": False,
    }


def is_subset(expected: Any, actual: Any) -> bool:
    """True when every key of ``expected`` (recursively) is in ``actual`` with an equal value."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    return bool(expected == actual) and type(expected) is type(actual)


def _evaluate(check: SmokeCheck, invoke: Invoker) -> CheckResult:
    try:
        response = invoke(proxy_event(check))
    except InvocationError as error:
        return CheckResult(check.name, False, f"invocation failed: {error}")
    except Exception as error:
        return CheckResult(check.name, False, f"invocation failed: {type(error).__name__}")
    status = response.get("statusCode")
    if status != check.expected_status:
        return CheckResult(
            check.name, False, f"status {status}, expected {check.expected_status}", None
        )
    if check.expected_body is not None:
        try:
            body = parse_json(response.get("body") or "null")
        except (TypeError, MalformedJson):
            return CheckResult(check.name, False, "response body is not JSON", status)
        if not is_subset(check.expected_body, body):
            return CheckResult(check.name, False, "response body does not match", status)
    return CheckResult(check.name, True, "passed", status)


def run_smoke_checks(
    checks: Sequence[SmokeCheck], invoke: Invoker, timeout_seconds: float
) -> list[CheckResult]:
    """Runs every check at once; one not finished within ``timeout_seconds`` fails."""
    if not checks:
        return []
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="smoke-check")
    try:
        futures: list[Future[CheckResult]] = [
            executor.submit(_evaluate, check, invoke) for check in checks
        ]
        wait(futures, timeout=timeout_seconds, return_when=ALL_COMPLETED)
        results: list[CheckResult] = []
        for check, future in zip(checks, futures, strict=True):
            if future.done():
                results.append(future.result())
            else:
                results.append(
                    CheckResult(check.name, False, f"timed out after {timeout_seconds:g} s")
                )
        return results
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


class LambdaInvoker:
    """Invokes one function version (qualified ARN) synchronously with a proxy event."""

    def __init__(self, function_arn: str, client: Any) -> None:
        self.function_arn = function_arn
        self._client = client

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            response = self._client.invoke(
                FunctionName=self.function_arn,
                InvocationType="RequestResponse",
                Payload=json.dumps(event).encode(),
            )
        except Exception as error:
            raise InvocationError(type(error).__name__) from error
        if response.get("FunctionError"):
            raise InvocationError(f"function error ({response['FunctionError']})")
        try:
            payload = parse_json(response["Payload"].read() or b"null")
        except (KeyError, MalformedJson) as error:
            raise InvocationError("response payload is not JSON") from error
        if not isinstance(payload, Mapping):
            raise InvocationError("response is not an API Gateway proxy response")
        return payload


class CodeDeployReporter:
    """Reports through ``codedeploy:PutLifecycleEventHookExecutionStatus``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __call__(self, deployment_id: str, execution_id: str, status: HookStatus) -> None:
        self._client.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id,
            lifecycleEventHookExecutionId=execution_id,
            status=status,
        )


def run_hook(
    event: Mapping[str, Any],
    *,
    load_checks: Callable[[], Sequence[SmokeCheck]],
    invoke: Invoker | None,
    report: StatusReporter,
    timeout_seconds: float,
) -> HookStatus:
    """Runs the checks for one CodeDeploy hook event and reports exactly one status.

    Any problem before or while checking (configuration, no target, a check raising) reports
    ``Failed``. Raises only when the event has no ids to report against, or the report
    itself fails (Lambda then retries the hook event).
    """
    deployment_id = event.get("DeploymentId")
    execution_id = event.get("LifecycleEventHookExecutionId")
    if not isinstance(deployment_id, str) or not isinstance(execution_id, str):
        raise ValueError("not a CodeDeploy lifecycle hook event (no DeploymentId)")
    status: HookStatus = "Failed"
    try:
        checks = load_checks()
        if invoke is None:
            logger.error(
                "No target function version to check", extra={"deploymentId": deployment_id}
            )
        else:
            results = run_smoke_checks(checks, invoke, timeout_seconds)
            for result in results:
                logger.info(
                    "Smoke check %s",
                    "passed" if result.passed else "failed",
                    extra={
                        "deploymentId": deployment_id,
                        "check": result.name,
                        "reason": result.reason,
                        "statusCode": result.status,
                    },
                )
            status = "Succeeded" if all(result.passed for result in results) else "Failed"
    except Exception as error:
        logger.error(
            "Smoke checks could not run",
            extra={"deploymentId": deployment_id, "errorType": type(error).__name__},
        )
        status = "Failed"
    report(deployment_id, execution_id, status)
    logger.info("Hook status reported", extra={"deploymentId": deployment_id, "status": status})
    return status


def timeout_from_env() -> float:
    """The per-check timeout from ``SMOKE_CHECK_TIMEOUT_SECONDS`` (10 s when unset or bad)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_SECONDS))
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS
    return value if value > 0 else DEFAULT_TIMEOUT_SECONDS
