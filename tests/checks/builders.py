"""Small compliant building blocks for rule tests: each test breaks one thing on purpose."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from serverless_patterns.checks import ServerlessPatternsChecks
from tests.conftest import nag_findings


def function(stack: Stack, construct_id: str = "Function", **props: Any) -> lambda_.Function:
    """A function every rule of the pack accepts: newest Python, arm64, a log group kept a
    month; ``props`` override any of it."""
    defaults: dict[str, Any] = {
        "runtime": lambda_.Runtime.PYTHON_3_14,
        "architecture": lambda_.Architecture.ARM_64,
        "handler": "index.handler",
        "code": lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        "timeout": Duration.seconds(10),
    }
    merged = {**defaults, **props}
    if "log_group" not in merged and "log_retention" not in merged:
        merged["log_group"] = logs.LogGroup(
            stack, f"{construct_id}Logs", retention=logs.RetentionDays.ONE_MONTH
        )
    return lambda_.Function(stack, construct_id, **merged)


def queue_with_dlq(
    stack: Stack, construct_id: str = "Queue", *, max_receive_count: int = 5, **props: Any
) -> sqs.Queue:
    """A queue with a dead-letter queue; ``props`` are more ``sqs.Queue`` arguments."""
    dead_letter = sqs.Queue(stack, f"{construct_id}Dlq")
    return sqs.Queue(
        stack,
        construct_id,
        dead_letter_queue=sqs.DeadLetterQueue(
            queue=dead_letter, max_receive_count=max_receive_count
        ),
        **props,
    )


def findings(stack: Stack, rule: str, **options: Any) -> list[str]:
    """Findings of one rule (``ServerlessPatterns-<rule>``, with or without ``[part]``)."""
    prefix = f"ServerlessPatterns-{rule}"
    return [
        f
        for f in nag_findings(ServerlessPatternsChecks(**options), stack)
        if f.startswith((f"{prefix} ", f"{prefix}["))
    ]
