"""Reference stack of pattern 6: a webhook receiver feeding a QueueWorker, and a sender."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack

from constructs import Construct
from serverless_patterns.constructs import (
    AlarmTopic,
    QueueWorker,
    WebhookReceiver,
    WebhookSender,
    runtime_code,
)

#: The consumer of verified webhooks (replace it with yours).
CONSUMER_HANDLER = "serverless_patterns.runtime.handlers.webhook_consumer.handler"


class WebhooksStack(Stack):
    """Defines a WebhookReceiver buffering into a QueueWorker, and a WebhookSender."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        alarms = AlarmTopic(self, "Alarms")
        code = runtime_code()
        self.consumer = QueueWorker(
            self,
            "Consumer",
            code=code,
            handler=CONSUMER_HANDLER,
            alarm_action=alarms.action,
        )
        self.receiver = WebhookReceiver(
            self,
            "Receiver",
            worker=self.consumer,
            code=code,
            alarm_action=alarms.action,
        )
        self.sender = WebhookSender(
            self,
            "Sender",
            code=code,
            max_concurrency=10,
            alarm_action=alarms.action,
        )
