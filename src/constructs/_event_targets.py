"""Event-bus rule targets (pattern 3): typed specs, checked up front, bound with their DLQ.

Each spec names one resource and how EventBridge delivers to it. ``EventBusFanOut`` checks a
spec with ``check_target`` before it creates anything, gives the target a dead-letter queue,
then calls ``rule_target`` for the ``aws_events.IRuleTarget`` to add to the rule.

Stacks that compose: the rule's stack always names the target (the rule lists its ARN), so
nothing on the target's side may name the rule's stack. Every grant to EventBridge goes through
``delivery_conditions``: in the rule's stack a statement names the rule (``aws:SourceArn``); in
another stack it names the rules of the rule's account and Region (``aws:SourceAccount`` and
``ArnLike aws:SourceArn arn:<partition>:events:<region>:<account>:rule/*``), built from that
stack's own pseudo parameters. A key policy names the account only: the key is part of the
resource the rule depends on. See "Using resource-based policies for Amazon EventBridge" and
"Cross-service confused deputy prevention in Amazon EventBridge" (EventBridge User Guide).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Duration, Names, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

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
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk.interfaces.aws_events import IRuleRef

EVENTS_PRINCIPAL = "events.amazonaws.com"
#: What EventBridge needs on the key of an encrypted topic or queue target to deliver to it (SNS
#: documentation, "Amazon SNS security best practices"; SQS documentation, "Amazon SQS key
#: management": "Enable compatibility between AWS services and encrypted queues").
TARGET_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
#: What EventBridge needs on an SQS queue target (aws-cdk-lib's ``SqsQueue`` grants the same).
QUEUE_SEND_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")


@dataclass(frozen=True, kw_only=True)
class _DeadLetterOptions:
    """Where EventBridge puts an event it could not deliver to the target.

    :param dead_letter_queue: an existing standard queue (EventBridge accepts no FIFO
        dead-letter queue), in any stack; it is given a statement letting this rule send to it
        (in another stack than the rule's: this account's rules), when it is defined in this
        app. Default: - a new queue in the rule's stack: SQS-managed encryption, TLS only,
        14-day retention.
    :param dead_letter_queue_props: ``aws_sqs.Queue`` arguments for the new dead-letter queue
        (not ``fifo``; an unencrypted queue is an error). Default: - the defaults above.
    """

    dead_letter_queue: sqs.IQueue | None = None
    dead_letter_queue_props: Mapping[str, Any] | None = None


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
    max_event_age: Duration = field(
        default_factory=lambda: Duration.seconds(_defaults.EVENT_MAX_EVENT_AGE_SECONDS)
    )

    def _retry_policy(self) -> events.CfnRule.RetryPolicyProperty:
        """The retry policy of the target."""
        return events.CfnRule.RetryPolicyProperty(
            maximum_retry_attempts=self.retry_attempts,
            maximum_event_age_in_seconds=self.max_event_age.to_seconds(),
        )


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
    and an event that still fails goes to the function's on-failure destination. The function
    may be in another stack than the rule: its invoke permission (which names the rule) is
    defined in the rule's stack, and its failure queue and idempotency table in the function's.

    :param function: the function to invoke.
    :param idempotency: give the function an idempotency table (as ``QueueWorker`` does), for
        a handler built with ``serverless_patterns.runtime.events.envelope.event_handler``,
        which is keyed by the event id. A given table must not be in the rule's stack when the
        function is in another (a ValueError says so). Default: - no table; the handler must
        be idempotent itself (EventBridge and Lambda both deliver at least once).
    :param failure_queue: give the function's asynchronous invocations an on-failure
        destination: a new queue in the function's stack (SQS-managed encryption, TLS only,
        14-day retention) that receives an event, with the error, once Lambda's retries are
        spent. A function that already has an asynchronous invocation configuration keeps it,
        without a queue. Default: - True.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue``,
    ``dead_letter_queue_props`` and ``input`` (see ``QueueTarget``).
    """

    function: lambda_.IFunction
    _: KW_ONLY
    idempotency: IdempotencyOptions | None = None
    failure_queue: bool = True

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """aws-cdk-lib's ``LambdaFunction`` target, with the dead-letter queue bound here."""
        return DeadLetteredTarget(
            targets.LambdaFunction(self.function, event=self.input).bind,
            dead_letter_queue,
            self._retry_policy(),
        )


