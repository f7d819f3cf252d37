"""Rules 4-5: RecursiveTrigger and LambdaInvokesLambda (read from the function's role)."""

from __future__ import annotations

from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from tests.checks.builders import findings, function, queue_with_dlq

RECURSIVE = "ServerlessPatterns-RecursiveTrigger at Test/Function/Resource"


# --- RecursiveTrigger: SQS --------------------------------------------------------------


def test_function_sending_to_the_queue_that_triggers_it_is_flagged(stack: Stack) -> None:
    fn = function(stack)
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    fn.add_event_source(sources.SqsEventSource(queue, report_batch_item_failures=True))
    queue.grant_send_messages(fn)
    assert findings(stack, "RecursiveTrigger") == [RECURSIVE]


def test_wildcard_send_permission_counts_as_writing_to_the_queue(stack: Stack) -> None:
    fn = function(stack)
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    fn.add_event_source(sources.SqsEventSource(queue, report_batch_item_failures=True))
    fn.add_to_role_policy(iam.PolicyStatement(actions=["sqs:Send*"], resources=["*"]))
    assert findings(stack, "RecursiveTrigger") == [RECURSIVE]


def test_filtered_queue_trigger_or_no_send_permission_passes(stack: Stack) -> None:
    fn = function(stack)
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    fn.add_event_source(
        sources.SqsEventSource(
            queue,
            report_batch_item_failures=True,
            filters=[lambda_.FilterCriteria.filter({"body": {"origin": ["outside"]}})],
        )
    )
    queue.grant_send_messages(fn)
    other = function(stack, "Other")
    second = queue_with_dlq(stack, "Second", visibility_timeout=Duration.seconds(60))
    other.add_event_source(sources.SqsEventSource(second, report_batch_item_failures=True))
    second.grant_consume_messages(other)
    assert findings(stack, "RecursiveTrigger") == []


def test_function_whose_role_cannot_be_read_is_not_reported(stack: Stack) -> None:
    role = iam.Role.from_role_arn(
        stack, "Imported", "arn:aws:iam::123456789012:role/worker", mutable=False
    )
    fn = function(stack, role=role)
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    fn.add_event_source(sources.SqsEventSource(queue, report_batch_item_failures=True))
    queue.grant_send_messages(fn)
    assert findings(stack, "RecursiveTrigger") == []


def test_unresolvable_filter_criteria_count_as_separating(stack: Stack) -> None:
    fn = function(stack)
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    mapping = lambda_.EventSourceMapping(
        stack, "Mapping", target=fn, event_source_arn=queue.queue_arn
    )
    cfn = mapping.node.default_child
    assert isinstance(cfn, lambda_.CfnEventSourceMapping)
    pattern = CfnParameter(stack, "Pattern", type="String").value_as_string
    cfn.filter_criteria = lambda_.CfnEventSourceMapping.FilterCriteriaProperty(
        filters=[lambda_.CfnEventSourceMapping.FilterProperty(pattern=pattern)]
    )
    queue.grant_send_messages(fn)
    assert findings(stack, "RecursiveTrigger") == []


# --- RecursiveTrigger: S3 and SNS -------------------------------------------------------


def test_function_writing_to_the_bucket_that_notifies_it_is_flagged(stack: Stack) -> None:
    fn = function(stack)
    bucket = s3.Bucket(stack, "Bucket")
    bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(fn))
    bucket.grant_put(fn)
    assert findings(stack, "RecursiveTrigger") == [RECURSIVE]


def test_bucket_notification_with_a_prefix_passes(stack: Stack) -> None:
    fn = function(stack)
    bucket = s3.Bucket(stack, "Bucket")
    bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED,
        s3n.LambdaDestination(fn),
        s3.NotificationKeyFilter(prefix="incoming/"),
    )
    bucket.grant_put(fn)
    assert findings(stack, "RecursiveTrigger") == []


def test_l1_bucket_notification_configuration_is_read(stack: Stack) -> None:
    fn = function(stack)
    bucket = s3.CfnBucket(
        stack,
        "Bucket",
        notification_configuration=s3.CfnBucket.NotificationConfigurationProperty(
            lambda_configurations=[
                s3.CfnBucket.LambdaConfigurationProperty(
                    event="s3:ObjectCreated:*", function=fn.function_arn
                )
            ]
        ),
    )
    fn.add_to_role_policy(
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[f"{bucket.attr_arn}/*"])
    )
    assert findings(stack, "RecursiveTrigger") == [RECURSIVE]


def test_function_publishing_to_the_topic_it_subscribes_to_is_flagged(stack: Stack) -> None:
    fn = function(stack)
    topic = sns.Topic(stack, "Topic")
    topic.add_subscription(subscriptions.LambdaSubscription(fn))
    topic.grant_publish(fn)
    assert findings(stack, "RecursiveTrigger") == [RECURSIVE]


def test_topic_subscription_with_a_filter_policy_passes(stack: Stack) -> None:
    fn = function(stack)
    topic = sns.Topic(stack, "Topic")
    topic.add_subscription(
        subscriptions.LambdaSubscription(
            fn,
            filter_policy={"origin": sns.SubscriptionFilter.string_filter(allowlist=["outside"])},
        )
    )
    topic.grant_publish(fn)
    assert findings(stack, "RecursiveTrigger") == []


# --- LambdaInvokesLambda ----------------------------------------------------------------


def test_function_allowed_to_invoke_another_is_flagged(stack: Stack) -> None:
    caller = function(stack, "Caller")
    callee = function(stack, "Callee")
    callee.grant_invoke(caller)
    assert findings(stack, "LambdaInvokesLambda") == [
        "ServerlessPatterns-LambdaInvokesLambda at Test/Caller/Resource"
    ]


def test_invoke_permission_on_an_alias_counts(stack: Stack) -> None:
    caller = function(stack, "Caller")
    callee = function(stack, "Callee")
    lambda_.Alias(stack, "Live", alias_name="live", version=callee.current_version).grant_invoke(
        caller
    )
    assert findings(stack, "LambdaInvokesLambda") == [
        "ServerlessPatterns-LambdaInvokesLambda at Test/Caller/Resource"
    ]


def test_functions_without_invoke_permissions_pass(stack: Stack) -> None:
    caller = function(stack, "Caller")
    function(stack, "Callee")
    caller.add_to_role_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=["*"])
    )
    assert findings(stack, "LambdaInvokesLambda") == []


def test_invoking_a_function_named_by_an_unresolvable_arn_is_not_reported(stack: Stack) -> None:
    caller = function(stack, "Caller")
    arn = CfnParameter(stack, "TargetArn", type="String").value_as_string
    caller.add_to_role_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[arn])
    )
    assert findings(stack, "LambdaInvokesLambda") == []


def test_permissions_of_an_attached_managed_policy_are_read(stack: Stack) -> None:
    fn = function(stack)
    queue = queue_with_dlq(stack, visibility_timeout=Duration.seconds(60))
    fn.add_event_source(sources.SqsEventSource(queue, report_batch_item_failures=True))
    policy = iam.ManagedPolicy(
        stack,
        "Send",
        statements=[iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])],
    )
    assert fn.role is not None
    fn.role.add_managed_policy(policy)
    assert findings(stack, "RecursiveTrigger") == [RECURSIVE]
