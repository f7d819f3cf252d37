"""The stream a StreamConsumer reads, and where its discarded batches go.

Facts relied on (AWS documentation):
- "Lambda parameters for Amazon Kinesis Data Streams event source mappings" and "Lambda
  parameters for Amazon DynamoDB event source mappings": BatchSize up to 10,000;
  MaximumRetryAttempts -1 (infinite) to 10,000; MaximumRecordAgeInSeconds -1 (infinite) or 60 to
  604,800; ParallelizationFactor 1 to 10; TumblingWindowInSeconds 0 to 900; StartingPosition
  TRIM_HORIZON or LATEST (AT_TIMESTAMP for Kinesis only); the DynamoDB destination must be a
  *standard* SQS queue or SNS topic.
- "AWS::Lambda::EventSourceMapping OnFailure" (CloudFormation): Kinesis and DynamoDB Streams
  retain failed batches in an SNS topic, an SQS queue or an S3 bucket.
- "Retain discarded batch records for a Kinesis Data Streams event source in Lambda": the
  execution role needs sqs:SendMessage, sns:Publish, or s3:PutObject and s3:ListBucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from serverless_patterns.constructs._validation import check_prop_keys, is_known

#: Where a stream event source mapping sends the records of a batch it discards.
FailureDestination = sqs.IQueue | sns.ITopic | s3.IBucket

MAX_BATCH_SIZE = 10_000
MAX_RETRY_ATTEMPTS = 10_000
MIN_RECORD_AGE_SECONDS = 60
MAX_RECORD_AGE_SECONDS = 604_800
MAX_PARALLELIZATION_FACTOR = 10
MAX_TUMBLING_WINDOW_SECONDS = 900
MAX_BATCHING_WINDOW_SECONDS = 300

#: Library defaults: bounded where the service's are infinite (see the README's defaults table).
BATCH_SIZE = 100
RETRY_ATTEMPTS = 5
MAX_RECORD_AGE_DEFAULT_SECONDS = 3600


def new_kinesis_stream(
    scope: Construct,
    construct_id: str,
    props: Mapping[str, Any] | None,
    encryption_key: kms.IKey | None = None,
) -> kinesis.Stream:
    """Defines an on-demand Kinesis data stream encrypted with ``encryption_key`` (the AWS
    managed key without one), unless ``props`` (``aws_kinesis.Stream`` arguments) say
    otherwise; an unencrypted stream is refused."""
    check_prop_keys(f"{scope.node.path}/{construct_id}", "stream_props", props, kinesis.Stream)
    encryption: dict[str, Any] = (
        {"encryption": kinesis.StreamEncryption.MANAGED}
        if encryption_key is None
        else {"encryption": kinesis.StreamEncryption.KMS, "encryption_key": encryption_key}
    )
    merged: dict[str, Any] = {
        "stream_mode": kinesis.StreamMode.ON_DEMAND,
        **encryption,
        **(props or {}),
    }
    if merged["encryption"] == kinesis.StreamEncryption.UNENCRYPTED:
        raise ValueError(
            f"{scope.node.path}/{construct_id}: streams are encrypted at rest; "
            "encryption=StreamEncryption.UNENCRYPTED is not allowed"
        )
    return kinesis.Stream(scope, construct_id, **merged)


def table_stream_arn(scope: Construct, table: dynamodb.ITable) -> str:
    """The ARN of ``table``'s stream; ValueError when the table has none."""
    arn = table.table_stream_arn
    if arn is None:
        raise ValueError(
            f"{scope.node.path}: table {table.node.path!r} has no stream; define it with "
            "stream=StreamViewType.NEW_AND_OLD_IMAGES (or import it with table_stream_arn)"
        )
    return arn


def failure_destination(
    scope: Construct, destination: FailureDestination, *, dynamodb_source: bool
) -> tuple[lambda_.IEventSourceDlq, bool]:
    """The CDK on-failure destination for ``destination``, and whether it is an S3 bucket.

    Binding it grants the function what the destination needs (``SqsDlq``: sqs:SendMessage;
    ``SnsDlq``: sns:Publish; ``S3OnFailureDestination``: S3 writes). A FIFO queue is refused
    for a DynamoDB stream, whose destination must be a standard queue.
    """
    # jsii interfaces cannot be checked with isinstance: tell them apart by their ARN attribute.
    if hasattr(destination, "bucket_arn"):
        return sources.S3OnFailureDestination(destination), True  # type: ignore[arg-type]
    if hasattr(destination, "topic_arn"):
        return sources.SnsDlq(destination), False  # type: ignore[arg-type]
    if not hasattr(destination, "queue_arn"):
        raise ValueError(
            f"{scope.node.path}: on_failure must be an SQS queue, an SNS topic or an S3 bucket, "
            f"got {type(destination).__name__}"
        )
    if dynamodb_source and is_known(destination.fifo) and destination.fifo:
        raise ValueError(
            f"{scope.node.path}: the on-failure destination of a DynamoDB stream must be a "
            f"standard queue, got the FIFO queue {destination.node.path!r}"
        )
    return sources.SqsDlq(destination), False
