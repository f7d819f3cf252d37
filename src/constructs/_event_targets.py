"""Event-bus rule targets (pattern 3): typed specs, checked up front, bound with their DLQ.

Each spec names one resource and how EventBridge delivers to it. ``EventBusFanOut`` checks a
spec with ``check_target`` before it creates anything, gives the target a dead-letter queue,
then calls ``rule_target`` for the ``aws_events_targets`` object to add to the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import jsii
from aws_cdk import Duration, Names, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from constructs import IConstruct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._idempotency import (
    IdempotencyOptions,
    check_idempotency_options,
)
from serverless_patterns.constructs._validation import (
    check_range,
    check_whole_seconds,
    is_known,
    reject_both,
)
from serverless_patterns.constructs.queue_worker import QueueWorker

if TYPE_CHECKING:
    from aws_cdk.interfaces.aws_events import IRuleRef

EVENTS_PRINCIPAL = "events.amazonaws.com"
#: What EventBridge needs on the key of an encrypted topic to publish to it (SNS documentation).
TOPIC_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True, kw_only=True)
class _DeadLetterOptions:
    """Where EventBridge puts an event it could not deliver to the target.

    :param dead_letter_queue: an existing standard queue (EventBridge accepts no FIFO
        dead-letter queue); it is given a statement letting this rule send to it, when it is
        defined in this app. Default: - a new queue: SQS-managed encryption, TLS only, 14-day
        retention.
    :param dead_letter_queue_props: ``aws_sqs.Queue`` arguments for the new dead-letter queue
        (not ``fifo``; an unencrypted queue is an error). Default: - the defaults above.
    """

    dead_letter_queue: sqs.IQueue | None = None
    dead_letter_queue_props: Mapping[str, Any] | None = None


class _RetryPolicy(TypedDict):
    """The keyword arguments of a retrying ``aws_events_targets`` target."""

    dead_letter_queue: sqs.IQueue
    retry_attempts: int
    max_event_age: Duration


@dataclass(frozen=True, kw_only=True)
class _RetryOptions(_DeadLetterOptions):
    """How long and how often EventBridge retries a failed delivery before dead-lettering it.

    :param retry_attempts: retries after the first attempt, 0-185. Default: - 185
        (EventBridge's own default).
    :param max_event_age: how long an undelivered event is retried, whole seconds from 60 s to
        24 hours. Default: - 24 hours (EventBridge's own default).
    """

    retry_attempts: int = _defaults.EVENT_RETRY_ATTEMPTS
    # Duration is immutable, so sharing the one default instance is safe.
    max_event_age: Duration = _defaults.EVENT_MAX_EVENT_AGE

    def _retry_policy(self, dead_letter_queue: sqs.IQueue) -> _RetryPolicy:
        """The dead-letter queue and retry policy, as every retrying target class takes them."""
        return {
            "dead_letter_queue": dead_letter_queue,
            "retry_attempts": self.retry_attempts,
            "max_event_age": self.max_event_age,
        }


@dataclass(frozen=True, kw_only=True)
class _DeliveryOptions(_RetryOptions):
    """Retry, dead-letter queue and what the target receives.

    :param input: what the target receives, for example
        ``events.RuleTargetInput.from_event_path("$.detail")``. Default: - the whole event.
    """

    input: events.RuleTargetInput | None = None


@dataclass(frozen=True)
class LambdaTarget(_DeliveryOptions):
    """Delivers matching events to a Lambda function (asynchronous invocation).

    EventBridge's retry policy and dead-letter queue cover handing the event to Lambda; once
    Lambda has accepted it, Lambda runs it with its own asynchronous retries (2 by default),
    and an event that still fails goes to the function's on-failure destination.

    :param function: the function to invoke.
    :param idempotency: give the function an idempotency table (as ``QueueWorker`` does), for
        a handler built with ``serverless_patterns.runtime.events.envelope.event_handler``,
        which is keyed by the event id. Default: - no table; the handler must be idempotent
        itself (EventBridge and Lambda both deliver at least once).
    :param failure_queue: give the function's asynchronous invocations an on-failure
        destination: a new queue (SQS-managed encryption, TLS only, 14-day retention) that
        receives an event, with the error, once Lambda's retries are spent. A function that
        already has an asynchronous invocation configuration keeps it, without a queue.
        Default: - True.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue``,
    ``dead_letter_queue_props`` and ``input`` (see ``QueueTarget``).
    """

    function: lambda_.IFunction
    _: KW_ONLY
    idempotency: IdempotencyOptions | None = None
    failure_queue: bool = True

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """The ``aws_events_targets.LambdaFunction`` target."""
        return targets.LambdaFunction(
            self.function,
            event=self.input,
            **self._retry_policy(dead_letter_queue),
        )


@dataclass(frozen=True)
class QueueTarget(_DeliveryOptions):
    """Delivers matching events to an SQS queue.

    The queue's policy lets ``events.amazonaws.com`` send only for this rule (``aws:SourceArn``;
    for a queue encrypted with a customer-managed key aws-cdk-lib scopes it to the account,
    ``aws:SourceAccount``, and grants the key). Define the queue in the stack of the rule:
    a queue policy naming the rule from another stack makes the two stacks depend on each
    other.

    :param queue: the queue.
    :param message_group_id: the message group of a FIFO queue (required for one, not allowed
        for a standard queue). Default: - none.
    :param retry_attempts: retries after the first attempt, 0-185. Default: - 185
        (EventBridge's own default).
    :param max_event_age: how long an undelivered event is retried, whole seconds from 60 s to
        24 hours. Default: - 24 hours (EventBridge's own default).
    :param dead_letter_queue: an existing standard queue. Default: - a new queue: SQS-managed
        encryption, TLS only, 14-day retention, that only this rule may send to.
    :param dead_letter_queue_props: ``aws_sqs.Queue`` arguments for the new dead-letter queue.
        Default: - the defaults above.
    :param input: what the target receives. Default: - the whole event.
    """

    queue: sqs.IQueue
    _: KW_ONLY
    message_group_id: str | None = None

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """The ``aws_events_targets.SqsQueue`` target."""
        return targets.SqsQueue(
            self.queue,
            message=self.input,
            message_group_id=self.message_group_id,
            **self._retry_policy(dead_letter_queue),
        )


@dataclass(frozen=True)
class BufferedTarget(_RetryOptions):
    """Delivers matching events to a ``QueueWorker``'s queue: the buffered variant.

    The queue absorbs bursts; the worker drains it in batches with partial batch responses.
    Give the worker ``idempotency=IdempotencyOptions(...)`` and a handler built with
    ``serverless_patterns.runtime.events.envelope.event_batch_handler``, which is keyed by the
    event id, so a redelivered event runs once (a worker without idempotency gets a synth
    warning). The message body is always the whole event, the envelope that handler parses, so
    this target takes no ``input``. The queue's policy lets ``events.amazonaws.com`` send only
    for this rule (``aws:SourceArn``), so define the worker in the stack of the rule.

    :param worker: the worker whose queue receives the events.
    :param message_group_id: the message group, for a FIFO worker (required for one, not
        allowed otherwise). Default: - none.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue`` and
    ``dead_letter_queue_props`` (see ``QueueTarget``).
    """

    worker: QueueWorker
    _: KW_ONLY
    message_group_id: str | None = None

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """The ``aws_events_targets.SqsQueue`` target on the worker's queue."""
        return targets.SqsQueue(
            self.worker.queue,
            message_group_id=self.message_group_id,
            **self._retry_policy(dead_letter_queue),
        )


@dataclass(frozen=True)
class TopicTarget(_DeliveryOptions):
    """Delivers matching events to an SNS topic.

    The topic's policy lets ``events.amazonaws.com`` publish only for this rule
    (``aws:SourceArn``); for a topic encrypted with a customer-managed key, the key's policy
    lets it ``kms:Decrypt`` and ``kms:GenerateDataKey`` for this account's rules
    (``aws:SourceAccount``: the key cannot name the rule, which depends on it through the
    topic). A topic defined in another stack than the rule is scoped to the account too, for
    the same reason. aws-cdk-lib's ``SnsTopic`` target grants the service with no condition
    at all, so any account's rule could publish to the topic; this target binds the topic
    itself.
    A topic encrypted with the AWS-managed key (``alias/aws/sns``) cannot receive events:
    EventBridge needs a key whose policy it can be granted.

    :param topic: the topic.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue``,
    ``dead_letter_queue_props`` and ``input`` (see ``QueueTarget``).
    """

    topic: sns.ITopic

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """A topic target whose publish grant is scoped to the rule."""
        return RuleScopedTopic(
            self.topic,
            message=self.input,
            **self._retry_policy(dead_letter_queue),
        )


@dataclass(frozen=True)
class StateMachineTarget(_DeliveryOptions):
    """Starts a Step Functions state machine execution per matching event.

    EventBridge assumes a role of the rule that may ``states:StartExecution`` on this state
    machine only.

    :param state_machine: the state machine.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue``,
    ``dead_letter_queue_props`` and ``input`` (see ``QueueTarget``).
    """

    state_machine: sfn.IStateMachine

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """The ``aws_events_targets.SfnStateMachine`` target."""
        return targets.SfnStateMachine(
            self.state_machine,
            input=self.input,
            **self._retry_policy(dead_letter_queue),
        )


@dataclass(frozen=True)
class EventBusTarget(_DeadLetterOptions):
    """Forwards matching events to another event bus (another account or Region, or a bus of
    another team).

    EventBridge assumes a role of the rule that may ``events:PutEvents`` on that bus only; the
    receiving bus's policy must let this account put events. The target has a dead-letter
    queue but no retry policy and no input transformation: aws-cdk-lib's ``EventBus`` target
    offers neither (a retry policy is not supported for event bus targets), so EventBridge's
    default retry applies and the receiving bus gets the event unchanged.

    :param event_bus: the receiving bus; not this construct's own bus (that would loop).

    Plus ``dead_letter_queue`` and ``dead_letter_queue_props`` (see ``QueueTarget``).
    """

    event_bus: events.IEventBus

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """The ``aws_events_targets.EventBus`` target."""
        return targets.EventBus(self.event_bus, dead_letter_queue=dead_letter_queue)


TargetSpec = (
    LambdaTarget | QueueTarget | BufferedTarget | TopicTarget | StateMachineTarget | EventBusTarget
)
"""Any target an ``EventBusFanOut`` rule delivers to."""

TARGET_TYPES = (
    LambdaTarget,
    QueueTarget,
    BufferedTarget,
    TopicTarget,
    StateMachineTarget,
    EventBusTarget,
)


@jsii.implements(events.IRuleTarget)
class RuleScopedTopic:
    """An SNS topic rule target whose publish grant names the rule (``aws:SourceArn``).

    The same target configuration as ``aws_events_targets.SnsTopic`` (resource-policy mode),
    with the grant to ``events.amazonaws.com`` conditioned on the rule's ARN on the topic and
    on its account on the topic's key, and the dead-letter queue statement of the other
    targets.
    """

    def __init__(
        self,
        topic: sns.ITopic,
        *,
        dead_letter_queue: sqs.IQueue,
        retry_attempts: int,
        max_event_age: Duration,
        message: events.RuleTargetInput | None = None,
    ) -> None:
        self.topic = topic
        self.dead_letter_queue = dead_letter_queue
        self.retry_attempts = retry_attempts
        self.max_event_age = max_event_age
        self.message = message

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """Grants the rule's deliveries on the topic and the DLQ; returns the target config."""
        rule_arn = events.CfnRule.arn_for_rule(rule)
        for_this_account = {"StringEquals": {"aws:SourceAccount": rule.env.account}}
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowEventRule{Names.node_unique_id(rule.node)}",
                principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                # A topic of another stack cannot name the rule: its stack would depend on
                # the rule's, which depends on the topic's. It names the rule's account.
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}}
                if Stack.of(self.topic).node.path == Stack.of(rule).node.path
                else for_this_account,
            )
        )
        if self.topic.master_key is not None:
            # The key policy is part of the key, which the topic and so the rule depend on:
            # it cannot name the rule's ARN, so it names the rule's account.
            self.topic.master_key.grant(
                iam.ServicePrincipal(EVENTS_PRINCIPAL, conditions=for_this_account),
                *TOPIC_KEY_ACTIONS,
            )
        self.dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowEventRule{Names.node_unique_id(rule.node)}",
                principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self.topic.topic_arn,
            input=self.message,
            target_resource=self.topic,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self.dead_letter_queue.queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=self.retry_attempts,
                maximum_event_age_in_seconds=self.max_event_age.to_seconds(),
            ),
        )


