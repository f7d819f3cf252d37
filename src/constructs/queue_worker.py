"""QueueWorker: queue decoupling, SQS to Lambda (pattern 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._function import function_or_baseline, reserved_concurrency
from serverless_patterns.constructs._idempotency import (
    IdempotencyOptions,
    check_idempotency_options,
    enable_idempotency,
)
from serverless_patterns.constructs._nag import acknowledge
from serverless_patterns.constructs._queue import dead_letter_queue, grant_send, source_queue
from serverless_patterns.constructs._validation import (
    check_prop_keys,
    check_range,
    is_known,
    known_above,
    reject_both,
    seconds,
)

if TYPE_CHECKING:  # only annotations name it: no import at run time
    from aws_cdk import aws_dynamodb as dynamodb

#: Lambda's timeout when a function sets none.
_LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3
#: SQS's visibility timeout when a queue sets none. (6 x Lambda's 900 s maximum timeout plus a
#: 300 s window stays below the 12-hour SQS maximum, so the derived value is always valid.)
_SQS_DEFAULT_VISIBILITY_SECONDS = 30
_SQS_MAX_RECEIVE_COUNT = 1000

#: queue_props keys the pattern sets itself, and the argument to use instead.
_PATTERN_QUEUE_KEYS = {
    "visibility_timeout": "visibility_timeout",
    "dead_letter_queue": "max_receive_count and dead_letter_queue_props",
    "fifo": "fifo",
    "enforce_ssl": "nothing (TLS is always enforced)",
}


@dataclass(frozen=True)
class QueueWorkerAlarms:
    """Alarm thresholds of a QueueWorker; set one to None to leave that alarm out.

    :param dead_letter_messages: messages visible in the DLQ. Default: - 1 (any message).
    :param oldest_message_age: age of the oldest message in the queue. Default: - 15 minutes.
    :param function_errors: function errors per period. Default: - 1.
    :param function_throttles: function throttles per period. Default: - 1.
    :param period: the period each metric is evaluated over. Default: - 5 minutes.
    """

    dead_letter_messages: int | None = 1
    # Duration is immutable, so sharing one default instance is safe.
    oldest_message_age: Duration | None = field(default_factory=lambda: Duration.minutes(15))
    function_errors: int | None = 1
    function_throttles: int | None = 1
    period: Duration = field(default_factory=_defaults.metric_period)


class QueueWorker(Construct):
    """Defines an SQS queue consumed by a Lambda function with partial batch responses.

    By default it creates: an encrypted (SQS-managed), TLS-only queue whose visibility timeout
    is 6x the function timeout plus the batching window; an encrypted, TLS-only dead-letter
    queue kept 14 days, reached after 5 receives; a ``BaselineFunction``; an event source
    mapping that reports batch item failures; and four alarms (DLQ not empty, age of oldest
    message, function errors, throttles). With ``idempotency`` it also gives the function an
    idempotency table (pattern 2): a new ``IdempotencyTable`` or a shared one.
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
        function_timeout: Duration | None = None,
        queue: sqs.IQueue | None = None,
        queue_props: Mapping[str, Any] | None = None,
        dead_letter_queue_props: Mapping[str, Any] | None = None,
        fifo: bool = False,
        max_receive_count: int | None = None,
        visibility_timeout: Duration | None = None,
        batch_size: int = _defaults.BATCH_SIZE,
        max_batching_window: Duration | None = None,
        max_concurrency: int | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        idempotency: IdempotencyOptions | None = None,
        alarms: QueueWorkerAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param code: code of a new function, for example ``runtime_code()``.
            Default: - none; required unless ``function`` is given.
        :param handler: handler of a new function. Default: - none; required with ``code``.
        :param function: an existing function to consume the queue.
            Default: - a new ``BaselineFunction`` from ``code`` and ``handler``.
        :param function_props: ``aws_lambda.Function`` arguments overriding the
            ``BaselineFunction`` defaults; a key ``aws_lambda.Function`` does not take raises
            ValueError. Default: - the baseline (30 s, 256 MB, arm64, ...).
        :param function_timeout: the timeout of an imported ``function`` whose timeout cannot be
            read. Default: - read from the function (3 s when it sets none).
        :param queue: an existing queue to consume. Default: - a new encrypted queue with a DLQ.
        :param queue_props: ``aws_sqs.Queue`` arguments for the new queue (a key the class does
            not take raises ValueError). Default: - SQS-managed encryption, 4-day retention.
        :param dead_letter_queue_props: ``aws_sqs.Queue`` arguments for the new DLQ.
            Default: - SQS-managed encryption, 14-day retention.
        :param fifo: create FIFO queues (the DLQ too). Default: - standard queues, or the
            type of ``queue``.
        :param max_receive_count: receives before a message moves to the DLQ.
            Default: - 5 (below 5, throttled messages can be dead-lettered early).
        :param visibility_timeout: visibility timeout of the new queue; must be at least 6x the
            function timeout plus the batching window. Default: - exactly that minimum.
        :param batch_size: records per invocation: 1-10, up to 10,000 with a batching window
            on a standard queue. Default: - 10.
        :param max_batching_window: how long Lambda gathers records (at most 300 s; not on FIFO
            queues). Default: - no window.
        :param max_concurrency: maximum concurrent invocations of this event source (2-1000);
            protects a downstream without reserved concurrency. A function whose reserved
            concurrency is below it gets a synth warning
            (``serverless-patterns:queueWorker:reservedBelowMaxConcurrency``): Lambda would
            throttle the invocations above the reservation. Default: - 10 concurrent
            invocations, so a burst of messages cannot take the account's unreserved
            concurrency (a function reserving fewer is bounded by its reservation, and the
            event source gets no maximum); pass up to 1000 to raise the bound.
        :param filters: Lambda event filter patterns; Lambda deletes messages that match none.
            Default: - every message is delivered.
        :param idempotency: give the function an idempotency table: it may write exactly the
            item actions of ``serverless_patterns.runtime.idempotency`` on the table, and gets
            the table name and expiry in its environment (an imported function gets a synth
            warning to set them itself). Default: - no idempotency table; the handler must be
            idempotent itself (SQS delivers a message at least once).
        :param alarms: alarm thresholds. Default: - ``QueueWorkerAlarms()``.
        :param alarm_action: action for every alarm (ALARM and OK).
            Default: - alarms without actions.
        :param encryption_key: a customer-managed key encrypting the new queue, its DLQ, the
            new function's log group and a new idempotency table; the function is granted the
            key actions it needs to consume (``kms:Decrypt``) and use the table.
            Default: - SQS-managed queue encryption, ``aws/dynamodb`` for a new table, log
            groups encrypted by CloudWatch Logs.
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
        reject_both(
            self,
            "queue",
            queue,
            queue_props=queue_props,
            dead_letter_queue_props=dead_letter_queue_props,
            max_receive_count=max_receive_count,
            visibility_timeout=visibility_timeout,
        )
        self._reject_pattern_queue_keys(queue_props)
        check_prop_keys(self.node.path, "function_props", function_props, lambda_.Function)
        check_prop_keys(self.node.path, "queue_props", queue_props, sqs.Queue)
        check_prop_keys(
            self.node.path, "dead_letter_queue_props", dead_letter_queue_props, sqs.Queue
        )
        is_fifo = bool(queue.fifo) if queue is not None else fifo
        if queue is not None and fifo and not is_fifo:
            raise ValueError(f"{self.node.path}: fifo=True but the given queue is not FIFO")
        self._validate_event_source(is_fifo, batch_size, max_batching_window, max_concurrency)
        receive_count = (
            _defaults.MAX_RECEIVE_COUNT if max_receive_count is None else max_receive_count
        )
        self._validate_receive_count(receive_count)
        if idempotency is not None:
            check_idempotency_options(self, idempotency)

        timeout_seconds = self._function_timeout_seconds(function, function_props, function_timeout)
        required_visibility = _defaults.VISIBILITY_TIMEOUT_FACTOR * timeout_seconds + seconds(
            max_batching_window
        )
        #: The dead-letter queue; None when an imported queue's DLQ is unknown.
        self.dead_letter_queue: sqs.IQueue | None
        #: The queue the function consumes.
        self.queue: sqs.IQueue
        if queue is None:
            visibility = self._checked_visibility(visibility_timeout, required_visibility)
            self.dead_letter_queue = dead_letter_queue(
                self,
                "DeadLetterQueue",
                fifo=is_fifo,
                props=dead_letter_queue_props,
                encryption_key=encryption_key,
            )
            self.queue = source_queue(
                self,
                "Queue",
                fifo=is_fifo,
                visibility_timeout=visibility,
                dead_letter=self.dead_letter_queue,
                max_receive_count=receive_count,
                props=queue_props,
                encryption_key=encryption_key,
            )
        else:
            self.queue = queue
            self.dead_letter_queue = self._check_existing_queue(queue, required_visibility)

        #: The function that processes the messages.
        self.function: lambda_.IFunction = function_or_baseline(
            self,
            function,
            code=code,
            handler=handler,
            function_props=function_props,
            synchronous_reason="The function is invoked synchronously by the SQS event source "
            "mapping; a function DLQ applies only to asynchronous invocations. Failed messages "
            "go to the queue's dead-letter queue.",
            encryption_key=encryption_key,
        )

        max_concurrency = self._bounded_concurrency(max_concurrency)
        if self.function.role is not None or function is None:
            self.queue.grant_consume_messages(self.function)
        else:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:queueWorker:noRoleToGrant",
                "The imported function has no known role: grant it sqs:ReceiveMessage, "
                "DeleteMessage, ChangeMessageVisibility and GetQueueAttributes on the queue.",
            )
        #: The table of idempotency records; None without ``idempotency``.
        self.idempotency_table: dynamodb.ITable | None = (
            enable_idempotency(self, self.function, idempotency, encryption_key=encryption_key)
            if idempotency is not None
            else None
        )
        #: The event source mapping from the queue to the function.
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSource",
            target=self.function,
            event_source_arn=self.queue.queue_arn,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            max_concurrency=max_concurrency,
            report_batch_item_failures=True,
            filters=[lambda_.FilterCriteria.filter(pattern) for pattern in filters]
            if filters
            else None,
        )
        acknowledge(
            self.event_source_mapping,
            "Serverless-LambdaEventSourceMappingDestination",
            "SQS event source mappings support no on-failure destination; a record that keeps "
            "failing moves to the queue's dead-letter queue after maxReceiveCount receives.",
        )
        #: The alarms created, in the order: DLQ, oldest message age, errors, throttles.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(
            alarms or QueueWorkerAlarms(), alarm_action
        )

    def grant_send_messages(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants permission to send messages to the queue (and to use its key, if any)."""
        return grant_send(self.queue, grantee)

    # --- metrics --------------------------------------------------------------------------
    # Names and statistics: "Available CloudWatch metrics for Amazon SQS" and "Types of metrics
    # for Lambda functions" (AWS documentation).

    def metric_dead_letter_messages(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Messages waiting in the dead-letter queue: ``AWS/SQS``
        ``ApproximateNumberOfMessagesVisible`` of the DLQ, maximum per period (default 5
        minutes). Raises ValueError when the DLQ of an imported queue is unknown."""
        if self.dead_letter_queue is None:
            raise ValueError(
                f"{self.node.path}: the dead-letter queue of the imported queue is unknown; "
                "use its own metric_approximate_number_of_messages_visible()"
            )
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period or _defaults.metric_period(), statistic="Maximum"
        )

    def metric_age_of_oldest_message(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Age in seconds of the queue's oldest message: ``AWS/SQS``
        ``ApproximateAgeOfOldestMessage``, maximum per period (default 5 minutes)."""
        return self.queue.metric_approximate_age_of_oldest_message(
            period=period or _defaults.metric_period(), statistic="Maximum"
        )

    def metric_errors(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Invocations of the function that failed as a whole: ``AWS/Lambda`` ``Errors``,
        sum per period (default 5 minutes)."""
        return self.function.metric_errors(
            period=period or _defaults.metric_period(), statistic="Sum"
        )

    def metric_throttles(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Throttled invocations of the function: ``AWS/Lambda`` ``Throttles``, sum per period
        (default 5 minutes)."""
        return self.function.metric_throttles(
            period=period or _defaults.metric_period(), statistic="Sum"
        )

    # --- validation -----------------------------------------------------------------------

    def _reject_pattern_queue_keys(self, queue_props: Mapping[str, Any] | None) -> None:
        for key, instead in _PATTERN_QUEUE_KEYS.items():
            if key in (queue_props or {}):
                raise ValueError(
                    f"{self.node.path}: queue_props[{key!r}] is set by QueueWorker; "
                    f"use {instead} instead"
                )

    def _validate_event_source(
        self,
        fifo: bool,
        batch_size: int,
        max_batching_window: Duration | None,
        max_concurrency: int | None,
    ) -> None:
        window = seconds(max_batching_window)
        check_range(
            self, "max_batching_window (seconds)", window, 0, _defaults.MAX_BATCHING_WINDOW_SECONDS
        )
        if fifo and window:
            raise ValueError(
                f"{self.node.path}: max_batching_window is not supported on FIFO queues, "
                f"got {window} s"
            )
        if fifo:
            check_range(
                self, "batch_size on a FIFO queue", batch_size, 1, _defaults.MAX_FIFO_BATCH_SIZE
            )
        elif window:
            check_range(self, "batch_size", batch_size, 1, _defaults.MAX_BATCH_SIZE_WITH_WINDOW)
        elif is_known(batch_size) and batch_size > _defaults.MAX_BATCH_SIZE_WITHOUT_WINDOW:
            raise ValueError(
                f"{self.node.path}: batch_size {batch_size} is above "
                f"{_defaults.MAX_BATCH_SIZE_WITHOUT_WINDOW}; set max_batching_window to use "
                "larger batches"
            )
        else:
            check_range(self, "batch_size", batch_size, 1, _defaults.MAX_BATCH_SIZE_WITHOUT_WINDOW)
        check_range(
            self,
            "max_concurrency",
            max_concurrency,
            _defaults.MIN_MAX_CONCURRENCY,
            _defaults.MAX_MAX_CONCURRENCY,
        )

    def _bounded_concurrency(self, max_concurrency: int | None) -> int | None:
        """The event source's maximum concurrency: the given one, else
        ``DEFAULT_MAX_CONCURRENCY``, unless the function's reserved concurrency is already a
        lower bound (then None: a higher maximum would only be throttled)."""
        if max_concurrency is None:
            reserved = reserved_concurrency(self.function)
            if known_above(_defaults.DEFAULT_MAX_CONCURRENCY, reserved):
                return None
            return _defaults.DEFAULT_MAX_CONCURRENCY
        self._check_reserved_concurrency(max_concurrency)
        return max_concurrency

    def _check_reserved_concurrency(self, max_concurrency: int) -> None:
        """Warns when the function's reserved concurrency is below ``max_concurrency``.

        Lambda documentation, "Configuring scaling behavior for SQS event source mappings"
        (section "Configuring maximum concurrency for Amazon SQS event sources"): the event
        source mapping does not account for reserved concurrency, so invocations above it are
        throttled and their messages return to the queue.
        """
        reserved = reserved_concurrency(self.function)
        if known_above(max_concurrency, reserved):
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:queueWorker:reservedBelowMaxConcurrency",
                f"The function's reserved concurrency {reserved} is below max_concurrency "
                f"{max_concurrency}: the event source invokes it up to {max_concurrency} times "
                "at once, Lambda throttles the invocations above the reserved concurrency, and "
                "their messages return to the queue (and can reach the dead-letter queue). Set "
                "the reserved concurrency to at least max_concurrency, or lower max_concurrency.",
            )

    def _validate_receive_count(self, receive_count: int) -> None:
        check_range(self, "max_receive_count", receive_count, 1, _SQS_MAX_RECEIVE_COUNT)
        if is_known(receive_count) and receive_count < _defaults.MIN_MAX_RECEIVE_COUNT:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:queueWorker:lowMaxReceiveCount",
                f"max_receive_count {receive_count} is below {_defaults.MIN_MAX_RECEIVE_COUNT}: "
                "messages throttled by Lambda can reach the DLQ without being processed.",
            )

    def _function_timeout_seconds(
        self,
        function: lambda_.IFunction | None,
        function_props: Mapping[str, Any] | None,
        function_timeout: Duration | None,
    ) -> int:
        if function is None:
            timeout = (function_props or {}).get("timeout") or _defaults.function_timeout()
            return seconds(timeout)
        if function_timeout is not None:
            return seconds(function_timeout)
        cfn = function.node.default_child
        configured = cfn.timeout if isinstance(cfn, lambda_.CfnFunction) else None
        if isinstance(cfn, lambda_.CfnFunction) and configured is None:
            return _LAMBDA_DEFAULT_TIMEOUT_SECONDS
        if configured is not None and is_known(configured):
            return int(configured)
        raise ValueError(
            f"{self.node.path}: the timeout of function {function.node.path!r} cannot be "
            "read at synth; pass function_timeout"
        )

    def _checked_visibility(self, explicit: Duration | None, required_seconds: int) -> Duration:
        if explicit is None:
            return Duration.seconds(required_seconds)
        if is_known(explicit.to_seconds()) and seconds(explicit) < required_seconds:
            raise ValueError(
                f"{self.node.path}: visibility_timeout {seconds(explicit)} s is below the "
                f"required {required_seconds} s (6 x function timeout + batching window)"
            )
        return explicit

    def _check_existing_queue(self, queue: sqs.IQueue, required_seconds: int) -> sqs.IQueue | None:
        cfn = queue.node.default_child
        if not isinstance(cfn, sqs.CfnQueue):
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:queueWorker:unverifiedQueue",
                f"The imported queue's visibility timeout (needs >= {required_seconds} s) and "
                "dead-letter queue cannot be verified at synth; check them.",
            )
            return None
        visibility = cfn.visibility_timeout
        if visibility is None:
            visibility = _SQS_DEFAULT_VISIBILITY_SECONDS
        if is_known(visibility) and int(visibility) < required_seconds:
            raise ValueError(
                f"{self.node.path}: the visibility timeout of queue {queue.node.path!r} is "
                f"{int(visibility)} s, below the required {required_seconds} s "
                "(6 x function timeout + batching window)"
            )
        dead_letter = queue.dead_letter_queue if isinstance(queue, sqs.Queue) else None
        if dead_letter is None:
            raise ValueError(
                f"{self.node.path}: queue {queue.node.path!r} has no dead-letter queue; "
                "messages that keep failing would be retried until the retention period "
                "deletes them"
            )
        self._validate_receive_count(int(dead_letter.max_receive_count))
        dlq: sqs.IQueue = dead_letter.queue
        return dlq

    # --- alarms ---------------------------------------------------------------------------

    def _create_alarms(
        self, thresholds: QueueWorkerAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        period = thresholds.period
        wanted: list[AlarmSpec] = [
            (
                "DeadLetterMessages",
                self.metric_dead_letter_messages(period=period)
                if self.dead_letter_queue is not None
                else None,
                thresholds.dead_letter_messages,
                "Messages failed maxReceiveCount times and wait in the dead-letter queue.",
            ),
            (
                "OldestMessageAge",
                self.metric_age_of_oldest_message(period=period),
                seconds(thresholds.oldest_message_age)
                if thresholds.oldest_message_age is not None
                else None,
                "The queue is falling behind: its oldest message is older than the threshold "
                "(seconds).",
            ),
            (
                "FunctionErrors",
                self.metric_errors(period=period),
                thresholds.function_errors,
                "The worker function failed whole invocations (not single records).",
            ),
            (
                "FunctionThrottles",
                self.metric_throttles(period=period),
                thresholds.function_throttles,
                "The worker function was throttled; raise concurrency or lower max_concurrency "
                "of other consumers.",
            ),
        ]
        return threshold_alarms(self, wanted, action=action)
