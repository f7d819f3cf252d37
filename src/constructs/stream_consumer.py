"""StreamConsumer: ordered stream processing, Kinesis or DynamoDB Streams to Lambda (pattern 7)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs import _stream_source as limits
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._function import function_or_baseline
from serverless_patterns.constructs._idempotency import (
    IdempotencyOptions,
    check_idempotency_options,
    enable_idempotency,
)
from serverless_patterns.constructs._nag import acknowledge
from serverless_patterns.constructs._queue import acknowledge_library_send_grant, dead_letter_queue
from serverless_patterns.constructs._stream_source import (
    FailureDestination,
    failure_destination,
    new_kinesis_stream,
    table_stream_arn,
)
from serverless_patterns.constructs._validation import (
    check_range,
    check_whole_seconds,
    is_known,
    reject_both,
    seconds,
)


@dataclass(frozen=True)
class StreamConsumerAlarms:
    """Alarm thresholds of a StreamConsumer; set one to None to leave that alarm out.

    :param iterator_age: age of the last record of a batch when the function received it
        (the stream falling behind). Default: - 5 minutes.
    :param function_errors: function errors per period. Default: - 1.
    :param failed_batches: messages visible in the on-failure queue (only when the destination
        is a queue). Default: - 1 (any discarded batch).
    :param read_throughput_exceeded: throttled GetRecords calls on the Kinesis stream per period
        (Kinesis only). Default: - 1.
    :param period: the period each metric is evaluated over. Default: - 5 minutes.
    """

    iterator_age: Duration | None = field(default_factory=lambda: Duration.minutes(5))
    function_errors: int | None = 1
    failed_batches: int | None = 1
    read_throughput_exceeded: int | None = 1
    period: Duration = field(default_factory=_defaults.metric_period)


class StreamConsumer(Construct):
    """Defines a Lambda function consuming a Kinesis data stream or a DynamoDB table stream.

    By default it creates: an on-demand Kinesis stream encrypted with the AWS managed key
    (unless ``stream`` or ``table`` is given); a ``BaselineFunction``; an event source mapping
    that reports batch item failures, bisects a failing batch, retries a batch at most 5 times
    and skips records older than 1 hour (the service defaults are infinite: one bad record would
    block its shard until the record expires); an encrypted, TLS-only SQS queue kept 14 days
    that receives what was discarded; and alarms on iterator age, function errors, discarded
    batches and (Kinesis) read throttling. With ``idempotency`` it also gives the function an
    idempotency table (pattern 2).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code | None = None,
        handler: str | None = None,
        function: lambda_.IFunction | None = None,
        function_props: Mapping[str, Any] | None = None,
        stream: kinesis.IStream | None = None,
        stream_props: Mapping[str, Any] | None = None,
        table: dynamodb.ITable | None = None,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        starting_position_timestamp: float | None = None,
        batch_size: int = limits.BATCH_SIZE,
        max_batching_window: Duration | None = None,
        parallelization_factor: int = 1,
        retry_attempts: int = limits.RETRY_ATTEMPTS,
        max_record_age: Duration | None = None,
        bisect_batch_on_error: bool = True,
        on_failure: FailureDestination | None = None,
        on_failure_queue_props: Mapping[str, Any] | None = None,
        tumbling_window: Duration | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        idempotency: IdempotencyOptions | None = None,
        encryption_key: kms.IKey | None = None,
        alarms: StreamConsumerAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param code: code of a new function, for example ``runtime_code()``.
            Default: - none; required unless ``function`` is given.
        :param handler: handler of a new function. Default: - none; required with ``code``.
        :param function: an existing function to consume the stream.
            Default: - a new ``BaselineFunction`` from ``code`` and ``handler``.
        :param function_props: ``aws_lambda.Function`` arguments overriding the
            ``BaselineFunction`` defaults. Default: - the baseline (30 s, 256 MB, arm64, ...).
        :param stream: an existing Kinesis data stream to consume.
            Default: - a new stream, unless ``table`` is given.
        :param stream_props: ``aws_kinesis.Stream`` arguments for the new stream (unencrypted is
            refused). Default: - on-demand, encrypted with the AWS managed key ``aws/kinesis``.
        :param table: a DynamoDB table whose stream to consume (it must have one).
            Default: - a Kinesis stream is consumed.
        :param starting_position: where a new mapping starts reading. ``AT_TIMESTAMP`` is for
            Kinesis only and needs ``starting_position_timestamp``. Default: - ``TRIM_HORIZON``
            (the oldest record kept, so nothing written before the mapping is missed).
        :param starting_position_timestamp: Unix time in seconds, with ``AT_TIMESTAMP``.
            Default: - none.
        :param batch_size: records per invocation, 1-10,000. Default: - 100.
        :param max_batching_window: how long Lambda gathers records, at most 300 s.
            Default: - no window.
        :param parallelization_factor: batches per shard processed at once, 1-10 (records of a
            partition key stay in order). Default: - 1.
        :param retry_attempts: retries of a failing batch before it is discarded to
            ``on_failure``, 0-10,000 (infinite, the service default, is refused).
            Default: - 5.
        :param max_record_age: records older than this are discarded to ``on_failure``, 60 s to
            7 days (infinite, the service default, is refused). Default: - 1 hour.
        :param bisect_batch_on_error: split a failing batch in two and retry each half.
            Default: - True.
        :param on_failure: where discarded batches are described: an SQS queue, an SNS topic or
            an S3 bucket (S3 also receives the records' payload). Default: - a new encrypted,
            TLS-only queue kept 14 days.
        :param on_failure_queue_props: ``aws_sqs.Queue`` arguments for the new on-failure
            queue. Default: - SQS-managed encryption, 14-day retention.
        :param tumbling_window: aggregate in windows of this length, 0-900 s; the handler then
            returns ``state`` (``serverless_patterns.runtime.streams.tumbling_window_handler``).
            Default: - no window.
        :param filters: Lambda event filter patterns; records matching none are skipped.
            Default: - every record is delivered.
        :param idempotency: give the function an idempotency table (see QueueWorker); the
            runtime keys records on their event id (shard and sequence number) by default.
            Default: - none; the handler must tolerate a record delivered twice.
        :param alarms: alarm thresholds. Default: - ``StreamConsumerAlarms()``.
        :param alarm_action: action for every alarm (ALARM and OK).
            Default: - alarms without actions.
        :param encryption_key: a customer-managed key encrypting the new stream, the new
            on-failure queue, the new function's log group and a new idempotency table; the
            function gets the key actions it needs. Default: - the AWS managed key
            ``aws/kinesis``, an SQS-managed queue, ``aws/dynamodb``, log groups encrypted by
            CloudWatch Logs.
        """
        super().__init__(scope, construct_id)
        reject_both(
            self, "function", function, function_props=function_props, code=code, handler=handler
        )
        if function is None and (code is None or handler is None):
            raise ValueError(
                f"{self.node.path}: pass 'code' and 'handler' for a new function, "
                "or an existing 'function'"
            )
        reject_both(self, "stream", stream, stream_props=stream_props, table=table)
        reject_both(self, "table", table, stream_props=stream_props)
        reject_both(self, "on_failure", on_failure, on_failure_queue_props=on_failure_queue_props)
        is_kinesis = table is None
        max_record_age = max_record_age or Duration.seconds(limits.MAX_RECORD_AGE_DEFAULT_SECONDS)
        self._validate_event_source(
            is_kinesis=is_kinesis,
            starting_position=starting_position,
            starting_position_timestamp=starting_position_timestamp,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            parallelization_factor=parallelization_factor,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            tumbling_window=tumbling_window,
        )
        if idempotency is not None:
            check_idempotency_options(self, idempotency)

        #: The Kinesis stream consumed; None for a DynamoDB stream.
        self.stream: kinesis.IStream | None = None
        #: The DynamoDB table whose stream is consumed; None for Kinesis.
        self.table: dynamodb.ITable | None = table
        if table is not None:
            source_arn = table_stream_arn(self, table)
        else:
            self.stream = stream or new_kinesis_stream(self, "Stream", stream_props, encryption_key)
            source_arn = self.stream.stream_arn
            if stream is None:
                acknowledge(
                    self.stream,
                    "AwsSolutions-KDS3",
                    "The stream is encrypted with the AWS managed key aws/kinesis; pass "
                    "stream_props with encryption=KMS and an encryption_key for a "
                    "customer-managed key."
                    if self.stream.encryption_key is None
                    else "A customer-managed key was asked for (encryption_key), as regulated "
                    "workloads require; its per-request KMS cost is accepted with it.",
                )

        #: Where discarded batches go: the given destination or a new queue.
        self.on_failure: FailureDestination = on_failure or dead_letter_queue(
            self,
            "FailedBatches",
            fifo=False,
            props=on_failure_queue_props,
            dead_letter_of="the stream event source mapping (its on-failure destination)",
            props_name="on_failure_queue_props",
            encryption_key=encryption_key,
        )
        destination, to_s3 = failure_destination(
            self, self.on_failure, dynamodb_source=not is_kinesis
        )

        #: The function that processes the records.
        self.function: lambda_.IFunction = function_or_baseline(
            self,
            function,
            code=code,
            handler=handler,
            function_props=function_props,
            synchronous_reason="The function is invoked synchronously by the stream event "
            "source mapping; a function DLQ applies only to asynchronous invocations. Discarded "
            "batches go to the mapping's on-failure destination.",
            encryption_key=encryption_key,
        )
        self._grant_read()
        if hasattr(self.on_failure, "queue_arn"):
            acknowledge_library_send_grant(self.function.role, self.on_failure)  # type: ignore[arg-type]
        #: The table of idempotency records; None without ``idempotency``.
        self.idempotency_table: dynamodb.ITable | None = (
            enable_idempotency(self, self.function, idempotency, encryption_key=encryption_key)
            if idempotency is not None
            else None
        )
        #: The event source mapping from the stream to the function.
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSource",
            target=self.function,
            event_source_arn=source_arn,
            starting_position=starting_position,
            starting_position_timestamp=starting_position_timestamp,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            parallelization_factor=parallelization_factor,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            bisect_batch_on_error=bisect_batch_on_error,
            report_batch_item_failures=True,
            on_failure=destination,
            support_s3_on_failure_destination=to_s3 or None,
            tumbling_window=tumbling_window,
            filters=[lambda_.FilterCriteria.filter(pattern) for pattern in filters]
            if filters
            else None,
        )
        if self.function.role is not None:
            # CreateEventSourceMapping checks that the role may read the stream: create the
            # mapping after the role's policies.
            self.event_source_mapping.node.add_dependency(self.function.role)
        if not bisect_batch_on_error:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:streamConsumer:noBisect",
                "bisect_batch_on_error is off: a batch that fails as a whole (a timeout, an "
                "out-of-memory error) is retried whole until retry_attempts, and every record "
                "in it is discarded, not only the bad one.",
            )
        #: The alarms created, in the order: iterator age, errors, failed batches, throttling.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(
            alarms or StreamConsumerAlarms(), alarm_action
        )

    # --- metrics --------------------------------------------------------------------------
    # Names, dimensions and statistics: "Types of metrics for Lambda functions" (IteratorAge,
    # per FunctionName), "Monitoring the Amazon Kinesis Data Streams service with Amazon
    # CloudWatch" (stream metrics, per StreamName) and "Available CloudWatch metrics for
    # Amazon SQS" (AWS documentation).

    def metric_iterator_age(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Age in milliseconds of the last record of each batch when the function received it:
        ``AWS/Lambda`` ``IteratorAge``, maximum per period (default 5 minutes)."""
        return self.function.metric(
            "IteratorAge", period=period or _defaults.metric_period(), statistic="Maximum"
        )

    def metric_errors(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Invocations that failed as a whole: ``AWS/Lambda`` ``Errors``, sum per period
        (default 5 minutes)."""
        return self.function.metric_errors(
            period=period or _defaults.metric_period(), statistic="Sum"
        )

    def metric_failed_batches(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Descriptions of discarded batches waiting in the on-failure queue: ``AWS/SQS``
        ``ApproximateNumberOfMessagesVisible``, maximum per period (default 5 minutes).
        Raises ValueError when the destination is not a queue."""
        queue = self.on_failure
        if not hasattr(queue, "queue_arn"):
            raise ValueError(
                f"{self.node.path}: the on-failure destination is not a queue; use the "
                "topic's or bucket's own metrics"
            )
        return queue.metric_approximate_number_of_messages_visible(  # type: ignore[union-attr]
            period=period or _defaults.metric_period(), statistic="Maximum"
        )

    def metric_read_provisioned_throughput_exceeded(
        self, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """Throttled GetRecords calls on the Kinesis stream: ``AWS/Kinesis``
        ``ReadProvisionedThroughputExceeded``, sum per period (default 5 minutes).
        Raises ValueError for a DynamoDB stream."""
        if self.stream is None:
            raise ValueError(f"{self.node.path}: a DynamoDB stream has no Kinesis metrics")
        return self.stream.metric_read_provisioned_throughput_exceeded(
            period=period or _defaults.metric_period(), statistic="Sum"
        )

    # --- internals ------------------------------------------------------------------------

    def _grant_read(self) -> None:
        """Grants the function what its event source mapping reads with: for Kinesis
        ``IStream.grant_read`` (DescribeStreamSummary, GetRecords, GetShardIterator, ListShards,
        and decrypt with a customer-managed key), for DynamoDB ``ITable.grant_stream_read``
        (DescribeStream, GetRecords, GetShardIterator, ListStreams): the actions of
        ``AWSLambdaKinesisExecutionRole`` and of "IAM policy to allow an AWS Lambda function to
        access DynamoDB stream records"."""
        if self.function.role is None:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:streamConsumer:noRoleToGrant",
                "The imported function has no known role: grant it read access to the stream "
                "and write access to the on-failure destination.",
            )
            return
        if self.stream is not None:
            self.stream.grant_read(self.function)
        elif self.table is not None:
            self.table.grant_stream_read(self.function)

    def _validate_event_source(
        self,
        *,
        is_kinesis: bool,
        starting_position: lambda_.StartingPosition,
        starting_position_timestamp: float | None,
        batch_size: int,
        max_batching_window: Duration | None,
        parallelization_factor: int,
        retry_attempts: int,
        max_record_age: Duration,
        tumbling_window: Duration | None,
    ) -> None:
        at_timestamp = starting_position == lambda_.StartingPosition.AT_TIMESTAMP
        if at_timestamp and not is_kinesis:
            raise ValueError(
                f"{self.node.path}: starting_position AT_TIMESTAMP is for Kinesis streams only; "
                "a DynamoDB stream starts at TRIM_HORIZON or LATEST"
            )
        if at_timestamp != (starting_position_timestamp is not None):
            raise ValueError(
                f"{self.node.path}: starting_position_timestamp goes with AT_TIMESTAMP only, "
                f"got starting_position {starting_position.value} and timestamp "
                f"{starting_position_timestamp}"
            )
        check_range(self, "batch_size", batch_size, 1, limits.MAX_BATCH_SIZE)
        check_range(
            self,
            "max_batching_window (seconds)",
            seconds(max_batching_window),
            0,
            limits.MAX_BATCHING_WINDOW_SECONDS,
        )
        check_range(
            self,
            "parallelization_factor",
            parallelization_factor,
            1,
            limits.MAX_PARALLELIZATION_FACTOR,
        )
        if is_known(retry_attempts) and retry_attempts < 0:
            raise ValueError(
                f"{self.node.path}: retry_attempts must be between 0 and "
                f"{limits.MAX_RETRY_ATTEMPTS}, got {retry_attempts} (infinite retries block "
                "the shard until the record expires)"
            )
        check_range(self, "retry_attempts", retry_attempts, 0, limits.MAX_RETRY_ATTEMPTS)
        check_whole_seconds(
            self,
            "max_record_age",
            max_record_age,
            limits.MIN_RECORD_AGE_SECONDS,
            limits.MAX_RECORD_AGE_SECONDS,
        )
        if tumbling_window is not None:
            check_whole_seconds(
                self, "tumbling_window", tumbling_window, 0, limits.MAX_TUMBLING_WINDOW_SECONDS
            )

    def _create_alarms(
        self, thresholds: StreamConsumerAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        period = thresholds.period
        is_queue = hasattr(self.on_failure, "queue_arn")
        wanted: list[AlarmSpec] = [
            (
                "IteratorAge",
                self.metric_iterator_age(period=period),
                thresholds.iterator_age.to_milliseconds()
                if thresholds.iterator_age is not None
                else None,
                "The stream is falling behind: the function received records older than the "
                "threshold (milliseconds).",
            ),
            (
                "FunctionErrors",
                self.metric_errors(period=period),
                thresholds.function_errors,
                "The consumer function failed whole invocations; its shard is retried and "
                "blocked meanwhile.",
            ),
            (
                "FailedBatches",
                self.metric_failed_batches(period=period) if is_queue else None,
                thresholds.failed_batches,
                "Batches were discarded after the retry bound or the maximum record age; their "
                "descriptions wait in the on-failure queue.",
            ),
            (
                "ReadThroughputExceeded",
                self.metric_read_provisioned_throughput_exceeded(period=period)
                if self.stream is not None
                else None,
                thresholds.read_throughput_exceeded,
                "GetRecords calls on the stream were throttled; consumers share the shard's "
                "read throughput (consider enhanced fan-out or fewer consumers).",
            ),
        ]
        return threshold_alarms(self, wanted, action=action)
