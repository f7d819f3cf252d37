"""Encrypted, TLS-only SQS queues with a dead-letter queue: the queue building block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._encryption import queue_encryption
from serverless_patterns.constructs._nag import acknowledge
from serverless_patterns.constructs._validation import check_prop_keys


def _check_encrypted(scope: Construct, construct_id: str, props: Mapping[str, Any]) -> None:
    if props.get("encryption") == sqs.QueueEncryption.UNENCRYPTED:
        raise ValueError(
            f"{scope.node.path}/{construct_id}: queues are encrypted at rest; "
            "encryption=QueueEncryption.UNENCRYPTED is not allowed"
        )


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    fifo: bool,
    props: Mapping[str, Any] | None = None,
    dead_letter_of: str = "the source queue",
    props_name: str = "dead_letter_queue_props",
    encryption_key: kms.IKey | None = None,
) -> sqs.Queue:
    """Defines a dead-letter queue: encrypted with ``encryption_key`` (SQS-managed encryption
    without one), TLS only, 14-day retention.

    ``props`` (``aws_sqs.Queue`` keyword arguments) override the defaults; ``fifo`` and
    ``enforce_ssl`` are always applied. ``dead_letter_of`` names what fails over to the queue,
    in the reason its cdk-nag acknowledgments give; ``props_name`` names ``props`` in errors.
    """
    check_prop_keys(f"{scope.node.path}/{construct_id}", props_name, props, sqs.Queue)
    merged = _defaults.merge_props(
        {**queue_encryption(encryption_key), "retention_period": _defaults.dlq_retention()},
        props,
        {"enforce_ssl": True, "fifo": fifo or None},
    )
    _check_encrypted(scope, construct_id, merged)
    queue = sqs.Queue(scope, construct_id, **merged)
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself the dead-letter queue; its messages are alarmed on and "
        "redriven, not dead-lettered again.",
    )
    acknowledge(
        queue,
        "Serverless-SQSRedrivePolicy",
        f"This queue is itself the dead-letter queue of {dead_letter_of}.",
    )
    return queue


def source_queue(
    scope: Construct,
    construct_id: str,
    *,
    fifo: bool,
    visibility_timeout: Duration,
    dead_letter: sqs.IQueue,
    max_receive_count: int,
    props: Mapping[str, Any] | None = None,
    props_name: str = "queue_props",
    encryption_key: kms.IKey | None = None,
) -> sqs.Queue:
    """Defines a source queue: encrypted with ``encryption_key`` (SQS-managed encryption
    without one), TLS only, redrive to ``dead_letter``.

    ``props`` (``aws_sqs.Queue`` keyword arguments) override the defaults; the visibility
    timeout, the dead-letter queue, ``fifo`` and ``enforce_ssl`` are the pattern's to set.
    ``props_name`` names ``props`` in errors.
    """
    check_prop_keys(f"{scope.node.path}/{construct_id}", props_name, props, sqs.Queue)
    merged = _defaults.merge_props(
        queue_encryption(encryption_key),
        props,
        {
            "enforce_ssl": True,
            "fifo": fifo or None,
            "visibility_timeout": visibility_timeout,
            "dead_letter_queue": sqs.DeadLetterQueue(
                queue=dead_letter, max_receive_count=max_receive_count
            ),
        },
    )
    _check_encrypted(scope, construct_id, merged)
    return sqs.Queue(scope, construct_id, **merged)
