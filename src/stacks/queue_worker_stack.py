"""Reference stack of pattern 1: order messages drained by the reference QueueWorker handler."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack

from constructs import Construct
from serverless_patterns.constructs import AlarmTopic, QueueWorker, runtime_code
from serverless_patterns.stacks._hardening import stack_key

HANDLER = "serverless_patterns.runtime.handlers.queue_worker.handler"


class QueueWorkerStack(Stack):
    """Defines two QueueWorkers: a standard orders queue and a FIFO ledger queue."""

    def __init__(
        self, scope: Construct, construct_id: str, *, hardened: bool = False, **kwargs: Any
    ) -> None:
        """:param hardened: encrypt everything with one customer-managed key of the stack
        (``build_reference_app(app, hardened=True)``).
        Default: - the library's default encryption."""
        super().__init__(scope, construct_id, **kwargs)
        key = stack_key(self, hardened)
        alarms = AlarmTopic(self, "Alarms", encryption_key=key)
        code = runtime_code()
        self.orders = QueueWorker(
            self,
            "Orders",
            code=code,
            handler=HANDLER,
            batch_size=50,
            max_batching_window=Duration.seconds(5),
            max_concurrency=5,
            alarm_action=alarms.action,
            encryption_key=key,
        )
        self.ledger = QueueWorker(
            self,
            "Ledger",
            code=code,
            handler=HANDLER,
            fifo=True,
            queue_props={"content_based_deduplication": True},
            alarm_action=alarms.action,
            encryption_key=key,
        )
