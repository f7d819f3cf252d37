"""The subject: an order stack built with this library's constructs.

An ``AlarmTopic``; a ``QueueWorker`` draining orders; an ``EventBusFanOut`` whose one rule
delivers ``OrderPlaced`` events to a second ``QueueWorker``'s queue (a ``QueueTarget`` on the
worker's queue: the same resources as ``BufferedTarget``, without its synth warning that the
worker has no idempotency table, which the twin would not print).
The code is ``runtime_code()``, as in the reference stacks (its staging counts as library
cost); the twin deploys the folder ``runtime_code()`` stages.
"""

from __future__ import annotations

from aws_cdk import App, Stack

from constructs import Construct
from serverless_patterns.constructs import (
    AlarmTopic,
    EventBusFanOut,
    EventPatternSpec,
    QueueTarget,
    QueueWorker,
    runtime_code,
)

STACK_ID = "LibraryOrders"
HANDLER = "serverless_patterns.runtime.handlers.queue_worker.handler"
SOURCE = "orders"
DETAIL_TYPE = "OrderPlaced"


class LibraryStack(Stack):
    """Two QueueWorkers, an event bus fanning out to one of them, and an alarm topic."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        alarms = AlarmTopic(self, "Alarms")
        code = runtime_code()
        self.orders = QueueWorker(
            self, "Orders", code=code, handler=HANDLER, alarm_action=alarms.action
        )
        self.fulfilment = QueueWorker(
            self, "Fulfilment", code=code, handler=HANDLER, alarm_action=alarms.action
        )
        self.fan_out = EventBusFanOut(self, "Events", alarm_action=alarms.action)
        self.fan_out.add_rule(
            "OrderPlaced",
            pattern=EventPatternSpec(source=[SOURCE], detail_type=[DETAIL_TYPE]),
            targets={"Fulfilment": QueueTarget(self.fulfilment.queue)},
        )


def main() -> None:
    app = App()
    LibraryStack(app, STACK_ID)
    app.synth()


if __name__ == "__main__":
    main()
