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


#: The Sid the library gives the account statement of the key policies it writes.
ACCOUNT_STATEMENT_SID = "AccountRootEnablesIamPoliciesOfThisAccount"


def customer_managed_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """Defines a customer-managed key, rotated yearly, whose account statement says why it is
    there.

    The key policy keeps the statement giving the account root ``kms:*``: "Default key policy"
    (AWS KMS Developer Guide, "Allows access to the AWS account and enables IAM policies")
    explains that it is what lets IAM policies of this account use the key at all: every grant
    the patterns write on a role is an IAM policy, and without the statement those grants give
    nothing and the key can become unmanageable. The statement is named
    ``ACCOUNT_STATEMENT_SID`` so a reviewer reading the template sees that reason; service
    principals get their own scoped statements (see ``allow_cloudwatch_logs``).
    """
    key = kms.Key(scope, construct_id, enable_key_rotation=True, description=description)
    resource = key.node.default_child
    assert isinstance(resource, kms.CfnKey)
    # aws-cdk-lib adds the account statement first (feature flag
    # @aws-cdk/aws-kms:defaultKeyPolicies), before any statement of the caller.
    resource.add_property_override("KeyPolicy.Statement.0.Sid", ACCOUNT_STATEMENT_SID)
    return key
