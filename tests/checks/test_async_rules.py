"""Rule 7: LambdaAsyncFailureDestination and EventsTargetDLQ."""

from __future__ import annotations

from aws_cdk import CfnParameter, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from tests.checks.builders import findings, function

ASYNC = "ServerlessPatterns-LambdaAsyncFailureDestination at Test/Function/Resource"


def rule(stack: Stack) -> events.Rule:
    return events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["orders"]))


# --- LambdaAsyncFailureDestination ------------------------------------------------------


def test_event_rule_target_function_without_failure_destination_is_flagged(stack: Stack) -> None:
    fn = function(stack)
    rule(stack).add_target(targets.LambdaFunction(fn, dead_letter_queue=sqs.Queue(stack, "D")))
    assert findings(stack, "LambdaAsyncFailureDestination") == [ASYNC]


def test_topic_and_bucket_subscribers_without_failure_destination_are_flagged(
    stack: Stack,
) -> None:
    sns.Topic(stack, "Topic").add_subscription(
        subscriptions.LambdaSubscription(function(stack, "Subscriber"))
    )
    s3.Bucket(stack, "Bucket").add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function(stack, "Notified"))
    )
    assert findings(stack, "LambdaAsyncFailureDestination") == [
        "ServerlessPatterns-LambdaAsyncFailureDestination at Test/Subscriber/Resource",
        "ServerlessPatterns-LambdaAsyncFailureDestination at Test/Notified/Resource",
    ]


def test_on_failure_destination_or_dead_letter_queue_passes(stack: Stack) -> None:
    fn = function(stack)
    fn.configure_async_invoke(on_failure=destinations.SqsDestination(sqs.Queue(stack, "Failed")))
    with_dlq = function(stack, "WithDlq", dead_letter_queue_enabled=True)
    target_rule = rule(stack)
    for target in (fn, with_dlq):
        target_rule.add_target(
            targets.LambdaFunction(target, dead_letter_queue=sqs.Queue(stack, f"D{target.node.id}"))
        )
    assert findings(stack, "LambdaAsyncFailureDestination") == []


def test_synchronously_invoked_function_is_not_checked(stack: Stack) -> None:
    function(stack).grant_invoke(function(stack, "Caller"))
    assert findings(stack, "LambdaAsyncFailureDestination") == []


def test_unresolvable_invoking_principal_is_not_reported(stack: Stack) -> None:
    fn = function(stack)
    principal = CfnParameter(stack, "Principal", type="String").value_as_string
    lambda_.CfnPermission(
        stack,
        "Invoke",
        action="lambda:InvokeFunction",
        function_name=fn.function_name,
        principal=principal,
    )
    assert findings(stack, "LambdaAsyncFailureDestination") == []


# --- EventsTargetDLQ --------------------------------------------------------------------


def test_event_rule_target_without_dead_letter_queue_is_flagged_per_target(stack: Stack) -> None:
    target_rule = rule(stack)
    target_rule.add_target(targets.SqsQueue(sqs.Queue(stack, "Orders")))
    target_rule.add_target(
        targets.SqsQueue(sqs.Queue(stack, "Audit"), dead_letter_queue=sqs.Queue(stack, "D"))
    )
    assert findings(stack, "EventsTargetDLQ") == [
        "ServerlessPatterns-EventsTargetDLQ[Target0] at Test/Rule/Resource"
    ]


def test_event_rule_targets_with_dead_letter_queues_pass(stack: Stack) -> None:
    rule(stack).add_target(
        targets.SqsQueue(sqs.Queue(stack, "Orders"), dead_letter_queue=sqs.Queue(stack, "D"))
    )
    events.Rule(stack, "NoTargets", event_pattern=events.EventPattern(source=["x"]))
    assert findings(stack, "EventsTargetDLQ") == []


def test_unresolvable_targets_are_not_reported(stack: Stack) -> None:
    arn = CfnParameter(stack, "TargetArn", type="String").value_as_string
    events.CfnRule(
        stack,
        "Rule",
        event_pattern={"source": ["orders"]},
        targets=[events.CfnRule.TargetProperty(arn=arn, id="Target0")],
    )
    cfn = stack.node.find_child("Rule")
    assert isinstance(cfn, events.CfnRule)
    cfn.targets = Token.as_any(CfnParameter(stack, "Targets", type="String").value_as_string)
    assert findings(stack, "EventsTargetDLQ") == []
