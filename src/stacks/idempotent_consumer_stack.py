"""Reference stack of pattern 2: two idempotent QueueWorkers sharing one idempotency table."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration

from constructs import Construct
from serverless_patterns.constructs import (
    IdempotencyOptions,
    IdempotencyTable,
    QueueWorker,
    runtime_code,
)
from serverless_patterns.stacks._reference_stack import ReferenceStack

HANDLER = "serverless_patterns.runtime.handlers.idempotent_payments.handler"


class IdempotentConsumerStack(ReferenceStack):
    """Defines payment and refund QueueWorkers whose handlers share one idempotency table.

    Each function may write only the runtime's item actions on the shared table. Refunds keep
    their completed records for a day instead of the default hour.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = runtime_code()
        self.idempotency_table = IdempotencyTable(self, "IdempotencyTable", encryption_key=self.key)
        self.payments = QueueWorker(
            self,
            "Payments",
            code=code,
            handler=HANDLER,
            max_concurrency=5,
            idempotency=IdempotencyOptions(table=self.idempotency_table),
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        self.refunds = QueueWorker(
            self,
            "Refunds",
            code=code,
            handler=HANDLER,
            idempotency=IdempotencyOptions(
                table=self.idempotency_table, expires_after=Duration.hours(24)
            ),
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