@dataclass(frozen=True)
class QueueTarget(_DeliveryOptions):
    """Delivers matching events to an SQS queue, in the rule's stack or another.

    The queue's policy lets ``events.amazonaws.com`` send for this rule only
    (``aws:SourceArn``) when the queue is in the rule's stack; in another stack, for the rules
    of the rule's account and Region (``aws:SourceAccount`` and ``ArnLike aws:SourceArn``),
    because a policy naming the rule there would make the two stacks depend on each other. A
    queue encrypted with a customer-managed key has that key's policy let EventBridge
    ``kms:Decrypt`` and ``kms:GenerateDataKey`` for this account's rules
    (``aws:SourceAccount``: the key cannot name the rule, which depends on it through the
    queue).

    :param queue: the queue.
    :param message_group_id: the message group of a FIFO queue (required for one, not allowed
        for a standard queue). Default: - none.
    :param retry_attempts: retries after the first attempt, 0-185. Default: - 185
        (EventBridge's own default).
    :param max_event_age: how long an undelivered event is retried, whole seconds from 60 s to
        24 hours. Default: - 24 hours (EventBridge's own default).
    :param dead_letter_queue: an existing standard queue, in any stack. Default: - a new queue
        in the rule's stack: SQS-managed encryption, TLS only, 14-day retention, that only this
        rule may send to.
    :param dead_letter_queue_props: ``aws_sqs.Queue`` arguments for the new dead-letter queue.
        Default: - the defaults above.
    :param input: what the target receives. Default: - the whole event.
    """

    queue: sqs.IQueue
    _: KW_ONLY
    message_group_id: str | None = None

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """A queue target whose send grant names the rule where it can."""
        return DeadLetteredTarget(
            lambda rule: bind_queue(rule, self.queue, self.input, self.message_group_id),
            dead_letter_queue,
            self._retry_policy(),
        )


@dataclass(frozen=True)
class BufferedTarget(_RetryOptions):
    """Delivers matching events to a ``QueueWorker``'s queue: the buffered variant.

    The queue absorbs bursts; the worker drains it in batches with partial batch responses.
    Give the worker ``idempotency=IdempotencyOptions(...)`` and a handler built with
    ``serverless_patterns.runtime.events.envelope.event_batch_handler``, which is keyed by the
    event id, so a redelivered event runs once (a worker without idempotency gets a synth
    warning). The message body is always the whole event, the envelope that handler parses, so
    this target takes no ``input``. The worker may be in the rule's stack or another; its
    queue's policy is scoped as ``QueueTarget`` describes.

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
        """A queue target on the worker's queue whose send grant names the rule where it can."""
        return DeadLetteredTarget(
            lambda rule: bind_queue(rule, self.worker.queue, None, self.message_group_id),
            dead_letter_queue,
            self._retry_policy(),
        )


@dataclass(frozen=True)
class TopicTarget(_DeliveryOptions):
    """Delivers matching events to an SNS topic, in the rule's stack or another.

    The topic's policy lets ``events.amazonaws.com`` publish for this rule only
    (``aws:SourceArn``) when the topic is in the rule's stack, and for the rules of the rule's
    account and Region in another stack (as ``QueueTarget``); for a topic encrypted with a
    customer-managed key, the key's policy lets it ``kms:Decrypt`` and ``kms:GenerateDataKey``
    for this account's rules (``aws:SourceAccount``). aws-cdk-lib's ``SnsTopic`` target grants
    the service with no condition at all, so any account's rule could publish to the topic;
    this target binds the topic itself.
    A topic encrypted with the AWS-managed key (``alias/aws/sns``) cannot receive events:
    EventBridge needs a key whose policy it can be granted.

    :param topic: the topic.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue``,
    ``dead_letter_queue_props`` and ``input`` (see ``QueueTarget``).
    """

    topic: sns.ITopic

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """A topic target whose publish grant names the rule where it can."""
        return DeadLetteredTarget(
            lambda rule: bind_topic(rule, self.topic, self.input),
            dead_letter_queue,
            self._retry_policy(),
        )


