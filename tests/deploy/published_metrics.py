"""What each AWS service publishes to CloudWatch, for the metrics our alarms use.

One row per (namespace, metric name): the exact dimension-name sets the service publishes the
metric with, the statistics its documentation names for it, and the page that says so. An
alarm whose metric has no row fails ``test_alarm_metrics``: a new alarm adds its row here,
checked against the page it cites.
"""

from __future__ import annotations

from dataclasses import dataclass

#: CloudWatch's standard statistics (``Statistic`` of an alarm, ``Stat`` of a ``MetricStat``).
STANDARD_STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})


@dataclass(frozen=True)
class DocPage:
    """An AWS documentation page: its title and address."""

    title: str
    url: str


@dataclass(frozen=True)
class PublishedMetric:
    """A metric as its service publishes it.

    ``dimension_sets`` are exact: CloudWatch matches a metric by namespace, name and the whole
    set of dimensions, so a subset or superset of a published set names a metric that never
    gets data. ``statistics`` are the ones the page names for this metric; ``percentiles``
    says whether ``pNN`` statistics apply too.
    """

    namespace: str
    metric_name: str
    dimension_sets: frozenset[frozenset[str]]
    statistics: frozenset[str]
    percentiles: bool
    page: DocPage


def _sets(*sets: tuple[str, ...]) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(names) for names in sets)


SQS_PAGE = DocPage(
    "Available CloudWatch metrics for Amazon SQS",
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-available-cloudwatch-metrics.html",
)
LAMBDA_TYPES_PAGE = DocPage(
    "Types of metrics for Lambda functions",
    "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
)
LAMBDA_VIEW_PAGE = DocPage(
    "Viewing metrics for Lambda functions",
    "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-view.html",
)
EVENTS_PAGE = DocPage(
    "Monitoring Amazon EventBridge",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html",
)
KINESIS_PAGE = DocPage(
    "Monitoring the Amazon Kinesis Data Streams service with Amazon CloudWatch",
    "https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html",
)
API_GATEWAY_PAGE = DocPage(
    "Amazon API Gateway dimensions and metrics",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "api-gateway-metrics-and-dimensions.html",
)

# --- AWS/SQS ---------------------------------------------------------------------------------
# "The only dimension that Amazon SQS sends to CloudWatch is QueueName." Every metric lists
# "Valid Statistics: Average, Minimum, Maximum, Sum, Data Samples (displays as Sample Count)".
_SQS = {
    "ApproximateAgeOfOldestMessage",
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "NumberOfMessagesSent",
    "NumberOfMessagesReceived",
    "NumberOfMessagesDeleted",
}
SQS_ROWS = tuple(
    PublishedMetric("AWS/SQS", name, _sets(("QueueName",)), STANDARD_STATISTICS, False, SQS_PAGE)
    for name in sorted(_SQS)
)

# --- AWS/Lambda ------------------------------------------------------------------------------
# "Viewing metrics for Lambda functions": By Function Name (FunctionName), By Resource
# ("metrics for a version or alias of a function"), By Executed Version ("metrics for a
# combination of alias and version ... compare error rates for two versions of a function that
# are both targets of a weighted alias"), Across All Functions (none). CloudWatch lists the
# alias-and-version metrics with all three dimensions {FunctionName, Resource, ExecutedVersion}
# (the same sets aws-cdk-lib's generated LambdaMetrics declares); there is no
# {FunctionName, ExecutedVersion} metric. The version set is listed only on the rows we alarm
# with it (Errors and Duration of a canary's new version); check the page before adding it to
# another row.
_LAMBDA_FUNCTION_SETS = (), ("FunctionName",), ("FunctionName", "Resource")
_LAMBDA_VERSION_SET = ("FunctionName", "Resource", "ExecutedVersion")
LAMBDA_ROWS = (
    # "Invocation metrics ... View these metrics with the Sum statistic."
    PublishedMetric(
        "AWS/Lambda",
        "Errors",
        _sets(*_LAMBDA_FUNCTION_SETS, _LAMBDA_VERSION_SET),
        frozenset({"Sum"}),
        False,
        LAMBDA_TYPES_PAGE,
    ),
    PublishedMetric(
        "AWS/Lambda",
        "Throttles",
        _sets(*_LAMBDA_FUNCTION_SETS),
        frozenset({"Sum"}),
        False,
        LAMBDA_TYPES_PAGE,
    ),
    # Performance metrics: "view these metrics with the Average or Max statistic";
    # "Duration also supports percentile statistics."
    PublishedMetric(
        "AWS/Lambda",
        "Duration",
        _sets(*_LAMBDA_FUNCTION_SETS, _LAMBDA_VERSION_SET),
        frozenset({"Average", "Maximum"}),
        True,
        LAMBDA_TYPES_PAGE,
    ),
    # Performance metrics: "IteratorAge - For event source mappings that read from streams, the
    # age of the last record in the event" (milliseconds), viewed like Duration (Average, Max).
    PublishedMetric(
        "AWS/Lambda",
        "IteratorAge",
        _sets(*_LAMBDA_FUNCTION_SETS),
        frozenset({"Average", "Maximum"}),
        False,
        LAMBDA_TYPES_PAGE,
    ),
)

