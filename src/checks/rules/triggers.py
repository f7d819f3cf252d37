"""Rules 4-5: what a function may write or invoke, read from its role's policies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import (
    LAMBDA_ALIAS,
    LAMBDA_EVENT_SOURCE_MAPPING,
    LAMBDA_FUNCTION,
    LAMBDA_VERSION,
    S3_BUCKET,
    S3_NOTIFICATIONS,
    SNS_SUBSCRIPTION,
    SNS_TOPIC,
    SQS_QUEUE,
    Resource,
    ResourceIndex,
    allows,
    as_list,
    is_intrinsic,
    is_known,
    same_stack,
)
from serverless_patterns.checks._values import json_value
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

#: (trigger resource, the action that writes to it) pairs.
Trigger = tuple[Resource, str]


def _filtered(value: Any) -> bool:
    """Whether a filter property separates the events (unknown counts as separated).

    ``FilterPolicy`` is of type Json: an object or a JSON string.
    """
    value = json_value(value)
    return value is not None and (not is_known(value) or bool(value))


def _queue_triggers(function: Resource, index: ResourceIndex) -> Iterator[Trigger]:
    for mapping in index.of_type(LAMBDA_EVENT_SOURCE_MAPPING):
        if index.function_of(mapping, mapping.props.get("FunctionName")) is not function:
            continue
        criteria = mapping.props.get("FilterCriteria")
        filters = criteria
        if isinstance(criteria, Mapping) and not is_intrinsic(criteria):
            filters = criteria.get("Filters")
        queue = index.target(mapping, mapping.props.get("EventSourceArn"), SQS_QUEUE)
        if queue is not None and not _filtered(filters):
            yield queue, "sqs:SendMessage"


def _topic_triggers(function: Resource, index: ResourceIndex) -> Iterator[Trigger]:
    for subscription in index.of_type(SNS_SUBSCRIPTION):
        props = subscription.props
        if props.get("Protocol") != "lambda" or _filtered(props.get("FilterPolicy")):
            continue
        if index.function_of(subscription, props.get("Endpoint")) is not function:
            continue
        topic = index.target(subscription, props.get("TopicArn"), SNS_TOPIC)
        if topic is not None:
            yield topic, "sns:Publish"


def _bucket_triggers(function: Resource, index: ResourceIndex) -> Iterator[Trigger]:
    # aws-cdk-lib's Bucket.add_event_notification: a Custom::S3BucketNotifications resource
    for notifications in index.of_type(S3_NOTIFICATIONS):
        bucket = index.target(notifications, notifications.props.get("BucketName"), S3_BUCKET)
        configuration = notifications.props.get("NotificationConfiguration")
        if bucket is None or not isinstance(configuration, Mapping):
            continue
        for entry in as_list(configuration.get("LambdaFunctionConfigurations")):
            if not isinstance(entry, Mapping) or _filtered(entry.get("Filter")):
                continue
            if index.function_of(notifications, entry.get("LambdaFunctionArn")) is function:
                yield bucket, "s3:PutObject"
    # an L1 CfnBucket's own NotificationConfiguration
    for bucket in index.of_type(S3_BUCKET):
        configuration = bucket.props.get("NotificationConfiguration")
        if not isinstance(configuration, Mapping):
            continue
        for entry in as_list(configuration.get("LambdaConfigurations")):
            if not isinstance(entry, Mapping) or _filtered(entry.get("Filter")):
                continue
            if index.function_of(bucket, entry.get("Function")) is function:
                yield bucket, "s3:PutObject"


def _recursive_trigger(function: Resource, context: RuleContext) -> RuleResult:
    index = context.index
    triggers = [
        *_queue_triggers(function, index),
        *_topic_triggers(function, index),
        *_bucket_triggers(function, index),
    ]
    if not triggers:
        return NagRuleCompliance.NOT_APPLICABLE
    statements = index.role_statements(function)
    if statements is None:
        return NagRuleCompliance.NOT_APPLICABLE
    if any(allows(statements, action, trigger) for trigger, action in triggers):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _invokes_function(function: Resource, context: RuleContext) -> RuleResult:
    index = context.index
    statements = index.role_statements(function)
    if statements is None:
        return NagRuleCompliance.NOT_APPLICABLE
    for candidate in index.of_type(LAMBDA_FUNCTION, LAMBDA_ALIAS, LAMBDA_VERSION):
        if not same_stack(candidate, function):
            continue
        invoked = (
            candidate
            if candidate.type == LAMBDA_FUNCTION
            else index.function_of(candidate, candidate.props.get("FunctionName"))
        )
        if invoked is None or invoked is function:
            continue
        if allows(statements, "lambda:InvokeFunction", candidate, wildcard=False):
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


RECURSIVE_TRIGGER = Rule(
    id="RecursiveTrigger",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_FUNCTION,),
    info="A function may write to the S3 bucket, SQS queue or SNS topic that triggers it, "
    "with no prefix, suffix or filter separating its own writes.",
    explanation="Every write it makes triggers it again: an endless loop that runs up cost "
    "until someone notices. Write to another bucket, queue or topic; or separate the events "
    "(an S3 notification prefix/suffix that its output does not match, an event source "
    "mapping filter, an SNS filter policy); and remove the write permission if it is not "
    "needed.",
    check=_recursive_trigger,
)

LAMBDA_INVOKES_LAMBDA = Rule(
    id="LambdaInvokesLambda",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_FUNCTION,),
    info="A function may invoke another function of the app (lambda:InvokeFunction on it).",
    explanation="A function that calls another synchronously pays for both while it waits, "
    "and the caller fails or times out whenever the callee does. Put a queue (SQS), a topic "
    "or an event bus between them, or orchestrate the steps with Step Functions. If the call "
    "is asynchronous (InvocationType Event) or a deployment smoke test, acknowledge the "
    "finding on the function with that reason.",
    check=_invokes_function,
)
