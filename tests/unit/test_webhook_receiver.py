"""WebhookReceiver: every default as a template assertion, every validation error."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from serverless_patterns.constructs import (
    IdempotencyOptions,
    IdempotencyTable,
    QueueWorker,
    WebhookReceiver,
    WebhookReceiverAlarms,
)
from serverless_patterns.runtime.idempotency import schema
from serverless_patterns.runtime.webhooks import contract
from tests.unit.templates import only

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def receiver(stack: Stack, **kwargs: Any) -> WebhookReceiver:
    kwargs.setdefault("code", CODE)
    return WebhookReceiver(stack, "Receiver", **kwargs)


def consumer(stack: Stack) -> QueueWorker:
    return QueueWorker(stack, "Consumer", code=CODE, handler="index.handler")


def ref(stack: Stack, construct: Any) -> dict[str, str]:
    return {"Ref": str(stack.resolve(construct.node.default_child.logical_id))}


def get_att(stack: Stack, construct: Any, attribute: str = "Arn") -> dict[str, list[str]]:
    return {"Fn::GetAtt": [str(stack.resolve(construct.node.default_child.logical_id)), attribute]}


def verifier(template: Template) -> dict[str, Any]:
    [props] = [
        r["Properties"]
        for r in template.find_resources("AWS::Lambda::Function").values()
        if r["Properties"]["Handler"] == contract.RECEIVER_HANDLER
    ]
    return dict(props)


def statements_of(template: Template, policy_fragment: str) -> list[dict[str, Any]]:
    found = [
        statement
        for key, policy in template.find_resources("AWS::IAM::Policy").items()
        if policy_fragment in key
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert found, policy_fragment
    return found


def without_baseline(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drops the BaselineFunction's own X-Ray and log statements."""
    return [
        s
        for s in statements
        if not str(s["Action"]).startswith("['xray") and not str(s["Action"]).startswith("['logs")
    ]


def alarms_by_name(template: Template) -> dict[str, dict[str, Any]]:
    return {
        key: value["Properties"]
        for key, value in template.find_resources("AWS::CloudWatch::Alarm").items()
    }


# --- API --------------------------------------------------------------------------------------


def test_post_on_webhooks_without_authorizer_proxies_to_the_verifier(stack: Stack) -> None:
    created = receiver(stack)
    template = Template.from_stack(stack)
    assert only(template, "AWS::ApiGateway::Resource")["Properties"]["PathPart"] == "webhooks"
    method = only(template, "AWS::ApiGateway::Method")["Properties"]
    assert method["HttpMethod"] == "POST"
    assert method["AuthorizationType"] == "NONE"
    assert method["RequestValidatorId"] == ref(stack, created.request_validator)
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["TimeoutInMillis"] == 29_000
    assert get_att(stack, created.function) in method["Integration"]["Uri"]["Fn::Join"][1]
    validator = only(template, "AWS::ApiGateway::RequestValidator")["Properties"]
    assert validator["ValidateRequestBody"] is True
    assert validator["ValidateRequestParameters"] is True


def test_nested_path(stack: Stack) -> None:
    receiver(stack, path="/hooks/stripe/")
    parts = [
        r["Properties"]["PathPart"]
        for r in Template.from_stack(stack).find_resources("AWS::ApiGateway::Resource").values()
    ]
    assert sorted(parts) == ["hooks", "stripe"]


def test_stage_is_throttled_traced_and_logs_json_access_logs(stack: Stack) -> None:
    created = receiver(stack)
    template = Template.from_stack(stack)
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == "prod"
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 200,
            "ThrottlingRateLimit": 100,
        }
    ]
    assert (
        ref(stack, created.access_log_group)
        in (stage["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1])
    )
    assert stage["AccessLogSetting"]["Format"].startswith('{"requestId":"$context.requestId"')
    [access_logs] = [
        r
        for key, r in template.find_resources("AWS::Logs::LogGroup").items()
        if key.startswith("ReceiverAccessLogs")
    ]
    assert access_logs["Properties"]["RetentionInDays"] == 30
    assert access_logs["DeletionPolicy"] == "Retain"


def test_throttling_retention_and_stage_are_configurable(stack: Stack) -> None:
    receiver(
        stack,
        throttling_rate_limit=5,
        throttling_burst_limit=10,
        stage_name="live",
        access_log_retention=logs.RetentionDays.ONE_WEEK,
    )
    template = Template.from_stack(stack)
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == "live"
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == 5
    assert stage["MethodSettings"][0]["ThrottlingBurstLimit"] == 10
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})


