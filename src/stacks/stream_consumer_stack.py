"""Reference stack of pattern 7: order events from a Kinesis stream, and order totals per
tumbling window from a DynamoDB table stream."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from serverless_patterns.constructs import AlarmTopic, StreamConsumer, runtime_code
from serverless_patterns.runtime.streams.windows import WINDOW_TABLE_ENV

HANDLER = "serverless_patterns.runtime.handlers.stream_consumer.handler"
WINDOW_HANDLER = "serverless_patterns.runtime.handlers.stream_consumer_windows.handler"


def _table(scope: Construct, construct_id: str, **props: Any) -> dynamodb.Table:
    """An on-demand, encrypted table with point-in-time recovery, keyed on ``props``."""
    return dynamodb.Table(
        scope,
        construct_id,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.RETAIN,
        **props,
    )


class StreamConsumerStack(Stack):
    """Defines two StreamConsumers: Kinesis order events (a new on-demand stream) and a
    DynamoDB orders table whose inserts are totalled in 5-minute tumbling windows."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        alarms = AlarmTopic(self, "Alarms")
        code = runtime_code()
        self.order_events = StreamConsumer(
            self,
            "OrderEvents",
            code=code,
            handler=HANDLER,
            batch_size=100,
            max_batching_window=Duration.seconds(1),
            parallelization_factor=2,
            alarm_action=alarms.action,
        )
        orders = _table(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="order_id", type=dynamodb.AttributeType.STRING),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        totals = _table(
            self,
            "OrderTotals",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        )
        self.order_totals = StreamConsumer(
            self,
            "OrderTotalsWindow",
            code=code,
            handler=WINDOW_HANDLER,
            table=orders,
            tumbling_window=Duration.minutes(5),
            filters=[{"eventName": ["INSERT"]}],
            alarm_action=alarms.action,
        )
        totals.grant(self.order_totals.function, "dynamodb:PutItem")
        function = self.order_totals.function
        if isinstance(function, lambda_.Function):
            function.add_environment(WINDOW_TABLE_ENV, totals.table_name)
