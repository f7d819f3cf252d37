"""Rules 1-3: an SQS queue consumed by a Lambda event source mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import (
    LAMBDA_EVENT_SOURCE_MAPPING,
    SQS_QUEUE,
    Resource,
    ResourceIndex,
    as_int,
    as_list,
    is_intrinsic,
    is_known,
)
from serverless_patterns.checks._values import json_value
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

#: Lambda documentation: visibility timeout >= 6 x function timeout (+ batching window).
VISIBILITY_FACTOR = 6
#: Lambda documentation: maxReceiveCount at least 5.
MIN_MAX_RECEIVE_COUNT = 5
_LAMBDA_DEFAULT_TIMEOUT = 3
_SQS_DEFAULT_VISIBILITY = 30


def _mappings_of(queue: Resource, index: ResourceIndex) -> Iterator[Resource]:
    """The event source mappings whose source is ``queue``."""
    for mapping in index.of_type(LAMBDA_EVENT_SOURCE_MAPPING):
        if index.target(mapping, mapping.props.get("EventSourceArn"), SQS_QUEUE) is queue:
            yield mapping


def _visibility_timeout(queue: Resource, context: RuleContext) -> RuleResult:
    visibility: Any = queue.props.get("VisibilityTimeout", _SQS_DEFAULT_VISIBILITY)
    visibility = as_int(visibility)
    if visibility is None:
        return NagRuleCompliance.NOT_APPLICABLE
    checked = False
    for mapping in _mappings_of(queue, context.index):
        function = context.index.function_of(mapping, mapping.props.get("FunctionName"))
        if function is None:
            continue
        timeout = as_int(function.props.get("Timeout", _LAMBDA_DEFAULT_TIMEOUT))
        window = as_int(mapping.props.get("MaximumBatchingWindowInSeconds", 0))
        if timeout is None or window is None:
            continue
        checked = True
        if visibility < VISIBILITY_FACTOR * timeout + window:
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT if checked else NagRuleCompliance.NOT_APPLICABLE


def _partial_batch_response(mapping: Resource, context: RuleContext) -> RuleResult:
    source = mapping.props.get("EventSourceArn")
    is_sqs = context.index.target(mapping, source, SQS_QUEUE) is not None or (
        isinstance(source, str) and source.startswith("arn:") and ":sqs:" in source
    )
    if not is_sqs:
        return NagRuleCompliance.NOT_APPLICABLE
    types = mapping.props.get("FunctionResponseTypes")
    batch_size = as_int(mapping.props.get("BatchSize", 10))
    if not is_known(types):
        return NagRuleCompliance.NOT_APPLICABLE
    if "ReportBatchItemFailures" in as_list(types) or batch_size == 1:
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _dead_letter_queue(queue: Resource, context: RuleContext) -> RuleResult:
    if next(_mappings_of(queue, context.index), None) is None:
        return NagRuleCompliance.NOT_APPLICABLE
    policy = json_value(queue.props.get("RedrivePolicy"))  # an object or a JSON string
    if policy is None:
        return NagRuleCompliance.NON_COMPLIANT
    if not isinstance(policy, Mapping) or is_intrinsic(policy):
        return NagRuleCompliance.NOT_APPLICABLE
    receive_count = as_int(policy.get("maxReceiveCount"))
    if receive_count is None:
        return NagRuleCompliance.NOT_APPLICABLE
    if receive_count < MIN_MAX_RECEIVE_COUNT:
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


SQS_VISIBILITY_TIMEOUT = Rule(
    id="SQSVisibilityTimeout",
    level=NagMessageLevel.ERROR,
    resource_types=(SQS_QUEUE,),
    info="The visibility timeout of a queue consumed by a Lambda function is below 6x the "
    "function timeout plus the batching window.",
    explanation="A message becomes visible again while a slow or retried invocation still "
    "processes it, so it is processed twice. Set the queue's visibility timeout to at least "
    "6 x the function timeout + MaximumBatchingWindowInSeconds (Lambda documentation), or lower "
    "the function timeout.",
    check=_visibility_timeout,
)

SQS_PARTIAL_BATCH_RESPONSE = Rule(
    id="SQSPartialBatchResponse",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_EVENT_SOURCE_MAPPING,),
    info="An SQS event source mapping does not report batch item failures.",
    explanation="Without ReportBatchItemFailures one failed record fails the whole batch: every "
    "record is received again, processed again and counts towards maxReceiveCount. Set "
    "FunctionResponseTypes to ['ReportBatchItemFailures'] (report_batch_item_failures=True) "
    "and return {'batchItemFailures': [...]} from the handler.",
    check=_partial_batch_response,
)

SQS_DEAD_LETTER_QUEUE = Rule(
    id="SQSDeadLetterQueue",
    level=NagMessageLevel.ERROR,
    resource_types=(SQS_QUEUE,),
    info="A queue consumed by a Lambda function has no dead-letter queue, or a maxReceiveCount "
    "below 5.",
    explanation="Without a redrive policy a message that keeps failing is retried until the "
    "retention period deletes it; with maxReceiveCount below 5 a message Lambda merely "
    "throttled can be dead-lettered unprocessed. Give the queue a RedrivePolicy to a "
    "dead-letter queue with maxReceiveCount of at least 5, and alarm on that queue.",
    check=_dead_letter_queue,
)
