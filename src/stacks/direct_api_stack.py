"""Reference stack of pattern 9: one REST API calling SQS, EventBridge, DynamoDB and an
Express workflow directly, without a Lambda function in between."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from serverless_patterns.constructs import (
    DirectApi,
    FieldType,
    QueueWorker,
    runtime_code,
)
from serverless_patterns.constructs._defaults import LOG_RETENTION
from serverless_patterns.constructs._nag import acknowledge_compliance
from serverless_patterns.constructs._state_machine import logged_state_machine
from serverless_patterns.stacks._hardening import encrypted_table
from serverless_patterns.stacks._reference_stack import ReferenceStack

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


class DirectApiStack(ReferenceStack):
    """Defines a DirectApi with one route per target: ``POST /orders/queued`` (SQS, consumed
    by a QueueWorker), ``POST /orders/events`` (an event bus), ``POST /orders`` and
    ``GET /orders/{orderId}`` (a DynamoDB table), ``POST /quotes`` (an Express workflow)."""

    SERVES_API = True

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.consumer = QueueWorker(
            self,
            "Consumer",
            code=runtime_code(),
            handler=CONSUMER_HANDLER,
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        self.bus = events.EventBus(self, "Bus")
        self.table = encrypted_table(
            self,
            "Orders",
            self.key,
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
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
            encryption_key=self.key,
        )
        acknowledge_compliance(
            self.workflow.role,
            "IAMNoInlinePolicy",
            "The role belongs to this one state machine; aws-cdk-lib writes its log delivery, "
            "X-Ray and key grants as its inline policy, which no other principal can use.",
        )
        self.api = DirectApi(
            self,
            "Api",
            encryption_key=self.key,
            web_acl_arn=self.web_acl.attr_arn if self.web_acl is not None else None,
            alarm_action=self.alarms.action,
        )
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
        self.api.add_start_sync_execution(
            "Quote", path="quotes", state_machine=self.workflow, encryption_key=self.key
        )
