"""Reference stacks, one per pattern; ``build_reference_app`` is what ``app.py`` runs."""

from __future__ import annotations

from aws_cdk import Stack

from constructs import Construct
from serverless_patterns.stacks.canary_api_stack import CanaryApiStack
from serverless_patterns.stacks.direct_api_stack import DirectApiStack
from serverless_patterns.stacks.event_bus_fan_out_stack import EventBusFanOutStack
from serverless_patterns.stacks.idempotent_consumer_stack import IdempotentConsumerStack
from serverless_patterns.stacks.queue_worker_stack import QueueWorkerStack
from serverless_patterns.stacks.stream_consumer_stack import StreamConsumerStack
from serverless_patterns.stacks.webhooks_stack import WebhooksStack
from serverless_patterns.stacks.workflow_stack import WorkflowStack

STACK_PREFIX = "ServerlessPatterns"


def build_reference_app(scope: Construct, *, hardened: bool = False) -> list[Stack]:
    """Adds every pattern's reference stack to ``scope``; environment-agnostic.

    :param hardened: the regulated configuration: each pattern stack encrypts everything it
        stores or logs with its own customer-managed key, and its APIs sit behind a
        rate-limiting web ACL (clean under the NIST 800-53 R5, HIPAA and PCI DSS packs).
        Default: - the library's defaults.
    """
    return [
        QueueWorkerStack(
            scope,
            f"{STACK_PREFIX}-QueueWorker",
            hardened=hardened,
            description="Pattern 1: QueueWorker (SQS to Lambda)",
        ),
        IdempotentConsumerStack(
            scope,
            f"{STACK_PREFIX}-IdempotentConsumer",
            hardened=hardened,
            description="Pattern 2: IdempotentConsumer (QueueWorkers sharing a DynamoDB "
            "idempotency table)",
        ),
        EventBusFanOutStack(
            scope,
            f"{STACK_PREFIX}-EventBusFanOut",
            hardened=hardened,
            description="Pattern 3: EventBusFanOut (an event bus fanning out to a buffered "
            "QueueWorker, a function and a topic, each with its own DLQ)",
        ),
        CanaryApiStack(
            scope,
            f"{STACK_PREFIX}-CanaryApi",
            hardened=hardened,
            description="Pattern 4: CanaryApi (a REST API whose function is released by "
            "CodeDeploy canary, smoke-checked and rolled back by alarms)",
        ),
        WebhooksStack(
            scope,
            f"{STACK_PREFIX}-Webhooks",
            hardened=hardened,
            description="Pattern 6: Webhooks (a receiver verifying Standard Webhooks signatures "
            "into a QueueWorker, and a sender signing and retrying deliveries)",
        ),
        StreamConsumerStack(
            scope,
            f"{STACK_PREFIX}-StreamConsumer",
            hardened=hardened,
            description="Pattern 7: StreamConsumer (Kinesis and DynamoDB Streams to Lambda with "
            "checkpoints, bisect, bounded retries, an on-failure queue and tumbling windows)",
        ),
        WorkflowStack(
            scope,
            f"{STACK_PREFIX}-Workflow",
            hardened=hardened,
            description="Pattern 8: Workflows (an order-review Step Functions workflow with "
            "direct SDK integrations, a human approval step and automatic redrive)",
        ),
        DirectApiStack(
            scope,
            f"{STACK_PREFIX}-DirectApi",
            hardened=hardened,
            description="Pattern 9: DirectApi (a REST API calling SQS, EventBridge, DynamoDB "
            "and an Express workflow directly, without a Lambda function)",
        ),
    ]


__all__ = [
    "STACK_PREFIX",
    "CanaryApiStack",
    "DirectApiStack",
    "EventBusFanOutStack",
    "IdempotentConsumerStack",
    "QueueWorkerStack",
    "StreamConsumerStack",
    "WebhooksStack",
    "WorkflowStack",
    "build_reference_app",
]
