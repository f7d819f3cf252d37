"""The state machine building block: its own log group, X-Ray tracing, a timeout, a key."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from serverless_patterns.constructs._nag import acknowledge


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    definition: sfn.IChainable,
    state_machine_type: sfn.StateMachineType,
    timeout: Duration,
    log_level: sfn.LogLevel,
    include_execution_data: bool,
    log_retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
    state_machine_name: str | None = None,
) -> tuple[sfn.StateMachine, logs.LogGroup]:
    """Defines a state machine logging to its own log group, with X-Ray tracing and a timeout.

    The log group (``<id>Logs``) is kept for ``log_retention`` and retained when the stack is
    deleted. With ``encryption_key`` the execution data and the log group are encrypted with
    that customer-managed key ("Data at rest encryption in Step Functions"): the key policy lets
    CloudWatch Logs use it for this log group. The role is the one CDK derives from the
    definition (only the actions its tasks need); the log delivery and X-Ray statements it adds
    have no resource-level permissions and are acknowledged one part at a time.
    """
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=log_retention,
        removal_policy=RemovalPolicy.RETAIN,
        encryption_key=encryption_key,
    )
    if encryption_key is not None:
        _allow_logs(encryption_key, log_group)
    state_machine = sfn.StateMachine(
        scope,
        construct_id,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=state_machine_type,
        state_machine_name=state_machine_name,
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=log_level, include_execution_data=include_execution_data
        ),
        encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(encryption_key)
        if encryption_key is not None
        else None,
    )
    acknowledge(
        state_machine.role,
        "AwsSolutions-IAM5[Resource::*]",
        "CloudWatch Logs log delivery actions and X-Ray PutTraceSegments support no "
        "resource-level permissions (Step Functions guide: IAM policies for logging to "
        "CloudWatch Logs; X-Ray tracing); the service requires Resource '*'.",
    )
    return state_machine, log_group


def _allow_logs(key: kms.IKey, log_group: logs.LogGroup) -> None:
    """Lets CloudWatch Logs encrypt this log group with ``key`` ("Encrypt log data in CloudWatch
    Logs using AWS Key Management Service": the key policy names the logs service principal of
    the Region, limited by the encryption context of the log group's ARN)."""
    stack = Stack.of(log_group)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
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
