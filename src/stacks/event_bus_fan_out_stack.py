"""Reference stack of pattern 3: order events fanned out to a buffered worker, a function and
a topic."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from constructs import Construct
from serverless_patterns.constructs import (
    BaselineFunction,
    BufferedTarget,
    EventBusFanOut,
    EventPatternSpec,
    IdempotencyOptions,
    IdempotencyTable,
    LambdaTarget,
    QueueWorker,
    TopicTarget,
    runtime_code,
)
from serverless_patterns.constructs._encryption import customer_managed_key
from serverless_patterns.constructs._nag import acknowledge_no_dlq
from serverless_patterns.runtime.events.publisher import EVENT_BUS_NAME_ENV
from serverless_patterns.runtime.handlers import order_events_producer
from serverless_patterns.stacks._reference_stack import ReferenceStack

PRODUCER_HANDLER = "serverless_patterns.runtime.handlers.order_events_producer.handler"
CONSUMER_HANDLER = "serverless_patterns.runtime.handlers.order_events_consumer.handler"
BUFFERED_CONSUMER_HANDLER = (
    "serverless_patterns.runtime.handlers.order_events_consumer.queue_handler"
)


class EventBusFanOutStack(ReferenceStack):
    """Defines an order event bus whose ``OrderPlaced`` rule fans out to three targets.

    A producer function publishes the events. The rule delivers each one to a buffered
    QueueWorker (fulfilment) and a function (notifier), both idempotent on the event id with
    one shared idempotency table, and to an encrypted, TLS-only SNS topic (subscribers).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = runtime_code()
        self.idempotency_table = IdempotencyTable(self, "IdempotencyTable", encryption_key=self.key)
        self.fulfilment = QueueWorker(
            self,
            "Fulfilment",
            code=code,
            handler=BUFFERED_CONSUMER_HANDLER,
            max_concurrency=5,
            idempotency=IdempotencyOptions(table=self.idempotency_table),
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        self.notifier = BaselineFunction(
            self, "Notifier", code=code, handler=CONSUMER_HANDLER, encryption_key=self.key
        )
        self.topic_key: kms.IKey = self.key or customer_managed_key(
            self, "OrderTopicKey", description="Encrypts the order notifications topic."
        )
        self.topic = sns.Topic(self, "OrderTopic", master_key=self.topic_key, enforce_ssl=True)

        self.fan_out = EventBusFanOut(
            self, "Orders", alarm_action=self.alarms.action, encryption_key=self.key
        )
        self.fan_out.add_rule(
            "OrderPlaced",
            pattern=EventPatternSpec(
                source=[order_events_producer.SOURCE],
                detail_type=[order_events_producer.DETAIL_TYPE],
            ),
            targets={
                "Fulfilment": BufferedTarget(self.fulfilment),
                "Notifier": LambdaTarget(
                    self.notifier,
                    idempotency=IdempotencyOptions(table=self.idempotency_table),
                ),
                "Subscribers": TopicTarget(self.topic),
            },
        )

        self.producer = BaselineFunction(
            self,
            "Producer",
            code=code,
            handler=PRODUCER_HANDLER,
            encryption_key=self.key,
            function_props={
                "environment": {EVENT_BUS_NAME_ENV: self.fan_out.event_bus.event_bus_name}
            },
        )
        self.fan_out.grant_put_events(self.producer)
        acknowledge_no_dlq(
            self.producer,
            "The producer is invoked synchronously by its caller, which receives the error "
            "and the indexes of unpublished orders; a DLQ applies only to asynchronous "
            "invocations.",
        )
