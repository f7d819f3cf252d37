"""FunctionBaseline: the baseline is applied where unset, and values set are kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Aspects, Fn, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from serverless_patterns.checks import FunctionBaseline
from tests.checks.builders import findings


def plain_function(stack: Stack, construct_id: str = "Function", **props: Any) -> lambda_.Function:
    return lambda_.Function(
        stack,
        construct_id,
        **{
            "runtime": lambda_.Runtime.PYTHON_3_12,
            "handler": "index.handler",
            "code": lambda_.Code.from_inline("x"),
            **props,
        },
    )


def function_properties(template: Template, logical_id_prefix: str) -> dict[str, Any]:
    functions = template.find_resources("AWS::Lambda::Function")
    (props,) = [v["Properties"] for k, v in functions.items() if k.startswith(logical_id_prefix)]
    return dict(props)


def test_baseline_is_applied_to_a_function_that_sets_nothing(stack: Stack) -> None:
    bare = lambda_.CfnFunction(
        stack,
        "Bare",
        runtime="python3.11",
        handler="index.handler",
        code=lambda_.CfnFunction.CodeProperty(zip_file="x"),
        role="arn:aws:iam::123456789012:role/bare",
    )
    plain_function(stack)
    Aspects.of(stack).add(FunctionBaseline())
    template = Template.from_stack(stack)

    props = function_properties(template, "Function")
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                                "Resource": "*",
                            }
                        )
                    ]
                )
            }
        },
    )
    # an L1 function with no reachable role: no tracing (warned), the rest applies, and its
    # default log group is defined with a retention
    bare_props = function_properties(template, "Bare")
    assert bare_props["Runtime"] == "python3.14"
    assert bare_props["Architectures"] == ["arm64"]
    assert "TracingConfig" not in bare_props
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": {
                    "Fn::Join": ["", ["/aws/lambda/", {"Ref": stack.resolve(bare.logical_id)}]]
                },
                "RetentionInDays": 30,
            },
            "DeletionPolicy": "Retain",
        },
    )
    assert findings(stack, "LambdaLogRetention") == []
    assert findings(stack, "LambdaRuntimeNotLatest") == []


def test_values_the_function_sets_are_kept(stack: Stack) -> None:
    group = logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.ONE_WEEK)
    plain_function(
        stack,
        runtime=lambda_.Runtime.NODEJS_22_X,
        architecture=lambda_.Architecture.X86_64,
        tracing=lambda_.Tracing.PASS_THROUGH,
        log_group=group,
    )
    Aspects.of(stack).add(FunctionBaseline())
    template = Template.from_stack(stack)

    props = function_properties(template, "Function")
    assert props["Runtime"] == "nodejs22.x"  # another language: never changed
    assert props["Architectures"] == ["x86_64"]
    assert props["TracingConfig"] == {"Mode": "PassThrough"}
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    template.resource_count_is("AWS::Logs::LogGroup", 1)


def test_a_log_group_without_retention_gets_one(stack: Stack) -> None:
    plain_function(
        stack, log_group=logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.INFINITE)
    )
    Aspects.of(stack).add(FunctionBaseline(log_retention=logs.RetentionDays.TWO_WEEKS))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 14})
    template.resource_count_is("AWS::Logs::LogGroup", 1)


@pytest.mark.parametrize(
    "name",
    [
        lambda fn: Fn.sub("/aws/lambda/${Name}", {"Name": fn.ref}),
        lambda fn: Fn.sub("/aws/lambda/${Bare}"),
        lambda fn: Fn.join("/", ["", "aws", "lambda", fn.ref]),
        lambda fn: "/aws/lambda/orders",
    ],
    ids=["Fn::Sub variable map", "Fn::Sub", "Fn::Join", "literal FunctionName"],
)
def test_a_default_log_group_named_any_way_gets_a_retention_and_no_second_group(
    stack: Stack, name: Callable[[lambda_.CfnFunction], str]
) -> None:
    """CloudFormation cannot create a log group that exists, so a second one would fail."""
    fn = lambda_.CfnFunction(
        stack,
        "Bare",
        function_name="orders",
        runtime="python3.14",
        handler="index.handler",
        code=lambda_.CfnFunction.CodeProperty(zip_file="x"),
        role="arn:aws:iam::123456789012:role/bare",
    )
    fn.override_logical_id("Bare")
    logs.CfnLogGroup(stack, "Logs", log_group_name=name(fn))
    Aspects.of(stack).add(FunctionBaseline())
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Logs::LogGroup", 1)
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_newer_python_and_container_images_are_not_changed_and_options_turn_parts_off(
    stack: Stack,
) -> None:
    plain_function(stack, "Newest", runtime=lambda_.Runtime.PYTHON_3_14)
    plain_function(stack, "Pinned")
    Aspects.of(stack).add(
        FunctionBaseline(python_runtime=None, architecture=None, tracing=False, log_retention=None)
    )
    template = Template.from_stack(stack)
    pinned = function_properties(template, "Pinned")
    assert pinned["Runtime"] == "python3.12"
    assert "Architectures" not in pinned
    assert "TracingConfig" not in pinned
    assert function_properties(template, "Newest")["Runtime"] == "python3.14"


def test_infinite_retention_is_not_a_baseline() -> None:
    with pytest.raises(ValueError, match="INFINITE"):
        FunctionBaseline(log_retention=logs.RetentionDays.INFINITE)
