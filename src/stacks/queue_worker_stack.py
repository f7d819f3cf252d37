"""Reference stack of pattern 1: order messages drained by the reference QueueWorker handler."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration

from constructs import Construct
from serverless_patterns.constructs import QueueWorker, runtime_code
from serverless_patterns.stacks._reference_stack import ReferenceStack

HANDLER = "serverless_patterns.runtime.handlers.queue_worker.handler"


class QueueWorkerStack(ReferenceStack):
    """Defines two QueueWorkers: a standard orders queue and a FIFO ledger queue."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = runtime_code()
        self.orders = QueueWorker(
            self,
            "Orders",
            code=code,
            handler=HANDLER,
            batch_size=50,
            max_batching_window=Duration.seconds(5),
            max_concurrency=5,
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        self.ledger = QueueWorker(
            self,
            "Ledger",
            code=code,
            handler=HANDLER,
            fifo=True,
            queue_props={"content_based_deduplication": True},
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
