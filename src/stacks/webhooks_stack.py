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
from serverless_patterns.stacks._hardening import rate_limited_web_acl, stack_key

#: The consumer of verified webhooks (replace it with yours).
CONSUMER_HANDLER = "serverless_patterns.runtime.handlers.webhook_consumer.handler"


class WebhooksStack(Stack):
    """Defines a WebhookReceiver buffering into a QueueWorker, and a WebhookSender."""

    def __init__(
        self, scope: Construct, construct_id: str, *, hardened: bool = False, **kwargs: Any
    ) -> None:
        """:param hardened: encrypt everything with one customer-managed key of the stack
        (``build_reference_app(app, hardened=True)``).
        Default: - the library's default encryption."""
        super().__init__(scope, construct_id, **kwargs)
        key = stack_key(self, hardened)
        web_acl = rate_limited_web_acl(self, "WebAcl", key) if hardened else None
        alarms = AlarmTopic(self, "Alarms", encryption_key=key)
        code = runtime_code()
        self.consumer = QueueWorker(
            self,
            "Consumer",
            code=code,
            handler=CONSUMER_HANDLER,
            alarm_action=alarms.action,
            encryption_key=key,
        )
        self.receiver = WebhookReceiver(
            self,
            "Receiver",
            worker=self.consumer,
            code=code,
            alarm_action=alarms.action,
            encryption_key=key,
            web_acl_arn=web_acl.attr_arn if web_acl is not None else None,
        )
        self.sender = WebhookSender(
            self,
            "Sender",
            code=code,
            max_concurrency=10,
            alarm_action=alarms.action,
            encryption_key=key,
        )