# --- validation --------------------------------------------------------------------------------


def check_target(
    scope: IConstruct, where: str, spec: object, own_bus: events.IEventBus | None
) -> None:
    """Raises ValueError, naming ``scope``'s path, ``where`` and the value, if ``spec`` is not a
    target spec or one of its settings is invalid. ``own_bus``: the bus the rule is on."""
    if not isinstance(spec, TARGET_TYPES):
        names = ", ".join(t.__name__ for t in TARGET_TYPES)
        raise ValueError(
            f"{scope.node.path}: {where} must be one of {names}, got {type(spec).__name__}"
        )
    _check_dead_letter_options(scope, where, spec)
    if isinstance(spec, _RetryOptions):
        _check_retry_options(scope, where, spec)
    if isinstance(spec, QueueTarget):
        _check_message_group(scope, where, spec.queue, spec.message_group_id)
    elif isinstance(spec, BufferedTarget):
        _check_message_group(scope, where, spec.worker.queue, spec.message_group_id)
    elif isinstance(spec, LambdaTarget) and spec.idempotency is not None:
        check_idempotency_options(scope, spec.idempotency)
    elif isinstance(spec, EventBusTarget) and spec.event_bus is own_bus:
        raise ValueError(
            f"{scope.node.path}: {where} forwards to the rule's own event bus, which would "
            "deliver every matching event to itself again"
        )


