"""L3 constructs of serverless, event-driven patterns.

``from serverless_patterns.constructs import QueueWorker``
"""

from typing import TYPE_CHECKING

from serverless_patterns.runtime._lazy_exports import lazy_exports

# Each name's module is imported when the name is first read (``lazy_exports``), so importing
# one name does not load the others' dependencies. These imports are the list it reads.
if TYPE_CHECKING:
    from serverless_patterns.constructs._api_hygiene import DEFAULT_USAGE_TIERS, UsagePlanTier
    from serverless_patterns.constructs._deployment_config import TrafficShift
    from serverless_patterns.constructs._event_targets import (
        BufferedTarget,
        EventBusTarget,
        LambdaTarget,
        QueueTarget,
        StateMachineTarget,
        TargetSpec,
        TopicTarget,
    )
    from serverless_patterns.constructs._function import BaselineFunction
    from serverless_patterns.constructs._idempotency import IdempotencyOptions
    from serverless_patterns.constructs._runtime_asset import runtime_code
    from serverless_patterns.constructs.alarm_topic import AlarmTopic
    from serverless_patterns.constructs.api_gateway_account import ApiGatewayCloudWatchRole
    from serverless_patterns.constructs.canary_api import CanaryApi, CanaryApiAlarms, SmokeCheck
    from serverless_patterns.constructs.direct_api import (
        DirectApi,
        DirectApiAlarms,
        DirectRoute,
        FieldType,
    )
    from serverless_patterns.constructs.event_bus_fan_out import (
        EventBusFanOut,
        EventBusFanOutAlarms,
        EventPatternSpec,
        FanOutRule,
        FanOutRuleOptions,
        FanOutTarget,
    )
    from serverless_patterns.constructs.idempotency_table import IdempotencyTable
    from serverless_patterns.constructs.queue_worker import QueueWorker, QueueWorkerAlarms
    from serverless_patterns.constructs.stream_consumer import (
        StreamConsumer,
        StreamConsumerAlarms,
    )
    from serverless_patterns.constructs.webhook_receiver import (
        WebhookReceiver,
        WebhookReceiverAlarms,
    )
    from serverless_patterns.constructs.webhook_sender import WebhookSender
    from serverless_patterns.constructs.workflow import Workflow, WorkflowAlarms
    from serverless_patterns.constructs.workflow_approval import ApprovalApi, ApprovalStep
    from serverless_patterns.constructs.workflow_redrive import RedriveOptions, WorkflowRedrive

__all__ = [
    "DEFAULT_USAGE_TIERS",
    "AlarmTopic",
    "ApiGatewayCloudWatchRole",
    "ApprovalApi",
    "ApprovalStep",
    "BaselineFunction",
    "BufferedTarget",
    "CanaryApi",
    "CanaryApiAlarms",
    "DirectApi",
    "DirectApiAlarms",
    "DirectRoute",
    "EventBusFanOut",
    "EventBusFanOutAlarms",
    "EventBusTarget",
    "EventPatternSpec",
    "FanOutRule",
    "FanOutRuleOptions",
    "FanOutTarget",
    "FieldType",
    "IdempotencyOptions",
    "IdempotencyTable",
    "LambdaTarget",
    "QueueTarget",
    "QueueWorker",
    "QueueWorkerAlarms",
    "RedriveOptions",
    "SmokeCheck",
    "StateMachineTarget",
    "StreamConsumer",
    "StreamConsumerAlarms",
    "TargetSpec",
    "TopicTarget",
    "TrafficShift",
    "UsagePlanTier",
    "WebhookReceiver",
    "WebhookReceiverAlarms",
    "WebhookSender",
    "Workflow",
    "WorkflowAlarms",
    "WorkflowRedrive",
    "runtime_code",
]

__getattr__, __dir__ = lazy_exports(globals())
