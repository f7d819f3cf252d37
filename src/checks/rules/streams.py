"""Rules for a Lambda event source mapping that reads a Kinesis or DynamoDB stream.

An ordered stream blocks a shard behind a failing record: the service defaults retry it until
the record expires (MaximumRetryAttempts and MaximumRecordAgeInSeconds -1, "Lambda parameters
for Amazon Kinesis Data Streams event source mappings"), and discard it without a trace unless
a destination is set ("Retain discarded batch records for a Kinesis Data Streams event source
in Lambda").
"""

from __future__ import annotations

from collections.abc import Mapping

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import (
    LAMBDA_EVENT_SOURCE_MAPPING,
    Resource,
    as_int,
    as_list,
    is_known,
)
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

KINESIS_STREAM = "AWS::Kinesis::Stream"
KINESIS_STREAM_CONSUMER = "AWS::Kinesis::StreamConsumer"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
DYNAMODB_GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"
_STREAM_TYPES = (KINESIS_STREAM, KINESIS_STREAM_CONSUMER, DYNAMODB_TABLE, DYNAMODB_GLOBAL_TABLE)


def _is_stream_mapping(mapping: Resource, context: RuleContext) -> bool:
    source = mapping.props.get("EventSourceArn")
    if context.index.target(mapping, source, *_STREAM_TYPES) is not None:
        return True
    return isinstance(source, str) and (
        ":kinesis:" in source or (":dynamodb:" in source and "/stream/" in source)
    )


def _on_failure_destination(mapping: Resource, context: RuleContext) -> RuleResult:
    if not _is_stream_mapping(mapping, context):
        return NagRuleCompliance.NOT_APPLICABLE
    config = mapping.props.get("DestinationConfig")
    if config is None:
        return NagRuleCompliance.NON_COMPLIANT
    on_failure = config.get("OnFailure") if isinstance(config, Mapping) else None
    if not is_known(config) or not isinstance(config, Mapping) or on_failure is None:
        # a deploy-time value, or a shape CloudFormation would refuse: not ours to report
        return NagRuleCompliance.NOT_APPLICABLE if config else NagRuleCompliance.NON_COMPLIANT
    destination = on_failure.get("Destination") if isinstance(on_failure, Mapping) else None
    return NagRuleCompliance.COMPLIANT if destination else NagRuleCompliance.NON_COMPLIANT


def _bounded(mapping: Resource, context: RuleContext) -> RuleResult:
    if not _is_stream_mapping(mapping, context):
        return NagRuleCompliance.NOT_APPLICABLE
    findings: list[str] = []
    for name in ("MaximumRetryAttempts", "MaximumRecordAgeInSeconds"):
        raw = mapping.props.get(name, -1)
        value = as_int(raw)
        if value is None:
            continue  # a parameter or other deploy-time value: not reported
        if value < 0:
            findings.append(name)
    return findings or NagRuleCompliance.COMPLIANT


def _partial_batch_and_bisect(mapping: Resource, context: RuleContext) -> RuleResult:
    if not _is_stream_mapping(mapping, context):
        return NagRuleCompliance.NOT_APPLICABLE
    types = mapping.props.get("FunctionResponseTypes", [])
    bisect = mapping.props.get("BisectBatchOnFunctionError", False)
    findings: list[str] = []
    if is_known(types) and "ReportBatchItemFailures" not in as_list(types):
        findings.append("FunctionResponseTypes")
    if is_known(bisect) and bisect is not True:
        findings.append("BisectBatchOnFunctionError")
    return findings or NagRuleCompliance.COMPLIANT


STREAM_ON_FAILURE_DESTINATION = Rule(
    id="StreamOnFailureDestination",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_EVENT_SOURCE_MAPPING,),
    info="A Kinesis or DynamoDB stream event source mapping has no on-failure destination.",
    explanation="When the retry bound or the maximum record age is reached, Lambda skips the "
    "batch; without DestinationConfig.OnFailure nothing records which records were skipped. "
    "Set an SQS queue, SNS topic or S3 bucket as the on-failure destination and alarm on it.",
    check=_on_failure_destination,
)

STREAM_BOUNDED_RETRIES = Rule(
    id="StreamBoundedRetries",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_EVENT_SOURCE_MAPPING,),
    info="A stream event source mapping retries a failing batch without bound (retries or "
    "record age -1, the service default).",
    explanation="One record that keeps failing blocks its shard until it expires from the "
    "stream (up to a year on Kinesis, 24 hours on DynamoDB Streams) while the iterator age "
    "grows. Set MaximumRetryAttempts (0-10,000) and MaximumRecordAgeInSeconds (60-604,800).",
    check=_bounded,
)

STREAM_PARTIAL_BATCH_RESPONSE = Rule(
    id="StreamPartialBatchResponse",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_EVENT_SOURCE_MAPPING,),
    info="A stream event source mapping does not report batch item failures, or does not "
    "bisect a failing batch.",
    explanation="Without ReportBatchItemFailures a failed record makes Lambda retry the whole "
    "batch, reprocessing the records before it; without BisectBatchOnFunctionError a batch that "
    "fails as a whole is retried whole and discarded whole at the retry bound. Set "
    "FunctionResponseTypes to ['ReportBatchItemFailures'], return the first failed sequence "
    "number, and set BisectBatchOnFunctionError to true.",
    check=_partial_batch_and_bisect,
)

STREAM_RULES: tuple[Rule, ...] = (
    STREAM_ON_FAILURE_DESTINATION,
    STREAM_BOUNDED_RETRIES,
    STREAM_PARTIAL_BATCH_RESPONSE,
)