@dataclass(frozen=True)
class StateMachineTarget(_DeliveryOptions):
    """Starts a Step Functions state machine execution per matching event.

    EventBridge assumes a role that may ``states:StartExecution`` on this state machine only;
    aws-cdk-lib defines that role beside the state machine, so it may be in another stack.

    :param state_machine: the state machine.

    Plus ``retry_attempts``, ``max_event_age``, ``dead_letter_queue``,
    ``dead_letter_queue_props`` and ``input`` (see ``QueueTarget``).
    """

    state_machine: sfn.IStateMachine

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
        """aws-cdk-lib's ``SfnStateMachine`` target, with the dead-letter queue bound here."""
        return DeadLetteredTarget(
            targets.SfnStateMachine(self.state_machine, input=self.input).bind,
            dead_letter_queue,
            self._retry_policy(),
        )


@dataclass(frozen=True)
class EventBusTarget(_DeadLetterOptions):
    """Forwards matching events to another event bus (another account or Region, or a bus of
    another team or stack).

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
        """aws-cdk-lib's ``EventBus`` target, with the dead-letter queue bound here."""
        return DeadLetteredTarget(targets.EventBus(self.event_bus).bind, dead_letter_queue, None)


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


# --- binding: every grant to EventBridge names the rule only where it can ---------------------


def in_same_stack(first: IConstruct, second: IConstruct) -> bool:
    """Whether two constructs are defined in the same stack."""
    return Stack.of(first).node.path == Stack.of(second).node.path


def delivery_conditions(rule: IRuleRef, resource: IConstruct) -> dict[str, Any]:
    """The conditions of a resource-policy statement letting EventBridge deliver for ``rule``.

    In the rule's stack: the rule's ARN (``ArnEquals aws:SourceArn``). In another stack, whose
    policy naming the rule would make the two stacks depend on each other: the rules of the
    rule's account and Region (``aws:SourceAccount`` and ``ArnLike aws:SourceArn
    arn:<partition>:events:<region>:<account>:rule/*``), from literal values or the resource
    stack's own pseudo parameters, so nothing of the rule's stack is referenced.
    """
    if in_same_stack(rule, resource):
        return {"ArnEquals": {"aws:SourceArn": events.CfnRule.arn_for_rule(rule)}}
    rules_of_account = Stack.of(resource).format_arn(
        service="events",
        resource="rule",
        resource_name="*",
        account=rule.env.account,
        region=rule.env.region,
    )
    return {
        "StringEquals": {"aws:SourceAccount": rule.env.account},
        "ArnLike": {"aws:SourceArn": rules_of_account},
    }


def events_statement(
    rule: IRuleRef,
    resource: IConstruct,
    resource_arn: str,
    actions: Sequence[str],
    *,
    sid: str | None = None,
) -> iam.PolicyStatement:
    """A resource-policy statement letting EventBridge do ``actions`` for ``rule``."""
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
        actions=list(actions),
        resources=[resource_arn],
        conditions=delivery_conditions(rule, resource),
    )


def grant_key_to_events(rule: IRuleRef, key: kms.IKey | None) -> None:
    """Lets EventBridge use ``key`` (``TARGET_KEY_ACTIONS``) for the rules of ``rule``'s account.

    The key policy cannot name the rule: the key is part of the resource the rule depends on.
    """
    if key is not None:
        # A statement of its own, not key.grant with a conditional principal: aws-cdk-lib's
        # policy minimizer would merge that with another service's statement on a shared key
        # and refuse principals with different conditions.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                actions=list(TARGET_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": rule.env.account}},
            )
        )


