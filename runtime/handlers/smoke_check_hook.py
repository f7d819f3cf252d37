"""CodeDeploy pre-/post-traffic hook of CanaryApi: smoke-checks the new function version.

Configuration comes from the environment the construct sets: ``SMOKE_CHECKS`` (JSON list),
``TARGET_FUNCTION_ARN`` (the qualified ARN of the version under test) and
``SMOKE_CHECK_TIMEOUT_SECONDS``. Exactly one status is reported to CodeDeploy per event; see
``serverless_patterns.runtime.api.smoke_checks``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

from serverless_patterns.runtime.api.smoke_checks import (
    CHECKS_ENV,
    TARGET_ENV,
    CodeDeployReporter,
    HookStatus,
    LambdaInvoker,
    SmokeCheck,
    checks_from_json,
    run_hook,
    timeout_from_env,
)


def _load_checks() -> list[SmokeCheck]:
    return checks_from_json(os.environ.get(CHECKS_ENV, "[]"))


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, str]:
    """Runs the smoke checks and reports Succeeded or Failed to CodeDeploy."""
    timeout = timeout_from_env()
    target = os.environ.get(TARGET_ENV)
    invoker = None
    if target:
        # One attempt per check: a retried invoke would run the request twice.
        lambda_client = boto3.client(
            "lambda",
            config=Config(
                read_timeout=timeout + 1, connect_timeout=5, retries={"total_max_attempts": 1}
            ),
        )
        invoker = LambdaInvoker(target, lambda_client)
    reporter = CodeDeployReporter(boto3.client("codedeploy"))
    status: HookStatus = run_hook(
        event,
        load_checks=_load_checks,
        invoke=invoker,
        report=reporter,
        timeout_seconds=timeout,
    )
    return {"status": status}
