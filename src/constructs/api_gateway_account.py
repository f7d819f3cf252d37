"""API Gateway's account-level CloudWatch Logs role: one per app (or Stage) and environment.

A REST API stage that writes access logs can be created only once the account has a CloudWatch
Logs role ARN set for API Gateway in that Region ("Set up CloudWatch logging for REST APIs in
API Gateway", section "Permissions for CloudWatch logging"; in a fresh account or Region the
stage fails to create). The setting is the ``AWS::ApiGateway::Account`` resource, of which the
CloudFormation page says to have only one per account and Region, to avoid overwriting other
roles; deleting the stack that holds it leaves API Gateway using the role it set.

aws-cdk-lib's ``RestApi(cloud_watch_role=True)`` defines a role and an Account per API, so two
APIs in one app overwrite each other's setting and deleting either stack deletes the role the
other APIs still log with. ``ApiGatewayCloudWatchRole.of(scope)`` defines them once per app and
environment instead, in the stack of the first API that needs them, with the role retained.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack, Stage
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam

from constructs import Construct, IConstruct
from serverless_patterns.constructs._nag import acknowledge

#: The AWS managed policy the API Gateway documentation prescribes for the role.
PUSH_TO_CLOUDWATCH_LOGS_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
#: The construct id of the singleton, a direct child of the stack that holds it.
SINGLETON_ID = "ApiGatewayCloudWatchRole"


class ApiGatewayCloudWatchRole(Construct):
    """Defines the IAM role API Gateway writes CloudWatch logs with, and sets it for the account.

    It creates a role trusted by ``apigateway.amazonaws.com`` with the AWS managed policy
    ``AmazonAPIGatewayPushToCloudWatchLogs`` (retained when its stack is deleted, so APIs of
    other stacks keep logging), and the ``AWS::ApiGateway::Account`` resource that sets it for
    the stack's account and Region. Use ``ApiGatewayCloudWatchRole.of(scope)`` to get the one
    of your app and environment; CanaryApi and WebhookReceiver do so unless given
    ``cloud_watch_role=False``.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        #: The role API Gateway assumes to write execution and access logs.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH_LOGS_POLICY)
            ],
            description="API Gateway's account-level role for writing logs to CloudWatch Logs.",
        )
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            self.role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            f"{PUSH_TO_CLOUDWATCH_LOGS_POLICY}]",
            "The API Gateway guide (Permissions for CloudWatch logging) prescribes this AWS "
            "managed policy for the account-level role; API Gateway creates the log groups it "
            "writes, whose names it chooses.",
        )
        #: The account setting (``AWS::ApiGateway::Account``) pointing API Gateway at the role.
        self.account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)

    @classmethod
    def of(cls, scope: IConstruct) -> ApiGatewayCloudWatchRole:
        """The role of ``scope``'s app (or Stage) and environment, defined on first use.

        The first call for an environment defines it in ``scope``'s top-level stack with the
        id ``ApiGatewayCloudWatchRole``; later calls, from any stack of the same environment,
        return that one. Environment-agnostic stacks share one. Stacks of different Stages
        get their own, because a stack cannot depend on a stack of another Stage.
        """
        stack = _top_level_stack(scope)
        existing = find_cloud_watch_role(Stage.of(stack) or stack.node.root, stack.environment)
        return existing or cls(stack, SINGLETON_ID)


def find_cloud_watch_role(root: IConstruct, environment: str) -> ApiGatewayCloudWatchRole | None:
    """The ``ApiGatewayCloudWatchRole`` a top-level stack below ``root`` (not inside a nested
    Stage) holds for ``environment`` (``aws://account/region``), if any."""
    pending = list(root.node.children)
    while pending:
        child = pending.pop()
        if isinstance(child, Stack):
            found = child.node.try_find_child(SINGLETON_ID)
            if child.environment == environment and isinstance(found, ApiGatewayCloudWatchRole):
                return found
        elif not isinstance(child, Stage):
            pending.extend(child.node.children)
    return None


def depend_on_cloud_watch_role(
    stage: apigw.Stage, *, enabled: bool
) -> ApiGatewayCloudWatchRole | None:
    """Makes ``stage`` (it writes access logs) come after its environment's account-level role.

    Across stacks CDK turns this into a dependency of the stage's stack on the role's stack.
    Returns the role, or None when ``enabled`` is False (the account already has one).
    """
    if not enabled:
        return None
    role = ApiGatewayCloudWatchRole.of(stage)
    stage.node.add_dependency(role.account)
    return role


def _top_level_stack(scope: IConstruct) -> Stack:
    stack = Stack.of(scope)
    while stack.nested_stack_parent is not None:
        stack = stack.nested_stack_parent
    return stack
