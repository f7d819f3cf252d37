"""Reference stack of pattern 9: one REST API calling SQS, EventBridge, DynamoDB and an
Express workflow directly, without a Lambda function in between."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from serverless_patterns.constructs import (
    AlarmTopic,
    DirectApi,
    FieldType,
    QueueWorker,
    runtime_code,
)
from serverless_patterns.constructs._defaults import LOG_RETENTION
from serverless_patterns.constructs._state_machine import logged_state_machine

#: The consumer of the queued orders (replace it with yours).
CONSUMER_HANDLER = "serverless_patterns.runtime.handlers.queue_worker.handler"
#: An Express execution runs at most 5 minutes ("Standard and Express workflow types").
EXPRESS_MAX_MINUTES = 5
#: The order fields the table route stores and reads.
ORDER_FIELDS = {
    "orderId": FieldType.STRING,
    "customer": FieldType.STRING,
    "total": FieldType.NUMBER,
    "gift": FieldType.BOOLEAN,
}


class DirectApiStack(Stack):
    """Defines a DirectApi with one route per target: ``POST /orders/queued`` (SQS, consumed
    by a QueueWorker), ``POST /orders/events`` (an event bus), ``POST /orders`` and
    ``GET /orders/{orderId}`` (a DynamoDB table), ``POST /quotes`` (an Express workflow)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        alarms = AlarmTopic(self, "Alarms")
        self.consumer = QueueWorker(
            self,
            "Consumer",
            code=runtime_code(),
            handler=CONSUMER_HANDLER,
            alarm_action=alarms.action,
        )
        self.bus = events.EventBus(self, "Bus")
        self.table = dynamodb.Table(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.workflow, _ = logged_state_machine(
            self,
            "Quote",
            definition=sfn.Pass(self, "Echo", parameters={"quote.$": "$"}),
            state_machine_type=sfn.StateMachineType.EXPRESS,
            timeout=Duration.minutes(EXPRESS_MAX_MINUTES),
            log_level=sfn.LogLevel.ALL,
            include_execution_data=False,
            log_retention=LOG_RETENTION,
            encryption_key=None,
        )
        self.api = DirectApi(self, "Api")
        self.api.add_send_message("Queued", path="orders/queued", queue=self.consumer.queue)
        self.api.add_put_events(
            "Events",
            path="orders/events",
            event_bus=self.bus,
            source="serverless-patterns.orders",
            detail_type="OrderPlaced",
        )
        self.api.add_put_item(
            "PutOrder", path="orders", table=self.table, key="orderId", fields=ORDER_FIELDS
        )
        self.api.add_get_item(
            "GetOrder", path="orders", table=self.table, key="orderId", fields=ORDER_FIELDS
        )
        self.api.add_start_sync_execution("Quote", path="quotes", state_machine=self.workflow)