def bind_queue(
    rule: IRuleRef,
    queue: sqs.IQueue,
    message: events.RuleTargetInput | None,
    message_group_id: str | None,
) -> events.RuleTargetConfig:
    """Grants EventBridge sending to ``queue`` (and its key) for ``rule``; the target config."""
    queue.add_to_resource_policy(events_statement(rule, queue, queue.queue_arn, QUEUE_SEND_ACTIONS))
    grant_key_to_events(rule, queue.encryption_master_key)
    return events.RuleTargetConfig(
        arn=queue.queue_arn,
        input=message,
        target_resource=queue,
        sqs_parameters=events.CfnRule.SqsParametersProperty(message_group_id=message_group_id)
        if message_group_id is not None
        else None,
    )


def bind_topic(
    rule: IRuleRef, topic: sns.ITopic, message: events.RuleTargetInput | None
) -> events.RuleTargetConfig:
    """Grants EventBridge publishing to ``topic`` (and its key) for ``rule``; the config."""
    topic.add_to_resource_policy(
        events_statement(
            rule,
            topic,
            topic.topic_arn,
            ["sns:Publish"],
            sid=f"AllowEventRule{Names.node_unique_id(rule.node)}",
        )
    )
    grant_key_to_events(rule, topic.master_key)
    return events.RuleTargetConfig(arn=topic.topic_arn, input=message, target_resource=topic)


@jsii.implements(events.IRuleTarget)
class DeadLetteredTarget:
    """A rule target with a dead-letter queue that only the rule may send to.

    ``bind_target`` binds the target itself (grants included) without a dead-letter queue;
    this adds the queue's statement, named as ``delivery_conditions`` says (aws-cdk-lib's
    targets name the rule on the queue whatever its stack, which makes stacks depend on each
    other), and the dead-letter and retry settings.
    """

    def __init__(
        self,
        bind_target: Callable[[IRuleRef], events.RuleTargetConfig],
        dead_letter_queue: sqs.IQueue,
        retry_policy: events.CfnRule.RetryPolicyProperty | None,
    ) -> None:
        self.bind_target = bind_target
        self.dead_letter_queue = dead_letter_queue
        self.retry_policy = retry_policy

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """Binds the target, grants the rule's dead-lettering (and the queue's customer-managed
        key: "Using dead-letter queues to process undelivered events", EventBridge User Guide);
        returns the target config."""
        config = self.bind_target(rule)
        self.dead_letter_queue.add_to_resource_policy(
            events_statement(
                rule,
                self.dead_letter_queue,
                self.dead_letter_queue.queue_arn,
                ["sqs:SendMessage"],
                sid=f"AllowEventRule{Names.node_unique_id(rule.node)}",
            )
        )
        grant_key_to_events(rule, self.dead_letter_queue.encryption_master_key)
        return events.RuleTargetConfig(
            arn=config.arn,
            input=config.input,
            role=config.role,
            sqs_parameters=config.sqs_parameters,
            target_resource=config.target_resource,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self.dead_letter_queue.queue_arn
            ),
            retry_policy=self.retry_policy,
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
        _check_table_stack(scope, where, spec.function, spec.idempotency)
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


def _check_table_stack(
    scope: IConstruct, where: str, function: lambda_.IFunction, options: IdempotencyOptions
) -> None:
    """A function outside the rule's stack cannot use a table of the rule's stack: the
    function's stack would name the rule's, which names the function (a dependency cycle)."""
    if options.table is None:
        return
    rule_stack = Stack.of(scope)
    table_stack = Stack.of(options.table)
    function_stack = Stack.of(function)
    if in_same_stack(table_stack, rule_stack) and not in_same_stack(function_stack, rule_stack):
        raise ValueError(
            f"{scope.node.path}: {where} idempotency table {options.table.node.path!r} is in "
            f"the rule's stack {rule_stack.node.path!r}, but function {function.node.path!r} "
            f"is in stack {function_stack.node.path!r}, which would then depend on the rule's "
            f"stack while the rule's stack depends on it; define the table in "
            f"{function_stack.node.path!r}, or leave out table to get a new one there"
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
