"""QueueWorker: every default as an explicit template assertion, every validation error."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from serverless_patterns.constructs import QueueWorker, QueueWorkerAlarms

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
HANDLER = "index.handler"


def worker(stack: Stack, **kwargs: Any) -> QueueWorker:
    if "function" not in kwargs:
        kwargs.setdefault("code", CODE)
        kwargs.setdefault("handler", HANDLER)
    return QueueWorker(stack, "Worker", **kwargs)


def queues(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    """(source queue, dead-letter queue) properties."""
    found = template.find_resources("AWS::SQS::Queue")
    source = [r for r in found.values() if "RedrivePolicy" in r["Properties"]]
    dead = [r for r in found.values() if "RedrivePolicy" not in r["Properties"]]
    assert len(source) == 1 and len(dead) == 1
    return source[0]["Properties"], dead[0]["Properties"]


# --- defaults ---------------------------------------------------------------------------------


def test_queues_are_encrypted_and_dead_letter_queue_keeps_messages_14_days(stack: Stack) -> None:
    worker(stack)
    source, dead = queues(Template.from_stack(stack))
    assert source["SqsManagedSseEnabled"] is True
    assert dead["SqsManagedSseEnabled"] is True
    assert dead["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "FifoQueue" not in source and "FifoQueue" not in dead


def test_both_queues_deny_requests_without_tls(stack: Stack) -> None:
    worker(stack)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SQS::QueuePolicy", 2)
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Action"] == "sqs:*"
            for s in statements
        )


def test_redrive_after_five_receives(stack: Stack) -> None:
    worker(stack)
    source, _ = queues(Template.from_stack(stack))
    assert source["RedrivePolicy"]["maxReceiveCount"] == 5


def test_visibility_timeout_is_six_times_function_timeout(stack: Stack) -> None:
    worker(stack)
    source, _ = queues(Template.from_stack(stack))
    assert source["VisibilityTimeout"] == 6 * 30


def test_visibility_timeout_adds_the_batching_window(stack: Stack) -> None:
    worker(
        stack,
        function_props={"timeout": Duration.seconds(20)},
        max_batching_window=Duration.seconds(7),
    )
    source, _ = queues(Template.from_stack(stack))
    assert source["VisibilityTimeout"] == 6 * 20 + 7


def test_explicit_larger_visibility_timeout_is_kept(stack: Stack) -> None:
    worker(stack, visibility_timeout=Duration.minutes(10))
    source, _ = queues(Template.from_stack(stack))
    assert source["VisibilityTimeout"] == 600


def test_event_source_reports_batch_item_failures(stack: Stack) -> None:
    w = worker(stack)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    mapping = next(iter(template.find_resources("AWS::Lambda::EventSourceMapping").values()))
    props = mapping["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == 10
    assert "MaximumBatchingWindowInSeconds" not in props
    # Bounded by default: "Configuring maximum concurrency for Amazon SQS event sources".
    assert props["ScalingConfig"] == {"MaximumConcurrency": 10}
    assert "FilterCriteria" not in props
    assert w.event_source_mapping.node.path == "Test/Worker/EventSource"


def test_event_source_options_reach_the_mapping(stack: Stack) -> None:
    worker(
        stack,
        batch_size=500,
        max_batching_window=Duration.seconds(30),
        max_concurrency=5,
        filters=[{"body": {"kind": lambda_.FilterRule.is_equal("order")}}],
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 30,
            "ScalingConfig": {"MaximumConcurrency": 5},
            "FilterCriteria": {"Filters": [{"Pattern": '{"body":{"kind":["order"]}}'}]},
        },
    )


def test_function_baseline(stack: Stack) -> None:
    worker(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "MemorySize": 256,
            "Timeout": 30,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {
                "LogFormat": "JSON",
                "ApplicationLogLevel": "INFO",
                "SystemLogLevel": "WARN",
                "LogGroup": {"Ref": Match.string_like_regexp("WorkerFunctionLogGroup")},
            },
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_function_overrides_merge_over_the_baseline(stack: Stack) -> None:
    worker(
        stack,
        function_props={
            "memory_size": 1024,
            "environment": {"STAGE": "test"},
            "timeout": Duration.seconds(60),
        },
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "MemorySize": 1024,
            "Timeout": 60,
            "Architectures": ["arm64"],
            "Environment": {"Variables": {"STAGE": "test"}},
        },
    )
    source, _ = queues(template)
    assert source["VisibilityTimeout"] == 360


def test_role_has_no_managed_policy_and_no_wildcard_action(stack: Stack) -> None:
    worker(stack)
    template = Template.from_stack(stack)
    role = next(iter(template.find_resources("AWS::IAM::Role").values()))
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    assert not any("*" in action for action in actions)
    wildcard_resources = [s for s in statements if s["Resource"] == "*"]
    assert {a for s in wildcard_resources for a in s["Action"]} == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_four_alarms_with_default_thresholds(stack: Stack) -> None:
    w = worker(stack)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    expected = [
        ("ApproximateNumberOfMessagesVisible", "AWS/SQS", 1, "Maximum"),
        ("ApproximateAgeOfOldestMessage", "AWS/SQS", 900, "Maximum"),
        ("Errors", "AWS/Lambda", 1, "Sum"),
        ("Throttles", "AWS/Lambda", 1, "Sum"),
    ]
    for metric, namespace, threshold, statistic in expected:
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": metric,
                "Namespace": namespace,
                "Threshold": threshold,
                "Statistic": statistic,
                "Period": 300,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": Match.absent(),
            },
        )
    assert [a.node.id for a in w.alarms] == [
        "DeadLetterMessages",
        "OldestMessageAge",
        "FunctionErrors",
        "FunctionThrottles",
    ]


def test_dead_letter_alarm_watches_the_dead_letter_queue(stack: Stack) -> None:
    w = worker(stack)
    dlq_name = stack.resolve(w.dead_letter_queue.queue_name)  # type: ignore[union-attr]
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": dlq_name}],
        },
    )


def test_alarm_thresholds_are_configurable_and_can_be_left_out(stack: Stack) -> None:
    worker(
        stack,
        alarms=QueueWorkerAlarms(
            dead_letter_messages=3,
            oldest_message_age=None,
            function_throttles=None,
            period=Duration.minutes(1),
        ),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 3, "Period": 60},
    )


def test_alarm_action_runs_on_alarm_and_on_ok(stack: Stack) -> None:
    topic = sns.Topic(stack, "Ops")
    worker(stack, alarm_action=cw_actions.SnsAction(topic))
    template = Template.from_stack(stack)
    topic_ref = {"Ref": stack.get_logical_id(topic.node.default_child)}  # type: ignore[arg-type]
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 4
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic_ref]
        assert alarm["Properties"]["OKActions"] == [topic_ref]


def test_every_created_resource_is_an_attribute(stack: Stack) -> None:
    w = worker(stack)
    assert isinstance(w.queue, sqs.Queue)
    assert isinstance(w.dead_letter_queue, sqs.Queue)
    assert isinstance(w.function, lambda_.Function)
    assert isinstance(w.event_source_mapping, lambda_.EventSourceMapping)
    assert len(w.alarms) == 4
    assert w.function.node.path == "Test/Worker/Function"
    assert w.idempotency_table is None


def test_fifo_makes_both_queues_fifo(stack: Stack) -> None:
    worker(stack, fifo=True, queue_props={"content_based_deduplication": True})
    source, dead = queues(Template.from_stack(stack))
    assert source["FifoQueue"] is True and dead["FifoQueue"] is True
    assert source["ContentBasedDeduplication"] is True


def test_grant_send_messages(stack: Stack) -> None:
    w = worker(stack)
    producer = iam.Role(stack, "Producer", assumed_by=iam.AccountRootPrincipal())
    w.grant_send_messages(producer)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("Producer")}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": [
                                    "sqs:GetQueueAttributes",
                                    "sqs:GetQueueUrl",
                                    "sqs:SendMessage",
                                ]
                            }
                        )
                    ]
                )
            },
        },
    )


# --- bring your own ---------------------------------------------------------------------------


def own_queue(stack: Stack, visibility: int, dlq: bool = True) -> sqs.Queue:
    dead = sqs.Queue(stack, "OwnDlq") if dlq else None
    return sqs.Queue(
        stack,
        "Own",
        visibility_timeout=Duration.seconds(visibility),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=6) if dead else None,
    )


def test_existing_queue_is_consumed_without_new_queues(stack: Stack) -> None:
    queue = own_queue(stack, 300)
    w = worker(stack, queue=queue)
    Template.from_stack(stack).resource_count_is("AWS::SQS::Queue", 2)
    assert w.queue is queue
    assert w.dead_letter_queue is not None
    assert w.dead_letter_queue.node.path == "Test/OwnDlq"


def test_existing_function_timeout_is_read_from_the_function(stack: Stack) -> None:
    fn = lambda_.Function(
        stack,
        "Own",
        code=CODE,
        handler=HANDLER,
        runtime=lambda_.Runtime.PYTHON_3_14,
        timeout=Duration.seconds(10),
    )
    w = worker(stack, function=fn)
    source, _ = queues(Template.from_stack(stack))
    assert source["VisibilityTimeout"] == 60
    assert w.function is fn


def test_existing_function_without_timeout_uses_lambda_default(stack: Stack) -> None:
    fn = lambda_.Function(
        stack, "Own", code=CODE, handler=HANDLER, runtime=lambda_.Runtime.PYTHON_3_14
    )
    worker(stack, function=fn)
    source, _ = queues(Template.from_stack(stack))
    assert source["VisibilityTimeout"] == 18


def test_imported_function_uses_function_timeout(stack: Stack) -> None:
    fn = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:eu-west-1:123456789012:function:worker"
    )
    worker(stack, function=fn, function_timeout=Duration.seconds(40))
    source, _ = queues(Template.from_stack(stack))
    assert source["VisibilityTimeout"] == 240


def test_imported_queue_is_flagged_as_unverified(stack: Stack) -> None:
    queue = sqs.Queue.from_queue_arn(stack, "Imported", "arn:aws:sqs:eu-west-1:123456789012:jobs")
    w = worker(stack, queue=queue)
    assert w.dead_letter_queue is None
    assert len(w.alarms) == 3
    Annotations.from_stack(stack).has_warning(
        "/Test/Worker", Match.string_like_regexp("cannot be verified at synth")
    )


def test_low_max_receive_count_is_a_warning(stack: Stack) -> None:
    worker(stack, max_receive_count=2)
    Annotations.from_stack(stack).has_warning(
        "/Test/Worker", Match.string_like_regexp("max_receive_count 2 is below 5")
    )


def test_unresolved_tokens_are_not_validated(stack: Stack) -> None:
    size = CfnParameter(stack, "BatchSize", type="Number").value_as_number
    worker(stack, batch_size=size)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"BatchSize": {"Ref": "BatchSize"}}
    )


# --- validation errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"visibility_timeout": Duration.seconds(179)},
            r"Test/Worker: visibility_timeout 179 s is below the required 180 s",
        ),
        ({"batch_size": 11}, r"Test/Worker: batch_size 11 is above 10; set max_batching_window"),
        ({"batch_size": 0}, r"Test/Worker: batch_size must be between 1 and 10, got 0"),
        (
            {"batch_size": 10_001, "max_batching_window": Duration.seconds(1)},
            r"batch_size must be between 1 and 10000, got 10001",
        ),
        (
            {"max_batching_window": Duration.seconds(301)},
            r"max_batching_window \(seconds\) must be between 0 and 300, got 301",
        ),
        (
            {"fifo": True, "max_batching_window": Duration.seconds(1)},
            r"Test/Worker: max_batching_window is not supported on FIFO queues, got 1 s",
        ),
        (
            {"fifo": True, "batch_size": 11},
            r"batch_size on a FIFO queue must be between 1 and 10, got 11",
        ),
        ({"max_concurrency": 1}, r"max_concurrency must be between 2 and 1000, got 1"),
        ({"max_concurrency": 1001}, r"max_concurrency must be between 2 and 1000, got 1001"),
        ({"max_receive_count": 0}, r"max_receive_count must be between 1 and 1000, got 0"),
        (
            {"queue_props": {"visibility_timeout": Duration.seconds(600)}},
            r"queue_props\['visibility_timeout'\] is set by QueueWorker; use visibility_timeout",
        ),
        ({"queue_props": {"fifo": True}}, r"queue_props\['fifo'\] is set by QueueWorker; use fifo"),
        (
            {"queue_props": {"encryption": sqs.QueueEncryption.UNENCRYPTED}},
            r"Test/Worker/Queue: queues are encrypted at rest",
        ),
        (
            {"dead_letter_queue_props": {"encryption": sqs.QueueEncryption.UNENCRYPTED}},
            r"Test/Worker/DeadLetterQueue: queues are encrypted at rest",
        ),
        ({"code": None}, r"Test/Worker: pass 'code' and 'handler' for a new function"),
        (
            {"function_props": {"handler": "x.y"}},
            r"Test/Worker/Function: pass 'handler' as its own argument",
        ),
    ],
)
def test_invalid_props_raise(stack: Stack, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        worker(stack, **kwargs)


def test_queue_and_queue_props_are_exclusive(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"Test/Worker: pass either 'queue' .* or 'queue_props'"):
        worker(
            stack, queue=own_queue(stack, 300), queue_props={"retention_period": Duration.days(1)}
        )


def test_function_and_function_props_are_exclusive(stack: Stack) -> None:
    fn = lambda_.Function(
        stack, "Own", code=CODE, handler=HANDLER, runtime=lambda_.Runtime.PYTHON_3_14
    )
    with pytest.raises(ValueError, match=r"pass either 'function' .* or 'function_props'"):
        worker(stack, function=fn, function_props={"memory_size": 512})
    with pytest.raises(ValueError, match=r"pass either 'function' .* or 'code'"):
        QueueWorker(stack, "Other", function=fn, code=CODE)


def test_settings_of_a_new_queue_are_rejected_with_an_existing_queue(stack: Stack) -> None:
    queue = own_queue(stack, 300)
    with pytest.raises(ValueError, match=r"pass either 'queue' .* or 'max_receive_count'"):
        worker(stack, queue=queue, max_receive_count=7)


def test_existing_queue_with_short_visibility_timeout_raises(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"Test/Worker: the visibility timeout of queue 'Test/Own' is 60 s, "
        r"below the required 180 s",
    ):
        worker(stack, queue=own_queue(stack, 60))


def test_existing_queue_without_dead_letter_queue_raises(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"queue 'Test/Own' has no dead-letter queue"):
        worker(stack, queue=own_queue(stack, 300, dlq=False))


def test_fifo_flag_with_standard_queue_raises(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"fifo=True but the given queue is not FIFO"):
        worker(stack, queue=own_queue(stack, 300), fifo=True)


def test_imported_function_without_timeout_raises(stack: Stack) -> None:
    fn = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:eu-west-1:123456789012:function:worker"
    )
    with pytest.raises(
        ValueError,
        match=r"timeout of function 'Test/Imported' cannot be read at synth; pass function_timeout",
    ):
        worker(stack, function=fn)


# --- reserved concurrency below max_concurrency -----------------------------------------------
# Lambda documentation, "Configuring scaling behavior for SQS event source mappings", section
# "Configuring maximum concurrency for Amazon SQS event sources" (and the AWS Knowledge Center,
# "lambda-sqs-scaling"): the event source mapping does not account for reserved concurrency, so
# it invokes up to max_concurrency at once and Lambda throttles what is above the reservation.

RESERVED_WARNING = "serverless-patterns:queueWorker:reservedBelowMaxConcurrency"


def reserved_warnings(stack: Stack) -> list[Any]:
    return Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("reserved concurrency")
    )


def test_reserved_concurrency_below_max_concurrency_is_a_warning_with_an_id(stack: Stack) -> None:
    worker(stack, function_props={"reserved_concurrent_executions": 5}, max_concurrency=10)
    [warning] = reserved_warnings(stack)
    assert warning.id == "/Test/Worker"
    assert RESERVED_WARNING in warning.entry.data
    assert "reserved concurrency 5 is below max_concurrency 10" in warning.entry.data
    assert "throttles" in warning.entry.data


@pytest.mark.parametrize(
    ("reserved", "max_concurrency"), [(10, 10), (20, 10), (5, None), (None, 10)]
)
def test_reserved_concurrency_covering_max_concurrency_is_fine(
    stack: Stack, reserved: int | None, max_concurrency: int | None
) -> None:
    props = {} if reserved is None else {"reserved_concurrent_executions": reserved}
    worker(stack, function_props=props, max_concurrency=max_concurrency)
    assert reserved_warnings(stack) == []


def test_reserved_concurrency_of_an_existing_function_is_read(stack: Stack) -> None:
    fn = lambda_.Function(
        stack,
        "Own",
        code=CODE,
        handler=HANDLER,
        runtime=lambda_.Runtime.PYTHON_3_13,
        reserved_concurrent_executions=2,
    )
    worker(stack, function=fn, max_concurrency=3)
    assert len(reserved_warnings(stack)) == 1


def test_reserved_concurrency_tokens_are_not_compared(stack: Stack) -> None:
    reserved = CfnParameter(stack, "Reserved", type="Number").value_as_number
    worker(stack, function_props={"reserved_concurrent_executions": reserved}, max_concurrency=10)
    assert reserved_warnings(stack) == []


# --- metrics ------------------------------------------------------------------------------------
# "Available CloudWatch metrics for Amazon SQS" (AWS/SQS, dimension QueueName) and "Types of
# metrics for Lambda functions" (AWS/Lambda, dimension FunctionName; Errors and Throttles summed).


def metric_fields(stack: Stack, metric: Any) -> dict[str, Any]:
    return {
        "namespace": metric.namespace,
        "metric_name": metric.metric_name,
        "dimensions": stack.resolve(metric.dimensions),
        "statistic": metric.statistic,
        "period": metric.period.to_seconds(),
    }


def test_metrics_name_what_sqs_and_lambda_publish(stack: Stack) -> None:
    w = worker(stack)
    dlq = {"QueueName": stack.resolve(w.dead_letter_queue.queue_name)}  # type: ignore[union-attr]
    queue = {"QueueName": stack.resolve(w.queue.queue_name)}
    function = {"FunctionName": stack.resolve(w.function.function_name)}
    assert metric_fields(stack, w.metric_dead_letter_messages()) == {
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesVisible",
        "dimensions": dlq,
        "statistic": "Maximum",
        "period": 300,
    }
    assert metric_fields(stack, w.metric_age_of_oldest_message()) == {
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateAgeOfOldestMessage",
        "dimensions": queue,
        "statistic": "Maximum",
        "period": 300,
    }
    assert metric_fields(stack, w.metric_errors()) == {
        "namespace": "AWS/Lambda",
        "metric_name": "Errors",
        "dimensions": function,
        "statistic": "Sum",
        "period": 300,
    }
    assert metric_fields(stack, w.metric_throttles()) == {
        "namespace": "AWS/Lambda",
        "metric_name": "Throttles",
        "dimensions": function,
        "statistic": "Sum",
        "period": 300,
    }


def test_metrics_take_a_period(stack: Stack) -> None:
    w = worker(stack)
    for metric in (
        w.metric_dead_letter_messages(period=Duration.minutes(1)),
        w.metric_age_of_oldest_message(period=Duration.minutes(1)),
        w.metric_errors(period=Duration.minutes(1)),
        w.metric_throttles(period=Duration.minutes(1)),
    ):
        assert metric.period.to_seconds() == 60


def test_alarms_use_the_metric_methods(stack: Stack) -> None:
    w = worker(stack, alarms=QueueWorkerAlarms(period=Duration.minutes(2)))
    metrics = [
        w.metric_dead_letter_messages(period=Duration.minutes(2)),
        w.metric_age_of_oldest_message(period=Duration.minutes(2)),
        w.metric_errors(period=Duration.minutes(2)),
        w.metric_throttles(period=Duration.minutes(2)),
    ]
    for alarm, metric in zip(w.alarms, metrics, strict=True):
        assert metric_fields(stack, alarm.metric) == metric_fields(stack, metric)


def test_dead_letter_metric_of_an_imported_queue_is_an_error(stack: Stack) -> None:
    queue = sqs.Queue.from_queue_arn(stack, "Imported", "arn:aws:sqs:eu-west-1:123456789012:jobs")
    w = worker(stack, queue=queue)
    with pytest.raises(ValueError, match=r"^Test/Worker: the dead-letter queue .* is unknown"):
        w.metric_dead_letter_messages()
