"""WebhookReceiver: verify Standard Webhooks signatures, dedupe, buffer in a queue (pattern 6)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack, Tokenization
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._api_hygiene import (
    MAX_INTEGRATION_TIMEOUT_MS,
    THROTTLING_BURST_LIMIT,
    THROTTLING_RATE_LIMIT,
    error_rate,
    pattern_api,
    protect_stage,
    stage_metric,
    validate_requests,
)
from serverless_patterns.constructs._function import BaselineFunction
from serverless_patterns.constructs._idempotency import (
    IdempotencyOptions,
    check_idempotency_options,
    enable_idempotency,
)
from serverless_patterns.constructs._nag import (
    HIPAA,
    NIST,
    acknowledge,
    acknowledge_compliance,
    acknowledge_no_dlq,
)
from serverless_patterns.constructs._queue import dead_letter_queue, grant_send, source_queue
from serverless_patterns.constructs._runtime_asset import runtime_code
from serverless_patterns.constructs._validation import (
    check_range,
    check_whole_seconds,
    reject_both,
    seconds,
)
from serverless_patterns.constructs.api_gateway_account import (
    ApiGatewayCloudWatchRole,
    depend_on_cloud_watch_role,
)
from serverless_patterns.constructs.queue_worker import QueueWorker
from serverless_patterns.runtime.webhooks import contract

#: Standard Webhooks: a 5-minute replay window. The longest we accept is an hour.
DEFAULT_TOLERANCE_SECONDS = 300
MAX_TOLERANCE_SECONDS = 3600
#: How long the verifier keeps the secret before reading it again (a rotation takes effect).
DEFAULT_SECRET_CACHE_TTL_SECONDS = 300
MAX_SECRET_CACHE_TTL_SECONDS = 3600
#: Claim-check objects are deleted after this many days (the consumer has read them by then).
DEFAULT_CLAIM_CHECK_EXPIRY_DAYS = 7
MAX_CLAIM_CHECK_EXPIRY_DAYS = 365
#: Verifying a signature and sending one message is quick; API Gateway waits at most 29 s.
VERIFIER_TIMEOUT_SECONDS = 10
#: Visibility timeout of the receiver's own queue (when no consumer is given).
_QUEUE_VISIBILITY_SECONDS = 30
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_CLAIM_CHECK_OBJECTS = f"{contract.CLAIM_CHECK_PREFIX}*"
#: KMS actions on an SSE-KMS bucket's key: reading an object decrypts its data key; writing
#: one generates a data key (Amazon S3 guide, "Using server-side encryption with AWS KMS keys").
_KMS_READ_ACTIONS = ("kms:Decrypt",)
_KMS_WRITE_ACTIONS = ("kms:GenerateDataKey",)


@dataclass(frozen=True)
class WebhookReceiverAlarms:
    """Alarm thresholds of a WebhookReceiver; set one to None to leave that alarm out.

    :param api_4xx_rate_percent: share of API responses that are 4xx (``4XXError`` average of
        the stage; bad or missing signatures answer 401), in percent. Default: - 10 %.
    :param api_5xx_rate_percent: share of API responses that are 5xx, in percent.
        Default: - 1 %.
    :param dead_letter_messages: messages visible in the queue's dead-letter queue.
        Default: - 1 (any message).
    :param period: the period each metric is evaluated over. Default: - 5 minutes.
    """

    api_4xx_rate_percent: float | None = 10.0
    api_5xx_rate_percent: float | None = 1.0
    dead_letter_messages: int | None = 1
    # Duration is immutable, so sharing one default instance is safe.
    period: Duration = field(default_factory=_defaults.metric_period)


class WebhookReceiver(Construct):
    """Defines a webhook endpoint that verifies signatures, dedupes and buffers in a queue.

    By default it creates: a REST API with ``POST /webhooks`` (no authorizer: a webhook
    authenticates by its Standard Webhooks signature) proxying to a verifier
    ``BaselineFunction`` (10 s timeout), a stage ``prod`` with JSON access logs kept one month,
    X-Ray tracing and throttling (100 requests/s, burst 200); a Secrets Manager secret for the
    signing secret (read only by the verifier); an ``IdempotencyTable`` keyed by
    ``webhook-id``; an encrypted, TLS-only queue with a dead-letter queue (or your
    QueueWorker's queue) the verifier may only send to; an S3-encrypted, TLS-only, private
    claim-check bucket whose objects expire after 7 days, the verifier may only put objects
    in; and three alarms (API 4xx rate, API 5xx rate, DLQ not empty).

    Request size: API Gateway's 10 MB payload limit is fixed, and Lambda's 6 MB synchronous
    payload limit bounds it further; API Gateway cannot enforce a smaller byte limit on a raw
    body, so there is no setting for one. Bodies too large for the queue go to the bucket.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        worker: QueueWorker | None = None,
        queue: sqs.IQueue | None = None,
        queue_props: Mapping[str, Any] | None = None,
        secret: secretsmanager.ISecret | None = None,
        code: lambda_.Code | None = None,
        function_props: Mapping[str, Any] | None = None,
        path: str = "webhooks",
        stage_name: str = "prod",
        throttling_rate_limit: float = THROTTLING_RATE_LIMIT,
        throttling_burst_limit: int = THROTTLING_BURST_LIMIT,
        access_log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        tolerance: Duration | None = None,
        secret_cache_ttl: Duration | None = None,
        idempotency: IdempotencyOptions | None = None,
        claim_check_bucket: s3.IBucket | None = None,
        claim_check_expiry_days: int | None = None,
        claim_check_versioned: bool | None = None,
        alarms: WebhookReceiverAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
        cloud_watch_role: bool = True,
        encryption_key: kms.IKey | None = None,
        web_acl_arn: str | None = None,
    ) -> None:
        """
        :param worker: a QueueWorker consuming the verified webhooks: the verifier sends to its
            queue and its function may read claim-check objects. Default: - a new queue.
        :param queue: an existing queue to send verified webhooks to.
            Default: - a new encrypted, TLS-only queue with a dead-letter queue (5 receives).
        :param queue_props: ``aws_sqs.Queue`` arguments for the new queue.
            Default: - SQS-managed encryption, 30 s visibility timeout.
        :param secret: the secret holding the provider's ``whsec_...`` signing secret (or a
            JSON list of them, during a rotation). Default: - a new secret with a generated
            placeholder value; put the provider's secret in it (providers rotate it).
        :param code: the verifier's code. Default: - ``runtime_code()`` (the library runtime).
        :param function_props: ``aws_lambda.Function`` arguments overriding the verifier's
            defaults; ``environment`` merges key by key. Default: - the baseline with a 10 s
            timeout.
        :param path: the resource path of the ``POST`` method, one or more segments of
            letters, digits, ``.``, ``_`` and ``-``. Default: - ``webhooks``.
        :param stage_name: the deployment stage. Default: - ``prod``.
        :param throttling_rate_limit: stage steady-state requests per second (0-10,000).
            Default: - 100.
        :param throttling_burst_limit: stage burst (0-5,000). Default: - 200.
        :param access_log_retention: how long access logs are kept. Default: - one month.
        :param tolerance: how far a ``webhook-timestamp`` may be from now (whole seconds,
            1 s to 1 hour). Default: - 5 minutes.
        :param secret_cache_ttl: how long the verifier caches the secret (whole seconds, 0 to
            1 hour; 0 reads it on every request). Default: - 5 minutes.
        :param idempotency: the idempotency table keyed by ``webhook-id`` (a replay within the
            expiry is answered without enqueuing again). Default: - a new ``IdempotencyTable``,
            records kept 1 hour.
        :param claim_check_bucket: an existing bucket for payloads too large for the queue.
            Default: - a new bucket as described above.
        :param claim_check_expiry_days: days before a claim-check object is deleted (1-365).
            Default: - 7.
        :param claim_check_versioned: keep object versions in the new bucket, so an object
            overwritten or deleted by mistake can be restored; noncurrent versions expire after
            1 day. Default: - versioned.
        :param alarms: alarm thresholds. Default: - ``WebhookReceiverAlarms()``.
        :param alarm_action: action for every alarm (ALARM and OK).
            Default: - alarms without actions.
        :param cloud_watch_role: make the stage, which writes access logs, depend on the app's
            account-level API Gateway CloudWatch Logs role (``ApiGatewayCloudWatchRole``).
            Default: - the app's single account-level role is created, once per app and
            environment; pass False if your account already has one (for example made by
            another app or by hand), and the stage will not depend on it.
        :param encryption_key: a customer-managed key encrypting everything the construct
            creates that stores data or logs: the queue and its DLQ, the secret, the claim-check
            bucket, the idempotency table and the log groups (its policy lets CloudWatch Logs
            of this Region use it for this account's log groups). Principals the construct
            grants get the key actions they need. Default: - AWS-managed encryption
            (SQS-managed queues, S3-managed bucket, ``aws/secretsmanager``, ``aws/dynamodb``).
        :param web_acl_arn: ARN of a regional WAFv2 web ACL to associate with the stage; a
            rate-based rule there drops floods of unsigned requests before the verifier runs.
            Default: - no web ACL.
        """
        super().__init__(scope, construct_id)
        self._encryption_key = encryption_key
        if worker is not None and queue is not None:
            raise ValueError(f"{self.node.path}: pass either 'worker' or 'queue', not both")
        reject_both(self, "worker", worker, queue_props=queue_props)
        reject_both(self, "queue", queue, queue_props=queue_props)
        reject_both(
            self,
            "claim_check_bucket",
            claim_check_bucket,
            claim_check_expiry_days=claim_check_expiry_days,
            claim_check_versioned=claim_check_versioned,
        )
        expiry_days = (
            DEFAULT_CLAIM_CHECK_EXPIRY_DAYS
            if claim_check_expiry_days is None
            else claim_check_expiry_days
        )
        tolerance = tolerance or Duration.seconds(DEFAULT_TOLERANCE_SECONDS)
        secret_cache_ttl = secret_cache_ttl or Duration.seconds(DEFAULT_SECRET_CACHE_TTL_SECONDS)
        self._validate(
            path=path,
            rate=throttling_rate_limit,
            burst=throttling_burst_limit,
            tolerance=tolerance,
            secret_cache_ttl=secret_cache_ttl,
            expiry_days=expiry_days,
            function_props=function_props,
        )
        idempotency_options = idempotency or IdempotencyOptions()
        check_idempotency_options(self, idempotency_options)

        #: The signing secret.
        self.secret: secretsmanager.ISecret = secret or self._new_secret()
        #: The dead-letter queue of the queue; None when unknown (an imported queue).
        self.dead_letter_queue: sqs.IQueue | None
        #: The queue verified webhooks are sent to.
        self.queue: sqs.IQueue
        if worker is not None:
            self.queue = worker.queue
            self.dead_letter_queue = worker.dead_letter_queue
        elif queue is not None:
            self.queue = queue
            dead_letter = queue.dead_letter_queue if isinstance(queue, sqs.Queue) else None
            self.dead_letter_queue = dead_letter.queue if dead_letter is not None else None
        else:
            self.dead_letter_queue = dead_letter_queue(
                self,
                "DeadLetterQueue",
                fifo=False,
                dead_letter_of="the webhook queue",
                encryption_key=encryption_key,
            )
            self.queue = source_queue(
                self,
                "Queue",
                fifo=False,
                visibility_timeout=Duration.seconds(_QUEUE_VISIBILITY_SECONDS),
                dead_letter=self.dead_letter_queue,
                max_receive_count=_defaults.MAX_RECEIVE_COUNT,
                props=queue_props,
                encryption_key=encryption_key,
            )
        #: The claim-check bucket for payloads too large for the queue.
        self.claim_check_bucket: s3.IBucket = claim_check_bucket or self._new_bucket(
            expiry_days, claim_check_versioned is not False
        )

        #: The verifier function behind the API.
        self.function: BaselineFunction = BaselineFunction(
            self,
            "Function",
            code=code or runtime_code(),
            handler=contract.RECEIVER_HANDLER,
            encryption_key=encryption_key,
            function_props=_defaults.merge_props(
                {
                    "timeout": Duration.seconds(VERIFIER_TIMEOUT_SECONDS),
                    "description": "Webhook receiver: verifies signatures, dedupes, enqueues.",
                },
                function_props,
                {
                    "environment": {
                        contract.RECEIVER_SECRET_ARN_ENV: self.secret.secret_arn,
                        contract.RECEIVER_QUEUE_URL_ENV: self.queue.queue_url,
                        contract.RECEIVER_CLAIM_CHECK_BUCKET_ENV: (
                            self.claim_check_bucket.bucket_name
                        ),
                        contract.RECEIVER_TOLERANCE_ENV: str(seconds(tolerance)),
                        contract.RECEIVER_SECRET_CACHE_ENV: str(seconds(secret_cache_ttl)),
                    }
                },
            ),
        )
        acknowledge_no_dlq(
            self.function,
            "API Gateway invokes the verifier synchronously and returns its errors to the "
            "sender, which retries; a function DLQ applies only to asynchronous invocations.",
        )
        acknowledge(
            self.function,
            f"ServerlessPatterns-LambdaSecretEnvironment[{contract.RECEIVER_SECRET_CACHE_ENV}]",
            "The variable holds how many seconds the secret is cached, not a secret; the secret "
            "itself is read from Secrets Manager by its ARN.",
        )
        self.secret.grant_read(self.function)
        grant_send(self.queue, self.function)
        self._grant_claim_check(self.function, "s3:PutObject", _KMS_WRITE_ACTIONS, "put")
        if worker is not None:
            self.grant_read_claim_checks(worker.function)
        #: The idempotency table keyed by ``webhook-id``.
        self.idempotency_table: dynamodb.ITable = enable_idempotency(
            self, self.function, idempotency_options, encryption_key=encryption_key
        )

        self._stage_name = stage_name
        #: The REST API (``api``) and the log group of its stage's access logs
        #: (``access_log_group``).
        self.api, self.access_log_group = pattern_api(
            self,
            stage_name=stage_name,
            access_log_retention=access_log_retention,
            encryption_key=encryption_key,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
            rest_api_name=Names.unique_id(self),
            description="Webhook receiver (Standard Webhooks signatures)",
        )
        #: The request validator of the method (the signature is checked by the verifier).
        self.request_validator = validate_requests(self.api)
        #: The resource of ``path``.
        self.resource: apigw.IResource = self.api.root.resource_for_path(path)
        #: The ``POST`` method receiving webhooks.
        self.method: apigw.Method = self.resource.add_method(
            "POST",
            apigw.LambdaIntegration(
                self.function,
                proxy=True,
                timeout=Duration.millis(MAX_INTEGRATION_TIMEOUT_MS),
            ),
            authorization_type=apigw.AuthorizationType.NONE,
            request_validator=self.request_validator,
        )
        for finding in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            acknowledge(
                self.method,
                finding,
                "Webhook senders cannot sign AWS requests or hold Cognito tokens; every "
                "request is authenticated by its Standard Webhooks HMAC signature, which the "
                "verifier checks before anything is enqueued (401 otherwise).",
            )
        #: The stage's web ACL association; None without ``web_acl_arn``.
        self.web_acl_association = protect_stage(self.api.deployment_stage, web_acl_arn)
        #: The app's account-level CloudWatch Logs role the stage comes after; None with
        #: ``cloud_watch_role=False``.
        self.cloud_watch_role: ApiGatewayCloudWatchRole | None = depend_on_cloud_watch_role(
            self.api.deployment_stage, enabled=cloud_watch_role
        )

        #: The alarms created, in the order: API 4xx rate, API 5xx rate, DLQ.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(
            alarms or WebhookReceiverAlarms(), alarm_action
        )

    @property
    def url(self) -> str:
        """The URL webhooks are posted to."""
        return self.api.url_for_path(self.resource.path)

    def grant_read_claim_checks(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants reading claim-check objects: what a consumer of your own queue needs.

        ``s3:GetObject`` on the claim-check prefix of the bucket, and ``kms:Decrypt`` on the
        bucket's key when it has one (a bucket encrypted with S3-managed keys needs none).
        A ``worker`` given to the receiver gets this grant already.
        """
        return self._grant_claim_check(grantee, "s3:GetObject", _KMS_READ_ACTIONS, "read")

    def metric_api(
        self, metric_name: str, *, statistic: str, period: Duration
    ) -> cloudwatch.Metric:
        """``AWS/ApiGateway`` ``metric_name`` of the stage (dimensions ``ApiName``, ``Stage``)."""
        return stage_metric(
            self, self.api, self._stage_name, metric_name, statistic=statistic, period=period
        )

    # --- internals --------------------------------------------------------------------------

    def _validate(
        self,
        *,
        path: str,
        rate: float,
        burst: int,
        tolerance: Duration,
        secret_cache_ttl: Duration,
        expiry_days: int,
        function_props: Mapping[str, Any] | None,
    ) -> None:
        segments = path.strip("/").split("/")
        if not all(_PATH_SEGMENT.match(segment) for segment in segments):
            raise ValueError(
                f"{self.node.path}: path must be segments of letters, digits, '.', '_' and "
                f"'-', got {path!r}"
            )
        check_range(self, "throttling_rate_limit", rate, 0, 10_000)
        check_range(self, "throttling_burst_limit", burst, 0, 5_000)
        check_whole_seconds(self, "tolerance", tolerance, 1, MAX_TOLERANCE_SECONDS)
        check_whole_seconds(
            self, "secret_cache_ttl", secret_cache_ttl, 0, MAX_SECRET_CACHE_TTL_SECONDS
        )
        check_range(self, "claim_check_expiry_days", expiry_days, 1, MAX_CLAIM_CHECK_EXPIRY_DAYS)
        if isinstance(expiry_days, float) and expiry_days != int(expiry_days):
            raise ValueError(
                f"{self.node.path}: claim_check_expiry_days must be whole days, got {expiry_days}"
            )
        for key in ("code", "handler"):
            if key in (function_props or {}):
                raise ValueError(
                    f"{self.node.path}: function_props[{key!r}] is set by WebhookReceiver; "
                    "use 'code' (the handler is the runtime's verifier)"
                )

    def _new_secret(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "SigningSecret",
            description="Webhook signing secret (whsec_...): replace the generated placeholder "
            "with the provider's secret.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=32
            ),
            removal_policy=RemovalPolicy.RETAIN,
            encryption_key=self._encryption_key,
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "A webhook signing secret is issued and rotated by the webhook provider; put the "
            "new secret next to the old one (a JSON list) and the verifier accepts both.",
        )
        acknowledge_compliance(
            secret,
            "SecretsManagerRotationEnabled",
            "A webhook signing secret is issued and rotated by the webhook provider, not by "
            "a rotation function; put the new secret next to the old one (a JSON list) and "
            "the verifier accepts both during the switch.",
            (NIST, HIPAA),
        )
        return secret

    def _new_bucket(self, expiry_days: int, versioned: bool) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "ClaimCheckBucket",
            encryption=s3.BucketEncryption.S3_MANAGED
            if self._encryption_key is None
            else s3.BucketEncryption.KMS,
            encryption_key=self._encryption_key,
            bucket_key_enabled=self._encryption_key is not None or None,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=versioned,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireClaimChecks",
                    expiration=Duration.days(expiry_days),
                    noncurrent_version_expiration=Duration.days(1) if versioned else None,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "Claim-check objects are written only by the verifier and expire within days; "
            "every write is already recorded by the API access logs and X-Ray traces.",
        )
        acknowledge_compliance(
            bucket,
            "S3BucketLoggingEnabled",
            "Claim-check objects are written only by the verifier and read only by the "
            "consumer, and expire within days; each write is recorded by the API access logs "
            "and X-Ray traces (enable CloudTrail S3 data events in the account for more).",
        )
        acknowledge_compliance(
            bucket,
            "S3BucketReplicationEnabled",
            "Claim-check objects are transient copies of webhook payloads that expire within "
            "days; a lost object is re-sent by the provider (the request failed), so a replica "
            "in another bucket would protect nothing.",
        )
        return bucket

    def _grant_claim_check(
        self, grantee: iam.IGrantable, action: str, kms_actions: Sequence[str], what: str
    ) -> iam.Grant:
        """Grants one object action on the claim-check prefix (and ``kms_actions`` on the
        bucket's key, if it has one), and acknowledges the prefix wildcard."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[action],
            resource_arns=[self.claim_check_bucket.arn_for_objects(_CLAIM_CHECK_OBJECTS)],
        )
        key = self.claim_check_bucket.encryption_key
        if key is not None:
            grant = grant.combine(key.grant(grantee, *kms_actions))
        principal = grantee.grant_principal
        if isinstance(principal, Construct):  # a role, not a service or account
            acknowledge(
                principal,
                f"AwsSolutions-IAM5[Resource::{self._bucket_reference()}/{_CLAIM_CHECK_OBJECTS}]",
                f"The principal may {what} claim-check objects, whose keys are unique per "
                f"webhook, under the {contract.CLAIM_CHECK_PREFIX!r} prefix of this one bucket.",
            )
        return grant

    def _bucket_reference(self) -> str:
        """How cdk-nag names the bucket's ARN in a finding: ``<LogicalId.Arn>``."""
        resolved = Stack.of(self).resolve(self.claim_check_bucket.bucket_arn)
        if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
            logical_id, attribute = resolved["Fn::GetAtt"]
            return f"<{logical_id}.{attribute}>"
        return str(Tokenization.reverse_string(str(resolved)) or resolved)

    def _create_alarms(
        self, thresholds: WebhookReceiverAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        period = thresholds.period

        def rate(metric_name: str, label: str) -> cloudwatch.MathExpression:
            errors = self.metric_api(metric_name, statistic="Average", period=period)
            return error_rate(errors, label=label, period=period)

        wanted: list[AlarmSpec] = [
            (
                "Api4xxRate",
                rate("4XXError", "4XX rate (%)"),
                thresholds.api_4xx_rate_percent,
                "Share (%) of webhook requests answered 4XX is too high: a wrong or rotated "
                "signing secret, clock skew, or someone probing the endpoint.",
            ),
            (
                "Api5xxRate",
                rate("5XXError", "5XX rate (%)"),
                thresholds.api_5xx_rate_percent,
                "Share (%) of webhook requests answered 5XX is too high: the provider retries, "
                "but deliveries are delayed or lost.",
            ),
            (
                "DeadLetterMessages",
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum"
                )
                if self.dead_letter_queue is not None
                else None,
                thresholds.dead_letter_messages,
                "Verified webhooks failed processing and wait in the dead-letter queue.",
            ),
        ]
        return threshold_alarms(self, wanted, action=action)