def test_url_ends_with_the_path(stack: Stack) -> None:
    created = receiver(stack)
    resolved = stack.resolve(created.url)
    assert resolved["Fn::Join"][1][-2:] == [ref(stack, created.api.deployment_stage), "/webhooks"]


# --- verifier function ------------------------------------------------------------------------


def test_verifier_environment_has_exact_names_and_values(stack: Stack) -> None:
    created = receiver(stack)
    props = verifier(Template.from_stack(stack))
    assert props["Environment"]["Variables"] == {
        contract.RECEIVER_SECRET_ARN_ENV: ref(stack, created.secret),
        contract.RECEIVER_QUEUE_URL_ENV: ref(stack, created.queue),
        contract.RECEIVER_CLAIM_CHECK_BUCKET_ENV: ref(stack, created.claim_check_bucket),
        contract.RECEIVER_TOLERANCE_ENV: "300",
        contract.RECEIVER_SECRET_CACHE_ENV: "300",
        schema.TABLE_NAME_ENV: ref(stack, created.idempotency_table),
        schema.EXPIRES_AFTER_ENV: "3600",
    }
    assert set(props["Environment"]["Variables"]) == {
        "WEBHOOK_SECRET_ARN",
        "WEBHOOK_QUEUE_URL",
        "WEBHOOK_CLAIM_CHECK_BUCKET",
        "WEBHOOK_TOLERANCE_SECONDS",
        "WEBHOOK_SECRET_CACHE_SECONDS",
        "IDEMPOTENCY_TABLE_NAME",
        "IDEMPOTENCY_EXPIRES_AFTER_SECONDS",
    }


def test_verifier_baseline_and_timeout(stack: Stack) -> None:
    receiver(stack)
    props = verifier(Template.from_stack(stack))
    assert props["Timeout"] == 10
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_tolerance_cache_and_function_props_are_configurable(stack: Stack) -> None:
    receiver(
        stack,
        tolerance=Duration.minutes(2),
        secret_cache_ttl=Duration.seconds(0),
        function_props={"timeout": Duration.seconds(20), "environment": {"EXTRA": "1"}},
    )
    props = verifier(Template.from_stack(stack))
    variables = props["Environment"]["Variables"]
    assert variables[contract.RECEIVER_TOLERANCE_ENV] == "120"
    assert variables[contract.RECEIVER_SECRET_CACHE_ENV] == "0"
    assert variables["EXTRA"] == "1"
    assert props["Timeout"] == 20