def _check_dead_letter_options(scope: IConstruct, where: str, spec: _DeadLetterOptions) -> None:
    reject_both(
        scope,
        f"{where} dead_letter_queue",
        spec.dead_letter_queue,
        **{f"{where} dead_letter_queue_props": spec.dead_letter_queue_props},
    )
    if spec.dead_letter_queue is not None and spec.dead_letter_queue.fifo:
        raise ValueError(
            f"{scope.node.path}: {where} dead_letter_queue "
            f"{spec.dead_letter_queue.node.path!r} is a FIFO queue; EventBridge dead-letter "
            "queues must be standard queues"
        )
    if "fifo" in (spec.dead_letter_queue_props or {}):
        raise ValueError(
            f"{scope.node.path}: {where} dead_letter_queue_props['fifo'] is not allowed; "
            "EventBridge dead-letter queues are standard queues"
        )


def _check_retry_options(scope: IConstruct, where: str, spec: _RetryOptions) -> None:
    attempts = spec.retry_attempts
    if is_known(attempts) and (isinstance(attempts, bool) or attempts != int(attempts)):
        raise ValueError(
            f"{scope.node.path}: {where} retry_attempts must be a whole number, got {attempts!r}"
        )
    check_range(scope, f"{where} retry_attempts", attempts, 0, _defaults.MAX_EVENT_RETRY_ATTEMPTS)
    check_whole_seconds(
        scope,
        f"{where} max_event_age",
        spec.max_event_age,
        _defaults.MIN_EVENT_AGE_SECONDS,
        _defaults.MAX_EVENT_AGE_SECONDS,
    )


def _check_message_group(
    scope: IConstruct, where: str, queue: sqs.IQueue, message_group_id: str | None
) -> None:
    if queue.fifo and message_group_id is None:
        raise ValueError(
            f"{scope.node.path}: {where} delivers to FIFO queue {queue.node.path!r}; "
            "pass message_group_id"
        )
    if not queue.fifo and message_group_id is not None:
        raise ValueError(
            f"{scope.node.path}: {where} message_group_id {message_group_id!r} applies only "
            f"to FIFO queues; {queue.node.path!r} is a standard queue"
        )
