"""Reference stacks, one per pattern; ``build_reference_app`` is what ``app.py`` runs."""

from __future__ import annotations

from aws_cdk import Stack

from constructs import Construct
from serverless_patterns.stacks.idempotent_consumer_stack import IdempotentConsumerStack
from serverless_patterns.stacks.queue_worker_stack import QueueWorkerStack

STACK_PREFIX = "ServerlessPatterns"


def build_reference_app(scope: Construct) -> list[Stack]:
    """Adds every pattern's reference stack to ``scope``; environment-agnostic."""
    return [
        QueueWorkerStack(
            scope,
            f"{STACK_PREFIX}-QueueWorker",
            description="Pattern 1: QueueWorker (SQS to Lambda)",
        ),
        IdempotentConsumerStack(
            scope,
            f"{STACK_PREFIX}-IdempotentConsumer",
            description="Pattern 2: IdempotentConsumer (QueueWorkers sharing a DynamoDB "
            "idempotency table)",
        ),
    ]


__all__ = ["STACK_PREFIX", "IdempotentConsumerStack", "QueueWorkerStack", "build_reference_app"]
