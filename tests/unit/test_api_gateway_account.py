"""ApiGatewayCloudWatchRole: the account-level CloudWatch Logs role API stages need, once per
app and environment.

AWS pages relied on:
- "Set up CloudWatch logging for REST APIs in API Gateway", section "Permissions for
  CloudWatch logging": logging needs a role trusted by apigateway.amazonaws.com with the
  AmazonAPIGatewayPushToCloudWatchLogs managed policy, set as the account's CloudWatch log
  role ARN; a stage with access logs cannot be created in an account or Region without it.
- CloudFormation "AWS::ApiGateway::Account": have only one per account and Region, to avoid
  overwriting other roles; after the stack holding it is deleted API Gateway still assumes
  the role it set (so the role is retained, or the other stacks' APIs lose their logs).
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, Stage
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from constructs import Construct
from serverless_patterns.constructs import ApiGatewayCloudWatchRole, CanaryApi, WebhookReceiver
from tests.conftest import TEST_ENV, nag_findings, new_app
from tests.unit.templates import logical_id, only

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
MANAGED_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def canary(stack: Stack, **kwargs: Any) -> CanaryApi:
    return CanaryApi(stack, "Api", code=CODE, handler="index.handler", **kwargs)


def webhooks(stack: Stack, **kwargs: Any) -> WebhookReceiver:
    return WebhookReceiver(stack, "Receiver", code=CODE, **kwargs)


def count(stack: Stack, resource_type: str) -> int:
    return len(Template.from_stack(stack).find_resources(resource_type))


def api_gateway_roles(stack: Stack) -> dict[str, Any]:
    return {
        key: role
        for key, role in Template.from_stack(stack).find_resources("AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "apigateway.amazonaws.com"}
    }


def stage_depends_on(stack: Stack, stage: Any) -> list[str]:
    [stage_resource] = [
        resource
        for key, resource in Template.from_stack(stack)
        .find_resources("AWS::ApiGateway::Stage")
        .items()
        if key == logical_id(stack, stage)
    ]
    return list(stage_resource.get("DependsOn", []))


def test_the_role_trusts_api_gateway_has_the_documented_policy_and_is_retained(
    stack: Stack,
) -> None:
    created = ApiGatewayCloudWatchRole.of(stack)
    template = Template.from_stack(stack)
    role = only(template, "AWS::IAM::Role")
    assert role["DeletionPolicy"] == "Retain"
    assert role["UpdateReplacePolicy"] == "Retain"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
        }
    ]
    [policy_arn] = role["Properties"]["ManagedPolicyArns"]
    assert policy_arn["Fn::Join"][1][-1] == f":iam::aws:policy/{MANAGED_POLICY}"
    account = only(template, "AWS::ApiGateway::Account")
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": [logical_id(stack, created.role), "Arn"]
    }


def test_of_returns_the_one_role_of_the_environment(stack: Stack) -> None:
    first = ApiGatewayCloudWatchRole.of(stack)
    assert ApiGatewayCloudWatchRole.of(stack) is first
    assert first.node.path == "Test/ApiGatewayCloudWatchRole"


def test_stage_in_the_same_stack_depends_on_the_account(stack: Stack) -> None:
    api = canary(stack)
    receiver = webhooks(stack)
    assert api.cloud_watch_role is not None
    assert receiver.cloud_watch_role is api.cloud_watch_role
    assert count(stack, "AWS::ApiGateway::Account") == 1
    assert len(api_gateway_roles(stack)) == 1
    account_id = str(stack.resolve(api.cloud_watch_role.account.logical_id))
    assert account_id in stage_depends_on(stack, api.api.deployment_stage)
    assert account_id in stage_depends_on(stack, receiver.api.deployment_stage)


def test_two_apis_in_two_stacks_share_one_account_and_the_second_stack_depends_on_the_first() -> (
    None
):
    app = new_app()
    first = Stack(app, "First", env=TEST_ENV)
    second = Stack(app, "Second", env=TEST_ENV)
    api = canary(first)
    receiver = webhooks(second)
    assert receiver.cloud_watch_role is api.cloud_watch_role
    assert count(first, "AWS::ApiGateway::Account") == 1
    assert len(api_gateway_roles(first)) == 1
    assert count(second, "AWS::ApiGateway::Account") == 0
    assert api_gateway_roles(second) == {}
    # Across stacks the construct dependency becomes a stack dependency, not a DependsOn.
    assert stage_depends_on(second, receiver.api.deployment_stage) == []
    assert first in second.dependencies
    assert second not in first.dependencies
    app.synth()  # no cycle


def test_cloud_watch_role_false_creates_nothing_and_adds_no_dependency() -> None:
    app = new_app()
    first = Stack(app, "First", env=TEST_ENV)
    second = Stack(app, "Second", env=TEST_ENV)
    api = canary(first, cloud_watch_role=False)
    receiver = webhooks(second, cloud_watch_role=False)
    assert api.cloud_watch_role is None and receiver.cloud_watch_role is None
    for stack in (first, second):
        assert count(stack, "AWS::ApiGateway::Account") == 0
        assert api_gateway_roles(stack) == {}
    assert stage_depends_on(first, api.api.deployment_stage) == []
    assert first not in second.dependencies


def test_two_environments_get_one_each() -> None:
    app = new_app()
    ireland = Stack(app, "Ireland", env=TEST_ENV)
    virginia = Stack(app, "Virginia", env=Environment(account=TEST_ENV.account, region="us-east-1"))
    ireland_api = canary(ireland)
    virginia_api = canary(virginia)
    assert ireland_api.cloud_watch_role is not virginia_api.cloud_watch_role
    for stack in (ireland, virginia):
        assert count(stack, "AWS::ApiGateway::Account") == 1
        assert len(api_gateway_roles(stack)) == 1
    assert ireland not in virginia.dependencies and virginia not in ireland.dependencies


def test_environment_agnostic_stacks_share_one() -> None:
    app = new_app()
    first, second = Stack(app, "First"), Stack(app, "Second")
    assert canary(first).cloud_watch_role is webhooks(second).cloud_watch_role


def test_each_stage_of_an_app_gets_its_own() -> None:
    """A stack cannot depend on a stack of another Stage (another cloud assembly)."""
    app = new_app()
    beta = Stack(Stage(app, "Beta", env=TEST_ENV), "Api")
    prod = Stack(Stage(app, "Prod", env=TEST_ENV), "Api")
    assert canary(beta).cloud_watch_role is not canary(prod).cloud_watch_role
    app.synth()


def test_a_stack_grouped_under_a_plain_construct_is_found() -> None:
    app = App()
    group = Construct(app, "Group")
    first = Stack(group, "First", env=TEST_ENV)
    second = Stack(app, "Second", env=TEST_ENV)
    assert canary(first).cloud_watch_role is webhooks(second).cloud_watch_role


@pytest.mark.parametrize("pack_type", [AwsSolutionsChecks, ServerlessChecks])
def test_the_role_has_no_unacknowledged_nag_finding(stack: Stack, pack_type: type) -> None:
    ApiGatewayCloudWatchRole.of(stack)
    assert nag_findings(pack_type(stack), stack) == []
