"""StreamConsumer: every default as a template assertion, every validation error.

Event source mapping ranges: "Lambda parameters for Amazon Kinesis Data Streams event source
mappings" and "Lambda parameters for Amazon DynamoDB event source mappings" (AWS Lambda
Developer Guide). Destinations: "AWS::Lambda::EventSourceMapping OnFailure" (CloudFormation) and
"Retain discarded batch records for a Kinesis Data Streams event source in Lambda".
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverless_patterns.constructs import IdempotencyOptions, StreamConsumer, StreamConsumerAlarms
from tests.conftest import new_app
from tests.unit.templates import logical_id, only

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
HANDLER = "index.handler"


def consumer(stack: Stack, **kwargs: Any) -> StreamConsumer:
    if "function" not in kwargs:
        kwargs.setdefault("code", CODE)
        kwargs.setdefault("handler", HANDLER)
    return StreamConsumer(stack, "Consumer", **kwargs)


def streamed_table(stack: Stack, construct_id: str = "Table") -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        construct_id,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )


def mapping(stack: Stack) -> dict[str, Any]:
    return dict(only(Template.from_stack(stack), "AWS::Lambda::EventSourceMapping")["Properties"])


def policy_statements(stack: Stack) -> list[dict[str, Any]]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions_on(stack: Stack, resource_id: str, attribute: str = "Arn") -> set[str]:
    found: set[str] = set()
    for statement in policy_statements(stack):
        if statement["Resource"] == {"Fn::GetAtt": [resource_id, attribute]}:
            actions = statement["Action"]
            found |= {actions} if isinstance(actions, str) else set(actions)
    return found


# --- defaults ---------------------------------------------------------------------------------


def test_new_kinesis_stream_is_on_demand_and_encrypted(stack: Stack) -> None:
    consumer(stack)
    stream = only(Template.from_stack(stack), "AWS::Kinesis::Stream")["Properties"]
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}


def test_mapping_bounds_retries_and_record_age_and_bisects(stack: Stack) -> None:
    """The service defaults are -1 (infinite) for both bounds and false for bisect ("Lambda
    parameters for Amazon Kinesis Data Streams event source mappings"): one bad record would
    block its shard until it expires."""
    consumer(stack)
    props = mapping(stack)
    assert props["MaximumRetryAttempts"] == 5
    assert props["MaximumRecordAgeInSeconds"] == 3600
    assert props["BisectBatchOnFunctionError"] is True
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == 100
    assert props["ParallelizationFactor"] == 1
    assert "TumblingWindowInSeconds" not in props


def test_discarded_batches_go_to_a_new_encrypted_queue(stack: Stack) -> None:
    c = consumer(stack)
    queue_id = logical_id(stack, c.on_failure)
    assert mapping(stack)["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }
    queue = Template.from_stack(stack).find_resources("AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    # "Retain discarded batch records ...": the execution role needs sqs:SendMessage.
    assert "sqs:SendMessage" in actions_on(stack, queue_id)


def test_function_may_read_the_kinesis_stream(stack: Stack) -> None:
    """The reading actions of the AWSLambdaKinesisExecutionRole managed policy, on the stream."""
    c = consumer(stack)
    assert c.stream is not None
    granted = actions_on(stack, logical_id(stack, c.stream))
    assert {
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    } <= granted


def test_dynamodb_table_stream_is_consumed_and_readable(stack: Stack) -> None:
    """ "IAM policy to allow an AWS Lambda function to access DynamoDB stream records":
    DescribeStream, GetRecords, GetShardIterator on the stream, ListStreams."""
    table = streamed_table(stack)
    c = consumer(stack, table=table)
    table_id = logical_id(stack, table)
    assert c.stream is None and c.table is table
    assert mapping(stack)["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= (
        actions_on(stack, table_id, "StreamArn")
    )
    assert any("dynamodb:ListStreams" in s["Action"] for s in policy_statements(stack))
    Template.from_stack(stack).resource_count_is("AWS::Kinesis::Stream", 0)


def test_existing_stream_is_consumed_without_creating_one(stack: Stack) -> None:
    stream = kinesis.Stream(stack, "Existing", encryption=kinesis.StreamEncryption.MANAGED)
    c = consumer(stack, stream=stream)
    assert c.stream is stream
    Template.from_stack(stack).resource_count_is("AWS::Kinesis::Stream", 1)
    assert mapping(stack)["EventSourceArn"] == {"Fn::GetAtt": [logical_id(stack, stream), "Arn"]}


def test_settings_reach_the_mapping(stack: Stack) -> None:
    consumer(
        stack,
        batch_size=500,
        max_batching_window=Duration.seconds(10),
        parallelization_factor=4,
        retry_attempts=0,
        max_record_age=Duration.seconds(60),
        tumbling_window=Duration.seconds(900),
        starting_position=lambda_.StartingPosition.LATEST,
        filters=[{"data": {"kind": ["order"]}}],
    )
    props = mapping(stack)
    assert props["BatchSize"] == 500
    assert props["MaximumBatchingWindowInSeconds"] == 10
    assert props["ParallelizationFactor"] == 4
    assert props["MaximumRetryAttempts"] == 0
    assert props["MaximumRecordAgeInSeconds"] == 60
    assert props["TumblingWindowInSeconds"] == 900
    assert props["StartingPosition"] == "LATEST"
    assert props["FilterCriteria"] == {"Filters": [{"Pattern": '{"data":{"kind":["order"]}}'}]}


def test_at_timestamp_reaches_the_mapping(stack: Stack) -> None:
    consumer(
        stack,
        starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
        starting_position_timestamp=1_700_000_000,
    )
    props = mapping(stack)
    assert props["StartingPosition"] == "AT_TIMESTAMP"
    assert props["StartingPositionTimestamp"] == 1_700_000_000


def test_topic_destination_is_granted_publish(stack: Stack) -> None:
    topic = sns.Topic(stack, "Failures")
    consumer(stack, on_failure=topic)
    topic_id = logical_id(stack, topic)
    assert mapping(stack)["DestinationConfig"] == {"OnFailure": {"Destination": {"Ref": topic_id}}}
    assert any(
        s["Action"] == "sns:Publish" and s["Resource"] == {"Ref": topic_id}
        for s in policy_statements(stack)
    )
    Template.from_stack(stack).resource_count_is("AWS::SQS::Queue", 0)


def test_bucket_destination_is_granted_put_and_list(stack: Stack) -> None:
    """ "Retain discarded batch records ...": an S3 destination needs s3:PutObject and
    s3:ListBucket."""
    bucket = s3.Bucket(stack, "Failures")
    consumer(stack, on_failure=bucket)
    bucket_id = logical_id(stack, bucket)
    assert mapping(stack)["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [bucket_id, "Arn"]}}
    }
    granted: set[str] = set()
    for statement in policy_statements(stack):
        if bucket_id in str(statement["Resource"]):
            actions = statement["Action"]
            granted |= {actions} if isinstance(actions, str) else set(actions)
    assert {"s3:PutObject", "s3:List*"} <= granted or {"s3:PutObject", "s3:ListBucket"} <= granted


def test_event_source_mapping_waits_for_its_permissions(stack: Stack) -> None:
    """CreateEventSourceMapping checks that the role can read the stream: the mapping must be
    created after the role's policy."""
    c = consumer(stack)
    resources = Template.from_stack(stack).to_json()["Resources"]
    esm_id = logical_id(stack, c.event_source_mapping)
    policy_ids = list(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert set(policy_ids) <= set(resources[esm_id].get("DependsOn", []))


def test_idempotency_adds_a_table_and_environment(stack: Stack) -> None:
    c = consumer(stack, idempotency=IdempotencyOptions())
    assert c.idempotency_table is not None
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"IDEMPOTENCY_TABLE_NAME": Match.any_value()})
            }
        },
    )


