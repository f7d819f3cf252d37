"""Reference stack of pattern 7: order events from a Kinesis stream, and order totals per
tumbling window from a DynamoDB table stream."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from serverless_patterns.constructs import StreamConsumer, runtime_code
from serverless_patterns.runtime.streams.windows import WINDOW_TABLE_ENV
from serverless_patterns.stacks._hardening import encrypted_table
from serverless_patterns.stacks._reference_stack import ReferenceStack

HANDLER = "serverless_patterns.runtime.handlers.stream_consumer.handler"
WINDOW_HANDLER = "serverless_patterns.runtime.handlers.stream_consumer_windows.handler"


class StreamConsumerStack(ReferenceStack):
    """Defines two StreamConsumers: Kinesis order events (a new on-demand stream) and a
    DynamoDB orders table whose inserts are totalled in 5-minute tumbling windows."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = runtime_code()
        self.order_events = StreamConsumer(
            self,
            "OrderEvents",
            code=code,
            handler=HANDLER,
            batch_size=100,
            max_batching_window=Duration.seconds(1),
            parallelization_factor=2,
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        orders = encrypted_table(
            self,
            "Orders",
            self.key,
            partition_key=dynamodb.Attribute(name="order_id", type=dynamodb.AttributeType.STRING),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        totals = encrypted_table(
            self,
            "OrderTotals",
            self.key,
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
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        totals.grant(self.order_totals.function, "dynamodb:PutItem")
        if self.key is not None:  # Table.grant leaves the key out; a put encrypts
            self.key.grant(self.order_totals.function, "kms:Encrypt", "kms:GenerateDataKey")
        function = self.order_totals.function
        if isinstance(function, lambda_.Function):
            function.add_environment(WINDOW_TABLE_ENV, totals.table_name)
