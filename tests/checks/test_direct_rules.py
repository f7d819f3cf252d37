"""LambdaOnlyTransports: flagged, passing and not-applicable cases, through a pack holding only
this rule (it is not registered in ServerlessPatternsChecks yet); and silent on the library's
own functions in the reference app."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Fn, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from serverless_patterns.checks import ServerlessPatternsChecks
from serverless_patterns.checks.rules.direct import DIRECT_RULES
from tests.checks.builders import function
from tests.conftest import nag_findings

RULE = "ServerlessPatterns-LambdaOnlyTransports"


class _DirectRulesOnly(ServerlessPatternsChecks):
    def __init__(self) -> None:
        super().__init__()
        self._rules_by_type = {}
        for rule in DIRECT_RULES:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)


def findings(scope: Any) -> list[str]:
    return [f for f in nag_findings(_DirectRulesOnly(), scope) if f.startswith(RULE)]


def behind_rest_api(stack: Stack, fn: Any, *, alias: bool = False) -> None:
    api = apigw.RestApi(stack, "Api")
    target = fn.add_alias("live") if alias else fn
    api.root.add_method("POST", apigw.LambdaIntegration(target))


def test_function_behind_an_api_that_only_sends_to_a_queue_is_flagged(stack: Stack) -> None:
    fn = function(stack)
    sqs.Queue(stack, "Queue").grant_send_messages(fn)  # SendMessage + two reads
    behind_rest_api(stack, fn)
    assert findings(stack) == [f"{RULE} at Test/Function/Resource"]


@pytest.mark.parametrize("alias", [False, True])
def test_function_behind_an_api_putting_events_is_flagged_through_an_alias(
    stack: Stack, alias: bool
) -> None:
    fn = function(stack)
    events.EventBus(stack, "Bus").grant_put_events_to(fn)
    behind_rest_api(stack, fn, alias=alias)
    assert findings(stack) == [f"{RULE} at Test/Function/Resource"]


def test_function_behind_an_http_api_is_flagged(stack: Stack) -> None:
    from aws_cdk import aws_apigatewayv2 as apigwv2
    from aws_cdk import aws_apigatewayv2_integrations as integrations

    fn = function(stack)
    table = dynamodb.Table(
        stack, "T", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
    )
    table.grant(fn, "dynamodb:PutItem")
    http = apigwv2.HttpApi(stack, "Http")
    http.add_routes(path="/", integration=integrations.HttpLambdaIntegration("I", fn))
    assert findings(stack) == [f"{RULE} at Test/Function/Resource"]


def test_function_writing_to_two_apis_is_not_flagged(stack: Stack) -> None:
    fn = function(stack)
    sqs.Queue(stack, "Queue").grant_send_messages(fn)
    events.EventBus(stack, "Bus").grant_put_events_to(fn)
    behind_rest_api(stack, fn)
    assert findings(stack) == []


def test_function_without_an_api_is_not_flagged(stack: Stack) -> None:
    fn = function(stack)
    sqs.Queue(stack, "Queue").grant_send_messages(fn)
    assert findings(stack) == []


def test_reads_and_baseline_permissions_are_not_writes(stack: Stack) -> None:
    fn = function(stack)
    table = dynamodb.Table(
        stack, "T", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
    )
    table.grant_read_data(fn)
    fn.add_to_role_policy(
        iam.PolicyStatement(actions=["xray:PutTraceSegments", "logs:PutLogEvents"], resources=["*"])
    )
    behind_rest_api(stack, fn)
    assert findings(stack) == []


def test_a_wildcard_write_action_is_not_counted_as_one(stack: Stack) -> None:
    fn = function(stack)
    fn.add_to_role_policy(iam.PolicyStatement(actions=["sqs:*"], resources=["*"]))
    behind_rest_api(stack, fn)
    assert findings(stack) == []


def test_library_functions_of_the_reference_app_are_not_flagged() -> None:
    from serverless_patterns.stacks import build_reference_app
    from tests.conftest import cdk_context

    app = App(context=cdk_context())
    build_reference_app(app)
    assert findings(app) == []


def test_an_integration_uri_written_with_fn_sub_is_read(stack: Stack) -> None:
    """SAM writes the URI as ``Fn::Sub`` with ``${Function.Arn}``."""
    fn = function(stack)
    sqs.Queue(stack, "Queue").grant_send_messages(fn)
    api = apigw.CfnRestApi(stack, "Api", name="api")
    logical_id = stack.resolve(fn.node.default_child.logical_id)  # type: ignore[union-attr]
    apigw.CfnMethod(
        stack,
        "Method",
        rest_api_id=api.ref,
        resource_id=api.attr_root_resource_id,
        http_method="POST",
        authorization_type="AWS_IAM",
        integration=apigw.CfnMethod.IntegrationProperty(
            type="AWS_PROXY",
            integration_http_method="POST",
            uri=Fn.sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/"
                f"2015-03-31/functions/${{{logical_id}.Arn}}/invocations"
            ),
        ),
    )
    assert findings(stack) == [f"{RULE} at Test/Function/Resource"]
