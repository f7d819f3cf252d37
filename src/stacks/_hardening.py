"""What the hardened configuration of the reference app adds to a stack: one customer-managed
key for everything the stack stores or logs, and a rate-limiting web ACL for its APIs."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Names, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._encryption import allow_cloudwatch_logs, customer_managed_key
from serverless_patterns.constructs._nag import (
    HIPAA,
    NIST,
    PITR_INSTEAD_OF_BACKUP_PLAN,
    acknowledge_compliance,
)

#: Requests one client IP may make in 5 minutes before the web ACL blocks it.
RATE_LIMIT_PER_5_MINUTES = 1000


def stack_key(stack: Stack, hardened: bool) -> kms.Key | None:
    """A customer-managed key (id ``Key``) shared by the stack's constructs, when hardened."""
    if not hardened:
        return None
    return customer_managed_key(
        stack, "Key", description="Encrypts the data and logs of this reference stack."
    )


def rate_limited_web_acl(
    scope: Construct, construct_id: str, key: kms.IKey | None
) -> wafv2.CfnWebACL:
    """Defines a regional web ACL that blocks a client IP above ``RATE_LIMIT_PER_5_MINUTES``
    requests in 5 minutes ("Using rate-based rule statements in AWS WAF", AWS WAF Developer
    Guide) and allows the rest: floods are dropped before a function runs. Its requests are
    logged to a log group named ``aws-waf-logs-<unique id>`` encrypted with ``key`` (the
    prefix AWS WAF requires, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log
    group"); the destination is the group's ARN without the ``:*`` suffix."""

    def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        )

    acl = wafv2.CfnWebACL(
        scope,
        construct_id,
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=visibility(construct_id),
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=RATE_LIMIT_PER_5_MINUTES
                    )
                ),
                visibility_config=visibility(f"{construct_id}RateLimitPerIp"),
            )
        ],
    )
    name = f"aws-waf-logs-{Names.unique_id(acl)}"
    if key is not None:
        allow_cloudwatch_logs(key)
    group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=name,
        retention=_defaults.LOG_RETENTION,
        removal_policy=RemovalPolicy.RETAIN,
        encryption_key=key,
    )
    logging = wafv2.CfnLoggingConfiguration(
        scope,
        f"{construct_id}Logging",
        resource_arn=acl.attr_arn,
        log_destination_configs=[
            Stack.of(scope).format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        ],
    )
    logging.node.add_dependency(group)
    return acl


def encrypted_table(
    scope: Construct, construct_id: str, key: kms.IKey | None, **props: Any
) -> dynamodb.Table:
    """Defines an on-demand table of a reference stack, encrypted with ``key`` (``aws/dynamodb``
    without one), with point-in-time recovery (acknowledged as such under NIST and HIPAA's
    backup-plan rule), retained, keyed on ``props``."""
    table = dynamodb.Table(
        scope,
        construct_id,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED
        if key is None
        else dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.RETAIN,
        **props,
    )
    acknowledge_compliance(
        table, "DynamoDBInBackupPlan", PITR_INSTEAD_OF_BACKUP_PLAN, (NIST, HIPAA)
    )
    return table