# --- alarms and metrics -------------------------------------------------------------------


def alarm_metrics(stack: Stack) -> dict[str, tuple[str, str, float, list[str]]]:
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    return {
        key: (
            a["Properties"]["Namespace"],
            a["Properties"]["MetricName"],
            a["Properties"]["Threshold"],
            sorted(d["Name"] for d in a["Properties"]["Dimensions"]),
        )
        for key, a in alarms.items()
    }


def test_kinesis_consumer_has_four_alarms_with_documented_dimensions(stack: Stack) -> None:
    """IteratorAge per FunctionName ("Types of metrics for Lambda functions");
    ReadProvisionedThroughputExceeded per StreamName ("Monitoring the Amazon Kinesis Data
    Streams service with Amazon CloudWatch")."""
    c = consumer(stack)
    assert len(c.alarms) == 4
    assert sorted(alarm_metrics(stack).values()) == sorted(
        [
            ("AWS/Lambda", "IteratorAge", 300_000, ["FunctionName"]),
            ("AWS/Lambda", "Errors", 1, ["FunctionName"]),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", 1, ["QueueName"]),
            ("AWS/Kinesis", "ReadProvisionedThroughputExceeded", 1, ["StreamName"]),
        ]
    )


def test_dynamodb_consumer_has_no_kinesis_alarm(stack: Stack) -> None:
    c = consumer(stack, table=streamed_table(stack))
    assert len(c.alarms) == 3
    assert "AWS/Kinesis" not in {ns for ns, *_ in alarm_metrics(stack).values()}
    with pytest.raises(ValueError, match="Test/Consumer: a DynamoDB stream has no Kinesis"):
        c.metric_read_provisioned_throughput_exceeded()


