"""Customer-managed key plumbing: which settings a resource takes with a key, and the key
policy statement CloudWatch Logs needs before it can encrypt a log group with it."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from constructs import Construct

#: Key actions CloudWatch Logs needs on a key that encrypts a log group (CloudWatch Logs User
#: Guide, "Encrypt log data in CloudWatch Logs using AWS Key Management Service").
LOGS_KEY_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)
_LOGS_SID = "AllowCloudWatchLogsOfThisAccount"


def allow_cloudwatch_logs(key: kms.IKey) -> None:
    """Lets CloudWatch Logs of the key's Region use ``key`` for this account's log groups.

    Follows "Encrypt log data in CloudWatch Logs using AWS Key Management Service" (step 2):
    the principal ``logs.<region>.amazonaws.com``, limited by the encryption context
    ``kms:EncryptionContext:aws:logs:arn`` to log groups of this account and Region. The
    statement cannot name one log group: the group refers to the key, so the key policy
    naming the group would be a circular dependency. Added once per key; a key imported into
    the app has no policy here to change (its owner must add the statement).
    """
    if not isinstance(key, kms.Key):
        return
    if key.node.try_find_child(_LOGS_SID) is not None:
        return
    Construct(key, _LOGS_SID)  # marks the key: statement added
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=_LOGS_SID,
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(LOGS_KEY_ACTIONS),
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )


def log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
) -> logs.LogGroup:
    """Defines a retained log group kept for ``retention``, encrypted with ``encryption_key``
    when one is given (CloudWatch Logs' own encryption otherwise)."""
    if encryption_key is not None:
        allow_cloudwatch_logs(encryption_key)
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention,
        removal_policy=RemovalPolicy.RETAIN,
        encryption_key=encryption_key,
    )


def queue_encryption(encryption_key: kms.IKey | None) -> dict[str, Any]:
    """``aws_sqs.Queue`` settings: KMS with ``encryption_key``, SQS-managed without one."""
    if encryption_key is None:
        return {"encryption": sqs.QueueEncryption.SQS_MANAGED}
    return {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": encryption_key}