# --- AWS/Kinesis -----------------------------------------------------------------------------
# Basic (stream-level) metrics have the dimension StreamName; enhanced (shard-level) metrics
# StreamName and ShardId. "ReadProvisionedThroughputExceeded: the number of GetRecords calls
# throttled for the stream over the specified time period ... Statistics: Minimum, Maximum,
# Average, Sum, Samples" (the most useful: Average, or Sum for a count).
KINESIS_ROWS = (
    PublishedMetric(
        "AWS/Kinesis",
        "ReadProvisionedThroughputExceeded",
        _sets(("StreamName",), ("StreamName", "ShardId")),
        STANDARD_STATISTICS,
        False,
        KINESIS_PAGE,
    ),
)

# --- AWS/Events ------------------------------------------------------------------------------
# "Metrics that specify only the RuleName dimension refer to the default event bus. Metrics that
# specify both the EventBusName and RuleName dimensions refer to a custom event bus."
# "For the metrics that use Count as a unit, Sum and SampleCount tend to be the most useful."
_EVENTS_RULE_SETS = _sets(("RuleName",), ("EventBusName", "RuleName"))
EVENTS_ROWS = tuple(
    PublishedMetric(
        "AWS/Events",
        name,
        _EVENTS_RULE_SETS,
        frozenset({"Sum", "SampleCount"}),
        False,
        EVENTS_PAGE,
    )
    for name in ("FailedInvocations", "InvocationsFailedToBeSentToDlq", "ThrottledRules")
)

# --- AWS/ApiGateway (REST APIs) --------------------------------------------------------------
# Dimensions: {ApiName}, {ApiName, Stage}, and {ApiName, Method, Resource, Stage} (the last one
# only with detailed CloudWatch metrics enabled on the stage).
_API_SETS = _sets(("ApiName",), ("ApiName", "Stage"), ("ApiName", "Method", "Resource", "Stage"))
API_GATEWAY_ROWS = (
    # "The Sum statistic represents this metric ... The Average statistic represents the
    # 4XXError [5XXError] error rate".
    *(
        PublishedMetric(
            "AWS/ApiGateway",
            name,
            _API_SETS,
            frozenset({"Sum", "Average"}),
            False,
            API_GATEWAY_PAGE,
        )
        for name in ("4XXError", "5XXError")
    ),
    # Latency (Unit: Millisecond) names no statistic; it is published per request, so every
    # standard statistic and percentiles apply.
    PublishedMetric(
        "AWS/ApiGateway", "Latency", _API_SETS, STANDARD_STATISTICS, True, API_GATEWAY_PAGE
    ),
)

# --- AWS/States (Step Functions execution metrics) -------------------------------------------
# "Monitoring Step Functions metrics using Amazon CloudWatch", Execution metrics: counts of
# executions (Unit Count) with the one dimension StateMachineArn, the state machine's ARN.
STATES_PAGE = DocPage(
    "Monitoring Step Functions metrics using Amazon CloudWatch",
    "https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html",
)
STATES_ROWS = tuple(
    PublishedMetric(
        "AWS/States",
        name,
        _sets(("StateMachineArn",)),
        frozenset({"Sum", "SampleCount"}),
        False,
        STATES_PAGE,
    )
    for name in (
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionThrottled",
    )
)

PUBLISHED_METRICS: dict[tuple[str, str], PublishedMetric] = {
    (row.namespace, row.metric_name): row
    for row in (
        *SQS_ROWS,
        *LAMBDA_ROWS,
        *KINESIS_ROWS,
        *EVENTS_ROWS,
        *API_GATEWAY_ROWS,
        *STATES_ROWS,
    )
}
