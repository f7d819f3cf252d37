"""Rules 1-3: SQSVisibilityTimeout, SQSPartialBatchResponse, SQSDeadLetterQueue."""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnParameter, Duration, Fn, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from tests.checks.builders import findings, function, queue_with_dlq


def consume(stack: Stack, queue: sqs.IQueue, fn: lambda_.IFunction, **props: Any) -> None:
    lambda_.EventSourceMapping(
        stack,
        "Mapping",
        target=fn,
        event_source_arn=queue.queue_arn,
        **{"report_batch_item_failures": True, **props},
    )


# --- SQSVisibilityTimeout ---------------------------------------------------------------


def test_visibility_timeout_below_six_times_the_function_timeout_is_flagged(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(59))
    consume(stack, queue, function(stack, timeout=Duration.seconds(10)))
    assert findings(stack, "SQSVisibilityTimeout") == [
        "ServerlessPatterns-SQSVisibilityTimeout at Test/Queue/Resource"
    ]


def test_visibility_timeout_counts_the_batching_window(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    consume(
        stack,
        queue,
        function(stack, timeout=Duration.seconds(10)),
        max_batching_window=Duration.seconds(5),
    )
    assert findings(stack, "SQSVisibilityTimeout") == [
        "ServerlessPatterns-SQSVisibilityTimeout at Test/Queue/Resource"
    ]


def test_sqs_default_visibility_and_lambda_default_timeout_are_used(stack: Stack) -> None:
    queue = queue_with_dlq(stack)  # 30 s < 6 x 10 s
    consume(stack, queue, function(stack))
    assert len(findings(stack, "SQSVisibilityTimeout")) == 1


def test_visibility_timeout_of_six_times_the_timeout_plus_window_passes(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(65))
    consume(
        stack,
        queue,
        function(stack, timeout=Duration.seconds(10)),
        max_batching_window=Duration.seconds(5),
    )
    assert findings(stack, "SQSVisibilityTimeout") == []


def test_visibility_timeout_through_an_alias_is_checked(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(30))
    fn = function(stack, timeout=Duration.seconds(10))
    consume(
        stack, queue, lambda_.Alias(stack, "Live", alias_name="live", version=fn.current_version)
    )
    assert len(findings(stack, "SQSVisibilityTimeout")) == 1


def test_unresolvable_visibility_timeout_is_not_reported(stack: Stack) -> None:
    queue = queue_with_dlq(stack)
    cfn = queue.node.default_child
    assert isinstance(cfn, sqs.CfnQueue)
    cfn.visibility_timeout = CfnParameter(stack, "Visibility", type="Number").value_as_number
    consume(stack, queue, function(stack, timeout=Duration.seconds(10)))
    assert findings(stack, "SQSVisibilityTimeout") == []


def test_unresolvable_function_timeout_is_not_reported(stack: Stack) -> None:
    queue = queue_with_dlq(stack)
    fn = function(stack)
    cfn = fn.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.timeout = CfnParameter(stack, "Timeout", type="Number").value_as_number
    consume(stack, queue, fn)
    assert findings(stack, "SQSVisibilityTimeout") == []


def test_queue_without_consumer_is_not_checked_for_visibility(stack: Stack) -> None:
    queue_with_dlq(stack, visibility_timeout=Duration.seconds(1))
    assert findings(stack, "SQSVisibilityTimeout") == []


# --- SQSPartialBatchResponse ------------------------------------------------------------


def test_sqs_mapping_without_batch_item_failures_is_flagged(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack), report_batch_item_failures=False)
    assert findings(stack, "SQSPartialBatchResponse") == [
        "ServerlessPatterns-SQSPartialBatchResponse at Test/Mapping/Resource"
    ]


def test_imported_sqs_queue_by_arn_is_checked(stack: Stack) -> None:
    queue = sqs.Queue.from_queue_arn(stack, "Imported", "arn:aws:sqs:eu-west-1:123456789012:q")
    consume(stack, queue, function(stack), report_batch_item_failures=False)
    assert len(findings(stack, "SQSPartialBatchResponse")) == 1


def test_sqs_mapping_with_batch_item_failures_or_batch_size_one_passes(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack))
    other = queue_with_dlq(stack, "Other", visibility_timeout=Duration.seconds(60))
    lambda_.EventSourceMapping(
        stack, "One", target=function(stack, "F2"), event_source_arn=other.queue_arn, batch_size=1
    )
    assert findings(stack, "SQSPartialBatchResponse") == []


def test_unresolvable_response_types_are_not_reported(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack))
    mapping = stack.node.find_child("Mapping").node.default_child
    assert isinstance(mapping, lambda_.CfnEventSourceMapping)
    types = CfnParameter(stack, "Types", type="String").value_as_string
    mapping.function_response_types = Fn.split(",", types)
    assert findings(stack, "SQSPartialBatchResponse") == []


# --- SQSDeadLetterQueue -----------------------------------------------------------------


def test_consumed_queue_without_dead_letter_queue_is_flagged(stack: Stack) -> None:
    queue = sqs.Queue(stack, "Queue", visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack))
    assert findings(stack, "SQSDeadLetterQueue") == [
        "ServerlessPatterns-SQSDeadLetterQueue at Test/Queue/Resource"
    ]


def test_consumed_queue_with_low_max_receive_count_is_flagged(stack: Stack) -> None:
    queue = queue_with_dlq(stack, max_receive_count=4, visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack))
    assert findings(stack, "SQSDeadLetterQueue") == [
        "ServerlessPatterns-SQSDeadLetterQueue at Test/Queue/Resource"
    ]


def test_consumed_queue_with_dead_letter_queue_after_five_receives_passes(stack: Stack) -> None:
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack))
    assert findings(stack, "SQSDeadLetterQueue") == []


def test_unconsumed_queue_without_dead_letter_queue_is_not_this_rules(stack: Stack) -> None:
    sqs.Queue(stack, "Queue")
    assert findings(stack, "SQSDeadLetterQueue") == []


def test_unresolvable_max_receive_count_is_not_reported(stack: Stack) -> None:
    count = cast(int, CfnParameter(stack, "Receives", type="Number").value_as_number)
    queue = queue_with_dlq(stack, max_receive_count=count, visibility_timeout=Duration.seconds(60))
    consume(stack, queue, function(stack))
    assert findings(stack, "SQSDeadLetterQueue") == []
