"""StreamOnFailureDestination, StreamBoundedRetries, StreamPartialBatchResponse: flagged,
passing and unresolvable cases, run through a pack holding only these rules (they are not
registered in ServerlessPatternsChecks yet)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs

from serverless_patterns.checks import ServerlessPatternsChecks
from serverless_patterns.checks.rules.streams import STREAM_RULES
from tests.checks.builders import function
from tests.checks.templates import compliant_template, include, pack_findings, with_value
from tests.conftest import nag_findings, new_app


class _StreamRulesOnly(ServerlessPatternsChecks):
    def __init__(self) -> None:
        super().__init__()
        self._rules_by_type = {}
        for rule in STREAM_RULES:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)


def findings(stack: Stack, rule: str) -> list[str]:
    prefix = f"ServerlessPatterns-{rule}"
    return [
        f
        for f in nag_findings(_StreamRulesOnly(), stack)
        if f.startswith((f"{prefix} ", f"{prefix}["))
    ]


def good(stack: Stack) -> dict[str, Any]:
    return {
        "starting_position": lambda_.StartingPosition.TRIM_HORIZON,
        "retry_attempts": 5,
        "max_record_age": Duration.hours(1),
        "bisect_batch_on_error": True,
        "report_batch_item_failures": True,
        "on_failure": sources.SqsDlq(sqs.Queue(stack, "Failed")),
    }


def kinesis_mapping(stack: Stack, **overrides: Any) -> lambda_.EventSourceMapping:
    stream = kinesis.Stream(stack, "Stream")
    props = {**good(stack), **overrides}
    return lambda_.EventSourceMapping(
        stack,
        "Mapping",
        target=function(stack),
        event_source_arn=stream.stream_arn,
        **{k: v for k, v in props.items() if v is not None},
    )


def dynamodb_mapping(stack: Stack, **overrides: Any) -> None:
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    props = {**good(stack), **overrides}
    lambda_.EventSourceMapping(
        stack,
        "Mapping",
        target=function(stack),
        event_source_arn=table.table_stream_arn,
        **{k: v for k, v in props.items() if v is not None},
    )


RULES = ["StreamOnFailureDestination", "StreamBoundedRetries", "StreamPartialBatchResponse"]


@pytest.mark.parametrize("source", [kinesis_mapping, dynamodb_mapping])
def test_a_bounded_checkpointing_mapping_with_a_destination_passes(
    stack: Stack, source: Any
) -> None:
    source(stack)
    for rule in RULES:
        assert findings(stack, rule) == []


@pytest.mark.parametrize("source", [kinesis_mapping, dynamodb_mapping])
def test_a_mapping_without_destination_is_flagged(stack: Stack, source: Any) -> None:
    source(stack, on_failure=None)
    assert findings(stack, "StreamOnFailureDestination") == [
        "ServerlessPatterns-StreamOnFailureDestination at Test/Mapping/Resource"
    ]


def test_service_defaults_are_unbounded_and_flagged_per_setting(stack: Stack) -> None:
    kinesis_mapping(stack, retry_attempts=None, max_record_age=None)
    assert sorted(findings(stack, "StreamBoundedRetries")) == [
        "ServerlessPatterns-StreamBoundedRetries[MaximumRecordAgeInSeconds] at "
        "Test/Mapping/Resource",
        "ServerlessPatterns-StreamBoundedRetries[MaximumRetryAttempts] at Test/Mapping/Resource",
    ]


def test_explicit_infinite_retries_are_flagged(stack: Stack) -> None:
    kinesis_mapping(stack, retry_attempts=-1)
    assert findings(stack, "StreamBoundedRetries") == [
        "ServerlessPatterns-StreamBoundedRetries[MaximumRetryAttempts] at Test/Mapping/Resource"
    ]


def test_without_partial_batch_response_or_bisect_is_flagged(stack: Stack) -> None:
    kinesis_mapping(stack, report_batch_item_failures=False, bisect_batch_on_error=False)
    assert sorted(findings(stack, "StreamPartialBatchResponse")) == [
        "ServerlessPatterns-StreamPartialBatchResponse[BisectBatchOnFunctionError] at "
        "Test/Mapping/Resource",
        "ServerlessPatterns-StreamPartialBatchResponse[FunctionResponseTypes] at "
        "Test/Mapping/Resource",
    ]


def test_unresolvable_values_are_not_reported(stack: Stack) -> None:
    retries = CfnParameter(stack, "Retries", type="Number").value_as_number
    age = CfnParameter(stack, "Age", type="Number").value_as_number
    mapping = kinesis_mapping(stack)
    cfn = mapping.node.default_child
    assert isinstance(cfn, lambda_.CfnEventSourceMapping)
    cfn.maximum_retry_attempts = retries
    cfn.maximum_record_age_in_seconds = age
    bisect = CfnParameter(stack, "Bisect", type="String").value_as_string
    cfn.bisect_batch_on_function_error = Fn.condition_equals(bisect, "true")
    cfn.function_response_types = Fn.split(",", bisect)
    assert findings(stack, "StreamBoundedRetries") == []
    assert findings(stack, "StreamPartialBatchResponse") == []


def test_sqs_mappings_are_not_stream_mappings(stack: Stack) -> None:
    queue = sqs.Queue(stack, "Queue")
    lambda_.EventSourceMapping(
        stack, "Mapping", target=function(stack), event_source_arn=queue.queue_arn
    )
    for rule in RULES:
        assert findings(stack, rule) == []


def test_an_imported_stream_arn_is_recognised(stack: Stack) -> None:
    lambda_.EventSourceMapping(
        stack,
        "Mapping",
        target=function(stack),
        event_source_arn="arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
        starting_position=lambda_.StartingPosition.LATEST,
    )
    assert len(findings(stack, "StreamOnFailureDestination")) == 1
    assert len(findings(stack, "StreamBoundedRetries")) == 2


def test_the_stream_consumer_reference_stack_passes(stack: Stack) -> None:
    from serverless_patterns.constructs import StreamConsumer

    StreamConsumer(stack, "Consumer", code=lambda_.Code.from_inline("x"), handler="index.handler")
    for rule in RULES:
        assert findings(stack, rule) == []


@pytest.mark.parametrize("config", ["0", ["Destination"], {"OnFailure": "arn"}])
def test_a_destination_config_of_an_unexpected_shape_is_never_a_crash(config: Any) -> None:
    """Found by tests/checks/test_rule_properties.py: DestinationConfig "0" raised in the rule
    (cdk-nag then reports "Rule threw an error"). A shape the rule cannot read is not reported."""
    app = new_app()
    template = with_value(
        compliant_template(), ("StreamMapping", "Properties", "DestinationConfig"), config
    )
    include(Stack(app, "Included"), template)
    assert pack_findings(app) == []
