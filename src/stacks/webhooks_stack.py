"""Reference stack of pattern 6: a webhook receiver feeding a QueueWorker, and a sender."""

from __future__ import annotations

from typing import Any

from constructs import Construct
from serverless_patterns.constructs import (
    QueueWorker,
    WebhookReceiver,
    WebhookSender,
    runtime_code,
)
from serverless_patterns.stacks._reference_stack import ReferenceStack

#: The consumer of verified webhooks (replace it with yours).
CONSUMER_HANDLER = "serverless_patterns.runtime.handlers.webhook_consumer.handler"


class WebhooksStack(ReferenceStack):
    """Defines a WebhookReceiver buffering into a QueueWorker, and a WebhookSender."""

    SERVES_API = True

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = runtime_code()
        self.consumer = QueueWorker(
            self,
            "Consumer",
            code=code,
            handler=CONSUMER_HANDLER,
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        self.receiver = WebhookReceiver(
            self,
            "Receiver",
            worker=self.consumer,
            code=code,
            alarm_action=self.alarms.action,
            encryption_key=self.key,
            web_acl_arn=self.web_acl.attr_arn if self.web_acl is not None else None,
        )
        self.sender = WebhookSender(
            self,
            "Sender",
            code=code,
            max_concurrency=10,
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
