"""WebhookSender: signed deliveries to subscriber endpoints, retried from a queue (pattern 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._nag import (
    HIPAA,
    NIST,
    PITR_INSTEAD_OF_BACKUP_PLAN,
    acknowledge,
    acknowledge_compliance,
)
from serverless_patterns.constructs._queue import grant_send
from serverless_patterns.constructs._runtime_asset import runtime_code
from serverless_patterns.constructs._validation import (
    check_prop_keys,
    check_range,
    is_known,
    seconds,
)
from serverless_patterns.constructs.idempotency_table import KEY_ACTIONS as TABLE_KEY_ACTIONS
from serverless_patterns.constructs.queue_worker import QueueWorker, QueueWorkerAlarms
from serverless_patterns.runtime.webhooks import contract

#: Delivery attempts before a delivery is dead-lettered (the runtime's default too).
DEFAULT_MAX_ATTEMPTS = 8
MAX_MAX_ATTEMPTS = 100
#: HTTP timeout of one delivery attempt.
DEFAULT_DELIVERY_TIMEOUT_SECONDS = 10
MAX_DELIVERY_TIMEOUT_SECONDS = 60
#: Deliveries per invocation.
DEFAULT_BATCH_SIZE = 10
#: Headroom of the function timeout over a batch of deliveries that all time out (at most
#: 10 x 60 s + 10 s = 610 s, within Lambda's 900 s).
_FUNCTION_HEADROOM_SECONDS = 10
#: Secrets the sender may read: subscribers' ``whsec_...`` secrets are named under this prefix.
DEFAULT_SUBSCRIBER_SECRET_PREFIX = "webhooks/subscribers/"
#: What ``grant_manage_subscribers`` allows on the subscribers table: reading and writing
#: items, no table administration (DescribeTable, UpdateTable, DeleteTable, streams).
MANAGE_SUBSCRIBERS_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)


class WebhookSender(Construct):
    """Defines a webhook sender: a delivery queue drained by a signing, retrying function.

    By default it creates: a ``QueueWorker`` (an encrypted, TLS-only delivery queue with a
    dead-letter queue for exhausted deliveries, a sender ``BaselineFunction`` consuming it with
    partial batch responses, batches of 10, and its alarms: DLQ not empty, age of the oldest
    delivery, function errors, throttles); a subscribers DynamoDB table (partition key
    ``subscriber_id``, on-demand, encrypted, point-in-time recovery, retained). The function
    may: get and update subscriber items; read the secrets named ``webhooks/subscribers/*``;
    send to the delivery queue (retries, with a delay) and to the dead-letter queue (exhausted
    deliveries, with the reason). Each attempt times out after 10 s; 8 attempts at most.
    A producer sends one message per delivery, built by
    ``serverless_patterns.runtime.webhooks.delivery_message``; ``add_producer(function)`` gives
    a function the queue URL and permission to send.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        subscribers_table: dynamodb.ITable | None = None,
        code: lambda_.Code | None = None,
        function_props: Mapping[str, Any] | None = None,
        queue_props: Mapping[str, Any] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        delivery_timeout: Duration | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_concurrency: int | None = None,
        subscriber_secret_prefix: str = DEFAULT_SUBSCRIBER_SECRET_PREFIX,
        alarms: QueueWorkerAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param subscribers_table: an existing table of subscribers whose partition key is
            ``subscriber_id`` (string). Default: - a new table as described above.
        :param code: the sender's code. Default: - ``runtime_code()`` (the library runtime).
        :param function_props: ``aws_lambda.Function`` arguments overriding the sender's
            defaults (a key the class does not take raises ValueError); ``environment`` merges
            key by key; a ``timeout`` must cover a batch of
            deliveries that all time out. Default: - the baseline with a timeout of
            ``batch_size`` x ``delivery_timeout`` + 10 s.
        :param queue_props: ``aws_sqs.Queue`` arguments for the delivery queue.
            Default: - SQS-managed encryption, 4-day retention.
        :param max_attempts: delivery attempts before a delivery is dead-lettered (1-100).
            Default: - 8.
        :param delivery_timeout: HTTP timeout of one attempt, whole seconds from 1 to 60.
            Default: - 10 seconds.
        :param batch_size: deliveries per invocation (1-10). Default: - 10.
        :param max_concurrency: maximum concurrent invocations (2-1000); bounds the load on
            subscribers. A reserved concurrency below it gets a synth warning (see
            ``QueueWorker``). Default: - 10 concurrent invocations (QueueWorker's default), so
            a burst of deliveries cannot flood subscribers or take the account's concurrency.
        :param subscriber_secret_prefix: the name prefix of subscriber secrets in Secrets
            Manager; the function may read only those. Default: - ``webhooks/subscribers/``.
        :param alarms: alarm thresholds of the delivery queue and function.
            Default: - ``QueueWorkerAlarms()``.
        :param alarm_action: action for every alarm (ALARM and OK).
            Default: - alarms without actions.
        :param encryption_key: a customer-managed key encrypting the delivery queue, its DLQ,
            the new subscribers table and the sender's log group; the sender gets the key
            actions it needs. Default: - SQS-managed queues, ``aws/dynamodb``, log groups
            encrypted by CloudWatch Logs.
        """
        super().__init__(scope, construct_id)
        self._encryption_key = encryption_key
        delivery_timeout = delivery_timeout or Duration.seconds(DEFAULT_DELIVERY_TIMEOUT_SECONDS)
        check_range(self, "max_attempts", max_attempts, 1, MAX_MAX_ATTEMPTS)
        timeout_seconds = delivery_timeout.to_seconds(integral=False)
        if is_known(timeout_seconds) and timeout_seconds != int(timeout_seconds):
            raise ValueError(
                f"{self.node.path}: delivery_timeout must be a whole number of seconds, "
                f"got {timeout_seconds} s"
            )
        check_range(
            self, "delivery_timeout (seconds)", timeout_seconds, 1, MAX_DELIVERY_TIMEOUT_SECONDS
        )
        check_range(self, "batch_size", batch_size, 1, _defaults.MAX_BATCH_SIZE_WITHOUT_WINDOW)
        if not subscriber_secret_prefix or "*" in subscriber_secret_prefix:
            raise ValueError(
                f"{self.node.path}: subscriber_secret_prefix must be a non-empty secret name "
                f"prefix without '*', got {subscriber_secret_prefix!r}"
            )
        check_prop_keys(self.node.path, "function_props", function_props, lambda_.Function)
        check_prop_keys(self.node.path, "queue_props", queue_props, sqs.Queue)
        for key in ("code", "handler"):
            if key in (function_props or {}):
                raise ValueError(
                    f"{self.node.path}: function_props[{key!r}] is set by WebhookSender; "
                    "use 'code' (the handler is the runtime's sender)"
                )
        function_timeout = self._function_timeout(function_props, batch_size, delivery_timeout)

        #: The queue worker: delivery queue, dead-letter queue, sender function, alarms.
        self.worker = QueueWorker(
            self,
            "Delivery",
            code=code or runtime_code(),
            handler=contract.SENDER_HANDLER,
            function_props=_defaults.merge_props(
                {"description": "Webhook sender: signs and delivers, retries with backoff."},
                function_props,
                {"timeout": function_timeout},
            ),
            queue_props=queue_props,
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            alarms=alarms,
            alarm_action=alarm_action,
            encryption_key=encryption_key,
        )
        #: The delivery queue producers send deliveries to.
        self.queue: sqs.IQueue = self.worker.queue
        dead_letter = self.worker.dead_letter_queue
        assert dead_letter is not None  # the worker created it
        #: The dead-letter queue of exhausted deliveries (sent with the reason).
        self.dead_letter_queue: sqs.IQueue = dead_letter
        function = self.worker.function
        assert isinstance(function, lambda_.Function)  # the worker created it
        #: The sender function.
        self.function: lambda_.Function = function
        #: The alarms of the delivery queue and function (see ``QueueWorker.alarms``).
        self.alarms: list[cloudwatch.Alarm] = self.worker.alarms
        #: The subscribers table.
        self.subscribers_table: dynamodb.ITable = subscribers_table or self._new_table()

        for name, value in {
            contract.SENDER_SUBSCRIBERS_TABLE_ENV: self.subscribers_table.table_name,
            contract.SENDER_QUEUE_URL_ENV: self.queue.queue_url,
            contract.SENDER_DEAD_LETTER_QUEUE_URL_ENV: self.dead_letter_queue.queue_url,
            contract.SENDER_MAX_ATTEMPTS_ENV: str(max_attempts),
            contract.SENDER_TIMEOUT_ENV: str(seconds(delivery_timeout)),
        }.items():
            self.function.add_environment(name, value)
        self.subscribers_table.grant(self.function, *contract.SUBSCRIBER_TABLE_ACTIONS)
        if self.subscribers_table.encryption_key is not None:  # Table.grant leaves the key out
            self.subscribers_table.encryption_key.grant(self.function, *TABLE_KEY_ACTIONS)
        grant_send(self.queue, self.function)
        grant_send(self.dead_letter_queue, self.function)
        self._grant_subscriber_secrets(subscriber_secret_prefix)
        acknowledge(
            self.function,
            "ServerlessPatterns-RecursiveTrigger",
            "The sender re-sends a failed delivery to its own queue with a delay, on purpose: "
            "the attempt count travels in the message and a delivery is dead-lettered after "
            "max_attempts, so the loop is bounded.",
        )

    def grant_enqueue(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants a producer permission to send deliveries to the delivery queue."""
        return grant_send(self.queue, grantee)

    def add_producer(self, function: lambda_.Function) -> iam.Grant:
        """Makes ``function`` a producer: it may send deliveries to the delivery queue and
        finds its URL in the environment variable ``DELIVERY_QUEUE_URL_ENV``
        (``WEBHOOK_DELIVERY_QUEUE_URL``). Build each message with
        ``serverless_patterns.runtime.webhooks.delivery_message``."""
        function.add_environment(contract.SENDER_QUEUE_URL_ENV, self.queue.queue_url)
        return self.grant_enqueue(function)

    def grant_manage_subscribers(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants reading and writing subscriber items (``MANAGE_SUBSCRIBERS_ACTIONS``: get,
        query, scan, put, update, delete, batch), and using the table's key if it has one;
        no table administration. Subscribers' secrets are not included."""
        grant = self.subscribers_table.grant(grantee, *MANAGE_SUBSCRIBERS_ACTIONS)
        if self.subscribers_table.encryption_key is not None:
            self.subscribers_table.encryption_key.grant(grantee, *TABLE_KEY_ACTIONS)
        return grant

    # --- metrics (see QueueWorker) ---------------------------------------------------------

    def metric_dead_letter_messages(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Exhausted deliveries waiting in the dead-letter queue: ``AWS/SQS``
        ``ApproximateNumberOfMessagesVisible``, maximum per period (default 5 minutes)."""
        return self.worker.metric_dead_letter_messages(period=period)

    def metric_age_of_oldest_message(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Age in seconds of the oldest delivery in the queue: ``AWS/SQS``
        ``ApproximateAgeOfOldestMessage``, maximum per period (default 5 minutes)."""
        return self.worker.metric_age_of_oldest_message(period=period)

    def metric_errors(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Sender invocations that failed as a whole: ``AWS/Lambda`` ``Errors``, sum per
        period (default 5 minutes)."""
        return self.worker.metric_errors(period=period)

    def metric_throttles(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Throttled sender invocations: ``AWS/Lambda`` ``Throttles``, sum per period (default
        5 minutes)."""
        return self.worker.metric_throttles(period=period)

    # --- internals --------------------------------------------------------------------------

    def _function_timeout(
        self, function_props: Mapping[str, Any] | None, batch_size: int, delivery: Duration
    ) -> Duration:
        needed = batch_size * seconds(delivery) + _FUNCTION_HEADROOM_SECONDS
        given = (function_props or {}).get("timeout")
        if given is None:
            return Duration.seconds(needed)
        if is_known(given.to_seconds()) and seconds(given) < needed:
            raise ValueError(
                f"{self.node.path}: function timeout {seconds(given)} s is below {needed} s "
                f"(batch_size x delivery_timeout + {_FUNCTION_HEADROOM_SECONDS} s)"
            )
        timeout: Duration = given
        return timeout

    def _new_table(self) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            "SubscribersTable",
            partition_key=dynamodb.Attribute(
                name=contract.SUBSCRIBER_ID_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED
            if self._encryption_key is None
            else dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge_compliance(
            table, "DynamoDBInBackupPlan", PITR_INSTEAD_OF_BACKUP_PLAN, (NIST, HIPAA)
        )
        return table

    def _nag_arn(self, arn: str) -> str:
        """How cdk-nag writes ``arn`` in a finding: pseudo parameters as ``<AWS::Region>``."""
        resolved = Stack.of(self).resolve(arn)
        if isinstance(resolved, str):
            return resolved
        _, parts = resolved["Fn::Join"]
        return "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)

    def _grant_subscriber_secrets(self, prefix: str) -> None:
        arn = Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[arn])
        )
        acknowledge(
            self.function.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::{self._nag_arn(arn)}]",
            f"Each subscriber's signing secret is its own secret named {prefix}<subscriber>; "
            "subscribers are added at run time, so the sender reads secrets by this name "
            "prefix (GetSecretValue only).",
        )
