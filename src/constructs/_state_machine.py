"""The state machine building block: its own log group, X-Ray tracing, a timeout, a key."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from serverless_patterns.constructs import _encryption
from serverless_patterns.constructs._nag import acknowledge, acknowledge_compliance

#: Why the inline policy of a role the library creates for one state machine or rule is right.
OWN_ROLE_INLINE_POLICY = (
    "The role belongs to this one state machine (or rule) and its inline policy lists only its "
    "grants, each on named resources; a managed policy is meant to be shared and could be "
    "attached to other principals."
)


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
    that customer-managed key ("Data at rest encryption in Step Functions"); the key policy
    gets the CloudWatch Logs statement (``_encryption.log_group``). The role is the one CDK
    derives from the definition (only the actions its tasks need); the log delivery and X-Ray
    statements it adds have no resource-level permissions and are acknowledged one part at a
    time.
    """
    log_group = _encryption.log_group(
        scope, f"{construct_id}Logs", retention=log_retention, encryption_key=encryption_key
    )
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
    _depend_on_policy_only(state_machine)
    acknowledge_compliance(state_machine.role, "IAMNoInlinePolicy", OWN_ROLE_INLINE_POLICY)
    acknowledge(
        state_machine.role,
        "AwsSolutions-IAM5[Resource::*]",
        "CloudWatch Logs log delivery actions and X-Ray PutTraceSegments support no "
        "resource-level permissions (Step Functions guide: IAM policies for logging to "
        "CloudWatch Logs; X-Ray tracing); the service requires Resource '*'.",
    )
    return state_machine, log_group


def _depend_on_policy_only(state_machine: sfn.StateMachine) -> None:
    """Renders ``DependsOn`` as the role's policy only.

    aws-cdk-lib makes the state machine depend on its role and on the role's policy; the role
    dependency repeats the ``Fn::GetAtt`` of ``RoleArn`` (cfn-lint W3005). The policy one is
    kept: Step Functions checks the log delivery permissions when it creates the state machine.
    """
    resource = state_machine.node.default_child
    policy = state_machine.role.node.try_find_child("DefaultPolicy")
    if not isinstance(resource, CfnResource) or policy is None:
        return
    policy_resource = policy.node.default_child
    assert isinstance(policy_resource, CfnResource)
    resource.add_override("DependsOn", [Stack.of(policy).get_logical_id(policy_resource)])
