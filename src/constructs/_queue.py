"""Encrypted, TLS-only SQS queues with a dead-letter queue: the queue building block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from constructs import Construct, IConstruct
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


#: What a producer needs on a queue's customer-managed key: "Key management" (Amazon SQS
#: Developer Guide, "Configure KMS permissions for producers"): kms:GenerateDataKey and
#: kms:Decrypt.
SEND_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def grant_send(queue: sqs.IQueue, grantee: iam.IGrantable) -> iam.Grant:
    """Grants ``grantee`` sending to ``queue`` (``sqs:SendMessage``, ``GetQueueAttributes``,
    ``GetQueueUrl``) and exactly ``SEND_KEY_ACTIONS`` on its customer-managed key, if any
    (``IQueue.grant_send_messages`` adds wildcard key actions as well)."""
    grant = iam.Grant.add_to_principal_or_resource(
        grantee=grantee,
        actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        resource_arns=[queue.queue_arn],
        resource=queue,
    )
    key = queue.encryption_master_key
    if key is not None:
        grant = grant.combine(key.grant(grantee, *SEND_KEY_ACTIONS))
    return grant


def acknowledge_library_send_grant(role: IConstruct | None, queue: sqs.IQueue) -> None:
    """Acknowledges the wildcard key actions of aws-cdk-lib's own send grant (an on-failure
    destination binds with ``grant_send_messages``) on ``role``, when ``queue`` has a key."""
    if role is None or queue.encryption_master_key is None:
        return
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Action::{action}]",
            "aws-cdk-lib grants sending to the on-failure queue with grant_send_messages, whose "
            "key actions end in '*'; they apply to the queue's one key (the key ARN is the "
            "statement's resource), not to any other key.",
        )