def test_topic_destination_has_no_queue_alarm(stack: Stack) -> None:
    c = consumer(stack, on_failure=sns.Topic(stack, "Failures"))
    assert len(c.alarms) == 3
    with pytest.raises(ValueError, match="not a queue"):
        c.metric_failed_batches()


def test_alarm_thresholds_and_action_are_configurable(stack: Stack) -> None:
    topic = sns.Topic(stack, "Ops")
    c = consumer(
        stack,
        alarms=StreamConsumerAlarms(
            iterator_age=Duration.minutes(1), function_errors=None, read_throughput_exceeded=3
        ),
        alarm_action=cw_actions.SnsAction(topic),
    )
    assert len(c.alarms) == 3
    metrics = alarm_metrics(stack)
    assert ("AWS/Lambda", "IteratorAge", 60_000, ["FunctionName"]) in metrics.values()
    assert ("AWS/Lambda", "Errors", 1, ["FunctionName"]) not in metrics.values()
    for alarm in Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": logical_id(stack, topic)}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": logical_id(stack, topic)}]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be between 1 and 10000, got 0"),
        ({"batch_size": 10_001}, "batch_size must be between 1 and 10000, got 10001"),
        ({"parallelization_factor": 11}, "parallelization_factor must be between 1 and 10, got 11"),
        ({"parallelization_factor": 0}, "parallelization_factor must be between 1 and 10, got 0"),
        ({"retry_attempts": -1}, "retry_attempts must be between 0 and 10000, got -1"),
        ({"retry_attempts": 10_001}, "retry_attempts must be between 0 and 10000, got 10001"),
        ({"max_record_age": Duration.seconds(59)}, r"max_record_age \(seconds\) must be between"),
        ({"max_record_age": Duration.days(8)}, r"between 60 and 604800, got 691200"),
        ({"tumbling_window": Duration.seconds(901)}, r"between 0 and 900, got 901"),
        ({"max_batching_window": Duration.seconds(301)}, r"between 0 and 300, got 301"),
        (
            {"starting_position": lambda_.StartingPosition.AT_TIMESTAMP},
            "starting_position_timestamp goes with AT_TIMESTAMP only",
        ),
        ({"starting_position_timestamp": 1.0}, "goes with AT_TIMESTAMP only"),
        ({"stream_props": {"shard_cont": 2}}, r"stream_props\['shard_cont'\].*'shard_count'"),
        (
            {"stream_props": {"encryption": kinesis.StreamEncryption.UNENCRYPTED}},
            "UNENCRYPTED is not allowed",
        ),
        ({"on_failure_queue_props": {"fifo": True, "x": 1}}, r"on_failure_queue_props\['x'\]"),
    ],
)
def test_bad_props_raise_naming_the_path_and_value(
    stack: Stack, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=rf"^Test/Consumer.*{message}"):
        consumer(stack, **kwargs)


def test_stream_and_table_are_exclusive(stack: Stack) -> None:
    stream = kinesis.Stream(stack, "S")
    with pytest.raises(ValueError, match=r"Test/Consumer: pass either 'stream'.*'table'"):
        consumer(stack, stream=stream, table=streamed_table(stack))


def test_stream_and_stream_props_are_exclusive(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"either 'stream'.*'stream_props'"):
        consumer(stack, stream=kinesis.Stream(stack, "S"), stream_props={"shard_count": 1})


