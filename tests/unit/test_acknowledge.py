"""The public ``acknowledge`` helper on a user's own function next to ours."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from cdk_nag import ServerlessChecks

from serverless_patterns.checks import acknowledge
from serverless_patterns.constructs import _nag
from tests.conftest import TEST_ENV, nag_findings, new_app

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def user_function() -> tuple[Stack, lambda_.Function]:
    stack = Stack(new_app(), "Test", env=TEST_ENV)
    function = lambda_.Function(
        stack, "Mine", code=CODE, handler="index.handler", runtime=lambda_.Runtime.PYTHON_3_14
    )
    return stack, function


def dlq_findings(stack: Stack) -> list[str]:
    return [f for f in nag_findings(ServerlessChecks(), stack) if "Serverless-LambdaDLQ" in f]


def test_a_user_function_is_flagged_without_acknowledgment() -> None:
    stack, _ = user_function()
    assert dlq_findings(stack) == ["Serverless-LambdaDLQ at Test/Mine/Resource"]


def test_acknowledged_finding_is_gone_and_only_that_one() -> None:
    stack, function = user_function()
    before = nag_findings(ServerlessChecks(), stack)
    acknowledge(function, "Serverless-LambdaDLQ", "Invoked synchronously by API Gateway only.")
    after = nag_findings(ServerlessChecks(), stack)
    assert dlq_findings(stack) == []
    assert sorted(after) == sorted(f for f in before if "Serverless-LambdaDLQ" not in f)


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_empty_reason_raises_naming_the_path(reason: str) -> None:
    _, function = user_function()
    with pytest.raises(ValueError, match=r"^Test/Mine: acknowledging 'Serverless-LambdaDLQ' needs"):
        acknowledge(function, "Serverless-LambdaDLQ", reason)


def test_the_public_helper_is_the_library_one() -> None:
    assert acknowledge is _nag.acknowledge