def test_verifier_grants_are_exact_and_have_no_wildcard_action(stack: Stack) -> None:
    created = receiver(stack)
    template = Template.from_stack(stack)
    statements = without_baseline(statements_of(template, "ReceiverFunctionServiceRole"))
    assert statements == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": ref(stack, created.secret),
        },
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": get_att(stack, created.queue),
        },
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": ["", [get_att(stack, created.claim_check_bucket), "/webhooks/*"]]
            },
        },
        {
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
            ],
            "Effect": "Allow",
            "Resource": get_att(stack, created.idempotency_table),
        },
    ]
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert not any("*" in action for action in actions)
    [role] = [
        r for key, r in template.find_resources("AWS::IAM::Role").items() if "Function" in key
    ]
    assert not role["Properties"].get("ManagedPolicyArns")


# --- secret -----------------------------------------------------------------------------------


def test_new_secret_is_generated_and_retained(stack: Stack) -> None:
    receiver(stack)
    secret = only(Template.from_stack(stack), "AWS::SecretsManager::Secret")
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["Properties"]["GenerateSecretString"] == {
        "ExcludePunctuation": True,
        "PasswordLength": 32,
    }


def test_existing_secret_is_used(stack: Stack) -> None:
    own = secretsmanager.Secret(stack, "Own")
    created = receiver(stack, secret=own)
    assert created.secret is own
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SecretsManager::Secret", 1)
    assert verifier(template)["Environment"]["Variables"][contract.RECEIVER_SECRET_ARN_ENV] == ref(
        stack, own
    )


# --- queue ------------------------------------------------------------------------------------


def test_new_queue_is_encrypted_tls_only_with_a_dead_letter_queue(stack: Stack) -> None:
    created = receiver(stack)
    template = Template.from_stack(stack)
    queue = template.find_resources("AWS::SQS::Queue")[
        str(stack.resolve(created.queue.node.default_child.logical_id))  # type: ignore[union-attr]
    ]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["VisibilityTimeout"] == 30
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att(stack, created.dead_letter_queue),
        "maxReceiveCount": 5,
    }
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1_209_600}
    )
    template.resource_count_is("AWS::SQS::QueuePolicy", 2)
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queue_props_reach_the_new_queue(stack: Stack) -> None:
    receiver(stack, queue_props={"retention_period": Duration.days(2)})
    Template.from_stack(stack).has_resource_properties(
        "AWS::SQS::Queue", {"MessageRetentionPeriod": 2 * 24 * 3600}
    )


def test_worker_queue_is_fed_and_its_function_may_read_claim_checks(stack: Stack) -> None:
    worker = consumer(stack)
    created = receiver(stack, worker=worker)
    assert created.queue is worker.queue
    assert created.dead_letter_queue is worker.dead_letter_queue
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SQS::Queue", 2)
    statements = without_baseline(statements_of(template, "ConsumerFunctionServiceRole"))
    assert {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": {"Fn::Join": ["", [get_att(stack, created.claim_check_bucket), "/webhooks/*"]]},
    } in statements
    assert not any("s3:PutObject" in str(s["Action"]) for s in statements)


def test_existing_queue_is_fed(stack: Stack) -> None:
    dead = sqs.Queue(stack, "OwnDead")
    own = sqs.Queue(
        stack, "Own", dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=5)
    )
    created = receiver(stack, queue=own)
    assert created.queue is own
    assert created.dead_letter_queue is dead
    Template.from_stack(stack).resource_count_is("AWS::SQS::Queue", 2)


def test_imported_queue_has_no_dead_letter_alarm(stack: Stack) -> None:
    imported = sqs.Queue.from_queue_arn(stack, "Imported", "arn:aws:sqs:eu-west-1:123456789012:q")
    created = receiver(stack, queue=imported)
    assert created.dead_letter_queue is None
    assert len(created.alarms) == 2


# --- idempotency ------------------------------------------------------------------------------


def test_new_idempotency_table_by_default(stack: Stack) -> None:
    created = receiver(stack)
    template = Template.from_stack(stack)
    table = only(template, "AWS::DynamoDB::Table")["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert created.idempotency_table.node.path == "Test/Receiver/IdempotencyTable/Table"


def test_shared_idempotency_table_and_expiry(stack: Stack) -> None:
    shared = IdempotencyTable(stack, "Shared")
    created = receiver(
        stack, idempotency=IdempotencyOptions(table=shared, expires_after=Duration.hours(2))
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    assert created.idempotency_table is shared.table
    assert verifier(template)["Environment"]["Variables"][schema.EXPIRES_AFTER_ENV] == "7200"


# --- claim-check bucket -----------------------------------------------------------------------


def test_bucket_is_encrypted_private_tls_only_and_expires_objects(stack: Stack) -> None:
    receiver(stack)
    template = Template.from_stack(stack)
    bucket = only(template, "AWS::S3::Bucket")
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LifecycleConfiguration"] == {
        "Rules": [
            {
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                "ExpirationInDays": 7,
                "Id": "ExpireClaimChecks",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                "Status": "Enabled",
            }
        ]
    }
    # Issue 12: versioned by default, so an object overwritten or deleted by mistake can be
    # restored; noncurrent versions expire after a day so they do not pile up.
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    policy = only(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny"
        and s["Action"] == "s3:*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def test_bucket_expiry_and_versioning_are_configurable(stack: Stack) -> None:
    receiver(stack, claim_check_expiry_days=3, claim_check_versioned=False)
    props = only(Template.from_stack(stack), "AWS::S3::Bucket")["Properties"]
    assert "VersioningConfiguration" not in props
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 3
    assert "NoncurrentVersionExpiration" not in rule


def test_existing_bucket_is_used(stack: Stack) -> None:
    own = s3.Bucket(stack, "Own")
    created = receiver(stack, claim_check_bucket=own)
    assert created.claim_check_bucket is own
    Template.from_stack(stack).resource_count_is("AWS::S3::Bucket", 1)


# --- alarms -----------------------------------------------------------------------------------


def test_three_alarms_with_default_thresholds(stack: Stack) -> None:
    created = receiver(stack)
    alarms = alarms_by_name(Template.from_stack(stack))
    assert len(created.alarms) == 3
    rate_4xx = next(p for k, p in alarms.items() if "Api4xxRate" in k)
    rate_5xx = next(p for k, p in alarms.items() if "Api5xxRate" in k)
    dead = next(p for k, p in alarms.items() if "DeadLetterMessages" in k)
    assert len(alarms) == 3
    assert rate_4xx["Threshold"] == 10
    assert rate_5xx["Threshold"] == 1
    assert dead["Threshold"] == 1
    for props in (rate_4xx, rate_5xx, dead):
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in props
    [expression, metric] = rate_4xx["Metrics"]
    assert expression["Expression"] == "errors * 100"
    assert metric["MetricStat"]["Metric"]["MetricName"] == "4XXError"
    assert metric["MetricStat"]["Metric"]["Namespace"] == "AWS/ApiGateway"
    assert metric["MetricStat"]["Stat"] == "Average"
    assert metric["MetricStat"]["Period"] == 300
    assert rate_5xx["Metrics"][1]["MetricStat"]["Metric"]["MetricName"] == "5XXError"
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": get_att(stack, created.dead_letter_queue, "QueueName")}
    ]


def test_alarm_thresholds_and_action(stack: Stack) -> None:
    topic = sns.Topic(stack, "Ops")
    created = receiver(
        stack,
        alarms=WebhookReceiverAlarms(api_4xx_rate_percent=None, api_5xx_rate_percent=5.0),
        alarm_action=cw_actions.SnsAction(topic),
    )
    assert len(created.alarms) == 2
    alarms = alarms_by_name(Template.from_stack(stack))
    assert not any("Api4xxRate" in key for key in alarms)
    rate_5xx = next(p for k, p in alarms.items() if "Api5xxRate" in k)
    assert rate_5xx["Threshold"] == 5
    assert rate_5xx["AlarmActions"] == [ref(stack, topic)]
    assert rate_5xx["OKActions"] == [ref(stack, topic)]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "a/{id}"}, r"path must be segments .* got 'a/\{id\}'"),
        ({"path": ""}, r"path must be segments .* got ''"),
        (
            {"throttling_rate_limit": -1},
            r"throttling_rate_limit must be between 0 and 10000, got -1",
        ),
        ({"throttling_burst_limit": 5001}, r"throttling_burst_limit must be between 0 and 5000"),
        ({"tolerance": Duration.seconds(0)}, r"tolerance \(seconds\) must be between 1 and 3600"),
        (
            {"tolerance": Duration.hours(2)},
            r"tolerance \(seconds\) must be between 1 and 3600, got 7200",
        ),
        ({"tolerance": Duration.millis(1500)}, r"tolerance must be a whole number of seconds"),
        (
            {"secret_cache_ttl": Duration.hours(2)},
            r"secret_cache_ttl \(seconds\) must be between 0",
        ),
        (
            {"claim_check_expiry_days": 0},
            r"claim_check_expiry_days must be between 1 and 365, got 0",
        ),
        ({"claim_check_expiry_days": 400}, r"claim_check_expiry_days must be between 1 and 365"),
        ({"claim_check_expiry_days": 1.5}, r"claim_check_expiry_days must be whole days, got 1.5"),
        (
            {"function_props": {"handler": "x.y"}},
            r"function_props\['handler'\] is set by WebhookReceiver",
        ),
        (
            {"idempotency": IdempotencyOptions(expires_after=Duration.days(31))},
            r"idempotency expires_after \(seconds\) must be between 1 and 2592000",
        ),
    ],
)
def test_invalid_props_raise(stack: Stack, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        receiver(stack, **kwargs)


def test_worker_and_queue_are_exclusive(stack: Stack) -> None:
    with pytest.raises(
        ValueError, match="Test/Receiver: pass either 'worker' or 'queue', not both"
    ):
        receiver(stack, worker=consumer(stack), queue=sqs.Queue(stack, "Own"))


def test_existing_queue_and_queue_props_are_exclusive(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"pass either 'queue' .* or 'queue_props'"):
        receiver(
            stack, queue=sqs.Queue(stack, "Own"), queue_props={"retention_period": Duration.days(1)}
        )


def test_worker_and_queue_props_are_exclusive(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"pass either 'worker' .* or 'queue_props'"):
        receiver(stack, worker=consumer(stack), queue_props={"retention_period": Duration.days(1)})


@pytest.mark.parametrize(
    "bucket_setting",
    [{"claim_check_expiry_days": 3}, {"claim_check_versioned": True}],
)
def test_existing_bucket_and_bucket_settings_are_exclusive(
    stack: Stack, bucket_setting: dict[str, Any]
) -> None:
    [name] = bucket_setting
    with pytest.raises(ValueError, match=f"pass either 'claim_check_bucket' .* or '{name}'"):
        receiver(stack, claim_check_bucket=s3.Bucket(stack, "Own"), **bucket_setting)


def test_validation_happens_before_any_resource_exists(stack: Stack) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        receiver(stack, tolerance=Duration.seconds(0))
    assert [child.node.id for child in stack.node.children] == ["Receiver"]
    assert stack.node.find_child("Receiver").node.children == []


def test_every_created_resource_is_an_attribute(stack: Stack) -> None:
    created = receiver(stack)
    assert isinstance(created.function, lambda_.Function)
    assert isinstance(created.secret, secretsmanager.Secret)
    assert isinstance(created.queue, sqs.Queue)
    assert isinstance(created.dead_letter_queue, sqs.Queue)
    assert isinstance(created.claim_check_bucket, s3.Bucket)
    assert isinstance(created.api.deployment_stage, apigw.Stage)
    assert created.method.http_method == "POST"


# --- grant_read_claim_checks (a consumer of your own queue) -----------------------------------


def test_grant_read_claim_checks_allows_get_object_on_the_prefix_only(stack: Stack) -> None:
    created = receiver(stack, queue=sqs.Queue(stack, "Own"))
    reader = lambda_.Function(
        stack, "Reader", code=CODE, handler="index.handler", runtime=lambda_.Runtime.PYTHON_3_13
    )
    grant = created.grant_read_claim_checks(reader)
    assert grant.success
    statements = statements_of(Template.from_stack(stack), "ReaderServiceRole")
    assert statements == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": ["", [get_att(stack, created.claim_check_bucket), "/webhooks/*"]]
            },
        }
    ]  # S3-managed encryption: no KMS permission is needed


def test_grant_read_claim_checks_adds_kms_decrypt_on_the_buckets_key(stack: Stack) -> None:
    """Amazon S3 guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)": reading an
    SSE-KMS object needs kms:Decrypt on its key; writing one needs kms:GenerateDataKey."""
    key = kms.Key(stack, "BucketKey")
    bucket = s3.Bucket(stack, "Own", encryption_key=key)
    created = receiver(stack, queue=sqs.Queue(stack, "Queue"), claim_check_bucket=bucket)
    reader = lambda_.Function(
        stack, "Reader", code=CODE, handler="index.handler", runtime=lambda_.Runtime.PYTHON_3_13
    )
    created.grant_read_claim_checks(reader)
    template = Template.from_stack(stack)
    reader_statements = statements_of(template, "ReaderServiceRole")
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": get_att(stack, key)} in (
        reader_statements
    )
    assert [s["Action"] for s in reader_statements] == ["s3:GetObject", "kms:Decrypt"]
    verifier_statements = statements_of(template, "ReceiverFunctionServiceRole")
    assert {
        "Action": "kms:GenerateDataKey",
        "Effect": "Allow",
        "Resource": get_att(stack, key),
    } in verifier_statements
    assert not any("kms:Decrypt" in str(s["Action"]) for s in verifier_statements)
