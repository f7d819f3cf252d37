"""WebhookSender: every default as a template assertion, every validation error."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from serverless_patterns.constructs import QueueWorker, QueueWorkerAlarms, WebhookSender
from serverless_patterns.runtime.webhooks import DELIVERY_QUEUE_URL_ENV, contract
from tests.unit.templates import logical_id, only

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def sender(stack: Stack, **kwargs: Any) -> WebhookSender:
    kwargs.setdefault("code", CODE)
    return WebhookSender(stack, "Sender", **kwargs)


def ref(stack: Stack, construct: Any) -> dict[str, str]:
    return {"Ref": logical_id(stack, construct)}


def get_att(stack: Stack, construct: Any, attribute: str = "Arn") -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id(stack, construct), attribute]}


def function_props(template: Template) -> dict[str, Any]:
    return dict(only(template, "AWS::Lambda::Function")["Properties"])


def role_statements(template: Template) -> list[dict[str, Any]]:
    """The function's statements without the BaselineFunction's X-Ray and log statements."""
    return [
        statement
        for statement in only(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"][
            "Statement"
        ]
        if not str(statement["Action"]).startswith(("['xray", "['logs"))
    ]


# --- defaults ---------------------------------------------------------------------------------


def test_function_runs_the_sender_handler_with_exact_environment(stack: Stack) -> None:
    created = sender(stack)
    props = function_props(Template.from_stack(stack))
    assert props["Handler"] == contract.SENDER_HANDLER
    assert props["Environment"]["Variables"] == {
        contract.SENDER_SUBSCRIBERS_TABLE_ENV: ref(stack, created.subscribers_table),
        contract.SENDER_QUEUE_URL_ENV: ref(stack, created.queue),
        contract.SENDER_DEAD_LETTER_QUEUE_URL_ENV: ref(stack, created.dead_letter_queue),
        contract.SENDER_MAX_ATTEMPTS_ENV: "8",
        contract.SENDER_TIMEOUT_ENV: "10",
    }
    assert set(props["Environment"]["Variables"]) == {
        "WEBHOOK_SUBSCRIBERS_TABLE",
        "WEBHOOK_DELIVERY_QUEUE_URL",
        "WEBHOOK_DEAD_LETTER_QUEUE_URL",
        "WEBHOOK_MAX_ATTEMPTS",
        "WEBHOOK_TIMEOUT_SECONDS",
    }


def test_function_timeout_covers_a_batch_of_timed_out_deliveries(stack: Stack) -> None:
    sender(stack)
    template = Template.from_stack(stack)
    # 10 deliveries x 10 s + 10 s headroom; the queue's visibility is 6x that.
    assert function_props(template)["Timeout"] == 110
    template.has_resource_properties("AWS::SQS::Queue", {"VisibilityTimeout": 660})


def test_max_attempts_timeout_and_batch_size_are_configurable(stack: Stack) -> None:
    sender(stack, max_attempts=3, delivery_timeout=Duration.seconds(5), batch_size=2)
    template = Template.from_stack(stack)
    props = function_props(template)
    assert props["Environment"]["Variables"][contract.SENDER_MAX_ATTEMPTS_ENV] == "3"
    assert props["Environment"]["Variables"][contract.SENDER_TIMEOUT_ENV] == "5"
    assert props["Timeout"] == 20
    mapping = only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["BatchSize"] == 2


def test_a_long_enough_function_timeout_is_kept(stack: Stack) -> None:
    sender(stack, function_props={"timeout": Duration.minutes(5), "memory_size": 512})
    props = function_props(Template.from_stack(stack))
    assert props["Timeout"] == 300
    assert props["MemorySize"] == 512


def test_delivery_queue_is_encrypted_with_a_dead_letter_queue(stack: Stack) -> None:
    created = sender(stack)
    template = Template.from_stack(stack)
    queues = template.find_resources("AWS::SQS::Queue")
    queue = queues[logical_id(stack, created.queue)]["Properties"]
    dead = queues[logical_id(stack, created.dead_letter_queue)]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att(stack, created.dead_letter_queue),
        "maxReceiveCount": 5,
    }
    assert dead["SqsManagedSseEnabled"] is True
    assert dead["MessageRetentionPeriod"] == 14 * 24 * 3600
    template.resource_count_is("AWS::SQS::QueuePolicy", 2)
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queue_worker_consumes_with_partial_batch_responses(stack: Stack) -> None:
    created = sender(stack, max_concurrency=4)
    assert isinstance(created.worker, QueueWorker)
    mapping = only(Template.from_stack(stack), "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert mapping["EventSourceArn"] == get_att(stack, created.queue)
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 4}


def test_subscribers_table_schema(stack: Stack) -> None:
    sender(stack)
    table = only(Template.from_stack(stack), "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert props["KeySchema"] == [{"AttributeName": "subscriber_id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": contract.SUBSCRIBER_ID_ATTRIBUTE, "AttributeType": "S"}
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_grants_are_exact_and_have_no_wildcard_action(stack: Stack) -> None:
    created = sender(stack)
    template = Template.from_stack(stack)
    assert role_statements(template) == [
        {
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            "Effect": "Allow",
            "Resource": get_att(stack, created.queue),
        },
        {
            "Action": list(contract.SUBSCRIBER_TABLE_ACTIONS),
            "Effect": "Allow",
            "Resource": get_att(stack, created.subscribers_table),
        },
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": get_att(stack, created.dead_letter_queue),
        },
        {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
            "webhooks/subscribers/*",
        },
    ]
    assert contract.SUBSCRIBER_TABLE_ACTIONS == ("dynamodb:GetItem", "dynamodb:UpdateItem")
    for statement in role_statements(template):
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            assert "*" not in action


def test_subscriber_secret_prefix_is_configurable(stack: Stack) -> None:
    sender(stack, subscriber_secret_prefix="acme/hooks/")
    [secret] = [
        s
        for s in role_statements(Template.from_stack(stack))
        if s["Action"] == "secretsmanager:GetSecretValue"
    ]
    assert secret["Resource"] == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/hooks/*"


def test_existing_table_is_used_and_granted(stack: Stack) -> None:
    own = dynamodb.Table(
        stack,
        "Own",
        partition_key=dynamodb.Attribute(name="subscriber_id", type=dynamodb.AttributeType.STRING),
    )
    created = sender(stack, subscribers_table=own)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    assert created.subscribers_table is own
    assert function_props(template)["Environment"]["Variables"][
        contract.SENDER_SUBSCRIBERS_TABLE_ENV
    ] == ref(stack, own)
    assert {
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Effect": "Allow",
        "Resource": get_att(stack, own),
    } in role_statements(template)


def test_grant_enqueue_lets_a_producer_send_only(stack: Stack) -> None:
    created = sender(stack)
    producer = iam.Role(stack, "Producer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    created.grant_enqueue(producer)
    template = Template.from_stack(stack)
    [policy] = [
        p
        for key, p in template.find_resources("AWS::IAM::Policy").items()
        if key.startswith("ProducerDefaultPolicy")
    ]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": get_att(stack, created.queue),
        }
    ]


def test_alarms_watch_the_dead_letter_queue_and_oldest_delivery(stack: Stack) -> None:
    created = sender(stack)
    alarms = {
        key: value["Properties"]
        for key, value in Template.from_stack(stack)
        .find_resources("AWS::CloudWatch::Alarm")
        .items()
    }
    assert len(created.alarms) == 4
    dead = next(p for k, p in alarms.items() if "DeadLetterMessages" in k)
    oldest = next(p for k, p in alarms.items() if "OldestMessageAge" in k)
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": get_att(stack, created.dead_letter_queue, "QueueName")}
    ]
    assert dead["Threshold"] == 1
    assert oldest["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert oldest["Dimensions"] == [
        {"Name": "QueueName", "Value": get_att(stack, created.queue, "QueueName")}
    ]
    assert oldest["Threshold"] == 900


def test_alarm_thresholds_and_action(stack: Stack) -> None:
    topic = sns.Topic(stack, "Ops")
    created = sender(
        stack,
        alarms=QueueWorkerAlarms(oldest_message_age=Duration.minutes(30), function_throttles=None),
        alarm_action=cw_actions.SnsAction(topic),
    )
    assert len(created.alarms) == 3
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    oldest = next(p["Properties"] for k, p in alarms.items() if "OldestMessageAge" in k)
    assert oldest["Threshold"] == 1800
    assert oldest["AlarmActions"] == [ref(stack, topic)]
    assert oldest["OKActions"] == [ref(stack, topic)]


def test_longest_delivery_timeout_and_batch_fit_lambda(stack: Stack) -> None:
    sender(stack, delivery_timeout=Duration.seconds(60), batch_size=10)
    assert function_props(Template.from_stack(stack))["Timeout"] == 610


def test_validation_happens_before_any_resource_exists(stack: Stack) -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        sender(stack, max_concurrency=1)
    assert [child.node.id for child in stack.node.children] == ["Sender"]
    assert [child.node.id for child in stack.node.find_child("Sender").node.children] == [
        "Delivery"
    ]
    assert stack.node.find_child("Sender").node.find_child("Delivery").node.children == []


def test_every_created_resource_is_an_attribute(stack: Stack) -> None:
    created = sender(stack)
    assert isinstance(created.function, lambda_.Function)
    assert created.function is created.worker.function
    assert isinstance(created.queue, sqs.Queue)
    assert isinstance(created.dead_letter_queue, sqs.Queue)
    assert isinstance(created.subscribers_table, dynamodb.Table)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, r"max_attempts must be between 1 and 100, got 0"),
        ({"max_attempts": 101}, r"max_attempts must be between 1 and 100, got 101"),
        (
            {"delivery_timeout": Duration.seconds(0)},
            r"delivery_timeout \(seconds\) must be between 1 and 60, got 0",
        ),
        (
            {"delivery_timeout": Duration.seconds(61)},
            r"delivery_timeout \(seconds\) must be between 1 and 60, got 61",
        ),
        (
            {"delivery_timeout": Duration.millis(2500)},
            r"delivery_timeout must be a whole number of seconds, got 2.5 s",
        ),
        ({"batch_size": 0}, r"batch_size must be between 1 and 10, got 0"),
        ({"batch_size": 11}, r"batch_size must be between 1 and 10, got 11"),
        ({"max_concurrency": 1}, r"max_concurrency must be between 2 and 1000, got 1"),
        ({"subscriber_secret_prefix": ""}, r"subscriber_secret_prefix must be a non-empty"),
        ({"subscriber_secret_prefix": "a/*"}, r"without '\*', got 'a/\*'"),
        (
            {"function_props": {"timeout": Duration.seconds(60)}},
            r"function timeout 60 s is below 110 s",
        ),
        ({"function_props": {"handler": "x.y"}}, r"function_props\['handler'\] is set by"),
        (
            {"queue_props": {"visibility_timeout": Duration.minutes(1)}},
            r"queue_props\['visibility_timeout'\] is set by QueueWorker",
        ),
    ],
)
def test_invalid_props_raise(stack: Stack, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sender(stack, **kwargs)


# --- producers and subscriber management --------------------------------------------------------


def policy_of(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    [policy] = [
        p
        for key, p in template.find_resources("AWS::IAM::Policy").items()
        if key.startswith(role_prefix)
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_grant_manage_subscribers_is_item_actions_on_the_table_only(stack: Stack) -> None:
    created = sender(stack)
    admin = iam.Role(stack, "Admin", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    created.grant_manage_subscribers(admin)
    [statement] = policy_of(Template.from_stack(stack), "AdminDefaultPolicy")
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == get_att(stack, created.subscribers_table)
    assert set(statement["Action"]) == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }


def test_grant_manage_subscribers_includes_the_tables_own_key(stack: Stack) -> None:
    own = dynamodb.Table(
        stack,
        "Own",
        partition_key=dynamodb.Attribute(name="subscriber_id", type=dynamodb.AttributeType.STRING),
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
    )
    created = sender(stack, subscribers_table=own)
    admin = iam.Role(stack, "Admin", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    created.grant_manage_subscribers(admin)
    statements = policy_of(Template.from_stack(stack), "AdminDefaultPolicy")
    key_arn = get_att(stack, own.encryption_key)
    key_statements = [s for s in statements if s["Resource"] == key_arn]
    assert len(key_statements) == 1
    assert {"kms:Decrypt", "kms:Encrypt"} <= set(key_statements[0]["Action"])


def test_add_producer_sets_the_queue_url_and_grants_send(stack: Stack) -> None:
    created = sender(stack)
    producer = lambda_.Function(
        stack,
        "Producer",
        code=CODE,
        handler="index.handler",
        runtime=lambda_.Runtime.PYTHON_3_13,
    )
    created.add_producer(producer)
    template = Template.from_stack(stack)
    [props] = [
        p["Properties"]
        for key, p in template.find_resources("AWS::Lambda::Function").items()
        if key.startswith("Producer")
    ]
    assert props["Environment"]["Variables"] == {DELIVERY_QUEUE_URL_ENV: ref(stack, created.queue)}
    assert DELIVERY_QUEUE_URL_ENV == contract.SENDER_QUEUE_URL_ENV
    assert policy_of(template, "ProducerServiceRoleDefaultPolicy") == [
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": get_att(stack, created.queue),
        }
    ]


# --- metrics and concurrency --------------------------------------------------------------------
# Metric names: "Available CloudWatch metrics for Amazon SQS", "Types of metrics for Lambda
# functions" (AWS documentation).


def test_metrics_are_the_delivery_queue_and_sender_metrics(stack: Stack) -> None:
    created = sender(stack)
    expected = [
        (
            created.metric_dead_letter_messages(),
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": get_att(stack, created.dead_letter_queue, "QueueName")},
            "Maximum",
        ),
        (
            created.metric_age_of_oldest_message(period=Duration.minutes(1)),
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": get_att(stack, created.queue, "QueueName")},
            "Maximum",
        ),
        (
            created.metric_errors(),
            "AWS/Lambda",
            "Errors",
            {"FunctionName": ref(stack, created.function)},
            "Sum",
        ),
        (
            created.metric_throttles(),
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": ref(stack, created.function)},
            "Sum",
        ),
    ]
    for metric, namespace, name, dimensions, statistic in expected:
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            namespace,
            name,
            statistic,
        )
        assert stack.resolve(metric.dimensions) == dimensions
    assert [m.period.to_seconds() for m, *_ in expected] == [300, 60, 300, 300]


def test_reserved_concurrency_below_max_concurrency_is_a_warning(stack: Stack) -> None:
    """Lambda documentation, "Configuring maximum concurrency for Amazon SQS event sources":
    the event source does not account for reserved concurrency; above it, Lambda throttles."""
    sender(stack, function_props={"reserved_concurrent_executions": 4}, max_concurrency=8)
    [warning] = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("reserved concurrency 4 is below max_concurrency 8")
    )
    assert warning.id == "/Test/Sender/Delivery"
    assert "serverless-patterns:queueWorker:reservedBelowMaxConcurrency" in str(warning.entry.data)
