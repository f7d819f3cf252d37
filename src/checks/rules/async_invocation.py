"""Rule 7: asynchronous invocations and event-bus targets without a failure destination."""

from __future__ import annotations

from collections.abc import Mapping

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import (
    EVENTS_RULE,
    LAMBDA_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION,
    LAMBDA_PERMISSION,
    Resource,
    is_intrinsic,
    is_known,
)
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

#: Services that invoke a function asynchronously.
ASYNC_PRINCIPALS = frozenset({"events.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com"})


def _invoked_asynchronously(function: Resource, context: RuleContext) -> bool:
    index = context.index
    return any(
        isinstance(principal := permission.props.get("Principal"), str)
        and principal in ASYNC_PRINCIPALS
        and index.function_of(permission, permission.props.get("FunctionName")) is function
        for permission in index.of_type(LAMBDA_PERMISSION)
    )


def _has_failure_destination(function: Resource, context: RuleContext) -> bool | None:
    """Whether the function has a dead-letter queue or an on-failure destination; None when
    a setting that could give it one is unknown at synth (``Fn::If``, a parameter ...)."""
    unknown = False
    dead_letter = function.props.get("DeadLetterConfig")
    if is_intrinsic(dead_letter):
        unknown = True
    elif isinstance(dead_letter, Mapping) and dead_letter.get("TargetArn") is not None:
        return True
    index = context.index
    for config in index.of_type(LAMBDA_EVENT_INVOKE_CONFIG):
        name = config.props.get("FunctionName")
        configured = index.function_of(config, name)
        if configured is None and not is_known(name):
            unknown = True  # may configure this function
            continue
        if configured is not function:
            continue
        destinations = config.props.get("DestinationConfig")
        on_failure = destinations  # unknown as a whole, or an object holding OnFailure
        if isinstance(destinations, Mapping) and not is_intrinsic(destinations):
            on_failure = destinations.get("OnFailure")
        if is_intrinsic(on_failure):
            unknown = True
        elif isinstance(on_failure, Mapping) and on_failure.get("Destination") is not None:
            return True
    return None if unknown else False


def _async_failure_destination(function: Resource, context: RuleContext) -> RuleResult:
    if not _invoked_asynchronously(function, context):
        return NagRuleCompliance.NOT_APPLICABLE
    has_destination = _has_failure_destination(function, context)
    if has_destination is None:
        return NagRuleCompliance.NOT_APPLICABLE
    if has_destination:
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _target_dead_letter_queues(rule: Resource, context: RuleContext) -> RuleResult:
    targets = rule.props.get("Targets")
    if not isinstance(targets, list) or not targets:
        return NagRuleCompliance.NOT_APPLICABLE
    missing = []
    for position, target in enumerate(targets):
        if not isinstance(target, Mapping) or is_intrinsic(target):
            continue
        dead_letter = target.get("DeadLetterConfig")
        if is_intrinsic(dead_letter):
            continue  # unknown at synth
        if not isinstance(dead_letter, Mapping) or dead_letter.get("Arn") is None:
            target_id = target.get("Id")
            missing.append(target_id if isinstance(target_id, str) else f"#{position}")
    return missing or NagRuleCompliance.COMPLIANT


LAMBDA_ASYNC_FAILURE_DESTINATION = Rule(
    id="LambdaAsyncFailureDestination",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_FUNCTION,),
    info="A function invoked asynchronously (by EventBridge, SNS or S3) has no on-failure "
    "destination and no dead-letter queue.",
    explanation="Lambda retries a failed asynchronous invocation twice, then drops the event. "
    "Give the function an on-failure destination (configure_async_invoke(on_failure="
    "SqsDestination(queue))) or a dead-letter queue, and alarm on it. EventBusFanOut's "
    "LambdaTarget does this.",
    check=_async_failure_destination,
)

EVENTS_TARGET_DLQ = Rule(
    id="EventsTargetDLQ",
    level=NagMessageLevel.ERROR,
    resource_types=(EVENTS_RULE,),
    info="An EventBridge rule target has no dead-letter queue (one finding per target id).",
    explanation="An event EventBridge cannot deliver after its retries (24 hours, 185 "
    "attempts by default) is dropped without a trace. Give every target a DeadLetterConfig "
    "(dead_letter_queue= on the aws_events_targets target) and alarm on that queue. "
    "EventBusFanOut does this for every target.",
    check=_target_dead_letter_queues,
)