def test_destination_and_queue_props_are_exclusive(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"either 'on_failure'.*'on_failure_queue_props'"):
        consumer(stack, on_failure=sqs.Queue(stack, "Q"), on_failure_queue_props={})


def test_table_without_stream_is_refused(stack: Stack) -> None:
    table = dynamodb.Table(
        stack, "T", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    with pytest.raises(ValueError, match="Test/Consumer: table 'Test/T' has no stream"):
        consumer(stack, table=table)


def test_at_timestamp_is_refused_for_dynamodb(stack: Stack) -> None:
    with pytest.raises(ValueError, match="AT_TIMESTAMP is for Kinesis streams only"):
        consumer(
            stack,
            table=streamed_table(stack),
            starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
            starting_position_timestamp=1.0,
        )


def test_fifo_destination_is_refused_for_dynamodb(stack: Stack) -> None:
    """ "Lambda parameters for Amazon DynamoDB event source mappings": a *standard* queue."""
    fifo = sqs.Queue(stack, "Q", fifo=True)
    with pytest.raises(ValueError, match="must be a standard queue, got the FIFO queue 'Test/Q'"):
        consumer(stack, table=streamed_table(stack), on_failure=fifo)


def test_function_and_code_are_exclusive(stack: Stack) -> None:
    fn = lambda_.Function(
        stack, "Fn", code=CODE, handler=HANDLER, runtime=lambda_.Runtime.PYTHON_3_13
    )
    with pytest.raises(ValueError, match=r"either 'function'.*'code'"):
        StreamConsumer(stack, "Consumer", function=fn, code=CODE)
    with pytest.raises(ValueError, match="pass 'code' and 'handler'"):
        StreamConsumer(stack, "Other")


def test_tokens_are_not_validated(stack: Stack) -> None:
    size = CfnParameter(stack, "Size", type="Number").value_as_number
    consumer(stack, batch_size=size, parallelization_factor=size, retry_attempts=size)
    assert "Ref" in mapping(stack)["BatchSize"]


def test_turning_bisect_off_warns(stack: Stack) -> None:
    consumer(stack, bisect_batch_on_error=False)
    assert mapping(stack)["BisectBatchOnFunctionError"] is False
    Annotations.from_stack(stack).has_warning(
        "/Test/Consumer", Match.string_like_regexp("bisect_batch_on_error is off")
    )


# --- properties at the boundaries -------------------------------------------------------------

_FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FAST
@given(retries=st.integers(min_value=-50, max_value=20_000))
def test_retry_attempts_accepted_exactly_within_0_to_10000(retries: int) -> None:
    stack = Stack(new_app(), "Test")
    if 0 <= retries <= 10_000:
        consumer(stack, retry_attempts=retries)
        assert mapping(stack)["MaximumRetryAttempts"] == retries
    else:
        with pytest.raises(ValueError, match=rf"Test/Consumer: retry_attempts .*got {retries}"):
            consumer(stack, retry_attempts=retries)


@_FAST
@given(age=st.integers(min_value=0, max_value=700_000))
def test_record_age_accepted_exactly_within_60_to_604800(age: int) -> None:
    stack = Stack(new_app(), "Test")
    if 60 <= age <= 604_800:
        consumer(stack, max_record_age=Duration.seconds(age))
        assert mapping(stack)["MaximumRecordAgeInSeconds"] == age
    else:
        with pytest.raises(ValueError, match=rf"Test/Consumer: max_record_age.*got {age}"):
            consumer(stack, max_record_age=Duration.seconds(age))


@_FAST
@given(
    factor=st.integers(min_value=-2, max_value=15),
    window=st.integers(min_value=0, max_value=1_000),
)
def test_parallelization_and_tumbling_window_boundaries(factor: int, window: int) -> None:
    stack = Stack(new_app(), "Test")
    valid = 1 <= factor <= 10 and window <= 900
    if valid:
        consumer(stack, parallelization_factor=factor, tumbling_window=Duration.seconds(window))
        props = mapping(stack)
        assert props["ParallelizationFactor"] == factor
        assert props.get("TumblingWindowInSeconds", 0) == window
    else:
        with pytest.raises(ValueError, match=r"^Test/Consumer: .*must be between"):
            consumer(stack, parallelization_factor=factor, tumbling_window=Duration.seconds(window))
