"""EventBusFanOut: a custom event bus whose rules fan out to failure-proof targets (pattern 3)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, Duration, Fn, Names, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from constructs import Construct, IConstruct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._event_targets import (
    BufferedTarget,
    LambdaTarget,
    TargetSpec,
    check_target,
    in_same_stack,
)
from serverless_patterns.constructs._idempotency import enable_idempotency
from serverless_patterns.constructs._nag import acknowledge_no_dlq
from serverless_patterns.constructs._queue import acknowledge_library_send_grant, dead_letter_queue
from serverless_patterns.constructs._validation import check_prop_keys, is_known, reject_both

if TYPE_CHECKING:  # only annotations name it: no import at run time
    from aws_cdk import aws_dynamodb as dynamodb

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_DEFAULT_BUS_NAME = "default"
_EVENTS_NAMESPACE = "AWS/Events"

#: event_bus_props keys the pattern sets itself, and the argument to use instead.
_PATTERN_BUS_KEYS = {"kms_key": "encryption_key"}


@dataclass(frozen=True)
class EventPatternSpec:
    """The events a rule matches: every given field must match (fields are ANDed, the values of
    one field ORed).

    :param source: values of the event's ``source``, for example ``["orders"]``.
        Default: - any source.
    :param detail_type: values of the event's ``detail-type``, for example
        ``["OrderPlaced"]``. Default: - any detail type.
    :param detail: filters on the event's ``detail``: each leaf is a list of values or
        matchers, for example ``{"status": ["paid"], "total": events.Match.greater_than(100)}``;
        nested objects match nested fields. Default: - any detail.
    :param account: accounts the event comes from (useful with ``producer_accounts``).
        Default: - any account.

    At least one field is required: a rule without a pattern would match every event.
    """

    source: Sequence[str] | None = None
    detail_type: Sequence[str] | None = None
    detail: Mapping[str, Any] | None = None
    account: Sequence[str] | None = None

    def to_event_pattern(self) -> events.EventPattern:
        """The ``aws_events.EventPattern`` of this spec."""
        return events.EventPattern(
            source=list(self.source) if self.source is not None else None,
            detail_type=list(self.detail_type) if self.detail_type is not None else None,
            detail=dict(self.detail) if self.detail is not None else None,
            account=list(self.account) if self.account is not None else None,
        )


@dataclass(frozen=True)
class FanOutRuleOptions:
    """A rule of an ``EventBusFanOut``: the events it matches and where they go.

    :param pattern: the events the rule matches.
    :param targets: 1-5 targets (the EventBridge limit), by name; the name is the id of the
        target's resources, so renaming one replaces its dead-letter queue.
    :param description: the rule's description. Default: - none.
    """

    pattern: EventPatternSpec
    targets: Mapping[str, TargetSpec]
    description: str | None = None


@dataclass(frozen=True)
class EventBusFanOutAlarms:
    """Alarm thresholds of an EventBusFanOut; set one to None to leave that alarm out.

    :param failed_invocations: a rule's ``FailedInvocations`` per period (deliveries that
        failed for good). Default: - 1.
    :param dead_letter_delivery_failures: a rule's ``InvocationsFailedToBeSentToDlq`` per
        period: events that could not even be dead-lettered, and are lost. Default: - 1.
    :param throttled_rules: a rule's ``ThrottledRules`` per period (invocations held back by
        the account's invocation quota). Default: - 1.
    :param dead_letter_messages: messages visible in a target's dead-letter queue, and in a
        Lambda target's failure queue. Default: - 1 (any message).
    :param period: the period each metric is evaluated over. Default: - 5 minutes.
    """

    failed_invocations: int | None = 1
    dead_letter_delivery_failures: int | None = 1
    throttled_rules: int | None = 1
    dead_letter_messages: int | None = 1
    # Duration is immutable, so sharing one default instance is safe.
    period: Duration = field(default_factory=_defaults.metric_period)


class FanOutTarget(Construct):
    """Defines the delivery of one rule target: its dead-letter queue, its place in the rule,
    and for a Lambda target the function's on-failure queue and idempotency table.

    Created by ``EventBusFanOut.add_rule``; reach it as ``fan_out.rules[rule].targets[name]``.
    A Lambda target's failure queue and new idempotency table are defined in the function's
    stack: under this construct when that is the rule's stack, otherwise under
    ``function_side`` (a construct of the function's stack named after this one's path).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule: events.Rule,
        spec: TargetSpec,
        thresholds: EventBusFanOutAlarms,
        alarm_action: cloudwatch.IAlarmAction | None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._encryption_key = encryption_key
        #: What this target was defined from.
        self.spec = spec
        #: The queue EventBridge sends an event to when it cannot deliver it.
        self.dead_letter_queue: sqs.IQueue = spec.dead_letter_queue or dead_letter_queue(
            self,
            "DeadLetterQueue",
            fifo=False,
            props=spec.dead_letter_queue_props,
            dead_letter_of="an EventBridge rule target",
            encryption_key=encryption_key,
        )
        if not isinstance(self.dead_letter_queue, sqs.Queue):
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:eventBusFanOut:deadLetterQueuePolicy",
                "The imported dead-letter queue's policy cannot be changed at synth: allow "
                "events.amazonaws.com to sqs:SendMessage to it with the condition "
                "ArnEquals aws:SourceArn = the rule's ARN.",
            )
        #: The ``aws_events.IRuleTarget`` added to the rule.
        self.rule_target = spec.rule_target(self.dead_letter_queue)
        rule.add_target(self.rule_target)

        #: A Lambda target's on-failure destination for its asynchronous invocations; None for
        #: other targets, with ``failure_queue=False``, or when the function had one already.
        self.failure_queue: sqs.Queue | None = None
        #: The idempotency table of a Lambda target given ``idempotency``, or of a buffered
        #: target's worker; None otherwise.
        self.idempotency_table: dynamodb.ITable | None = None
        #: Where the resources of a Lambda target's side are defined: this construct, or a
        #: construct in the function's stack when that is another stack than the rule's.
        self.function_side: Construct = self
        if isinstance(spec, LambdaTarget):
            self.function_side = self._function_side(spec.function)
            if spec.failure_queue:
                self.failure_queue = self._add_failure_destination(spec.function)
            if spec.idempotency is not None:
                self.idempotency_table = enable_idempotency(
                    self.function_side,
                    spec.function,
                    spec.idempotency,
                    encryption_key=encryption_key,
                )
        elif isinstance(spec, BufferedTarget):
            self.idempotency_table = spec.worker.idempotency_table
            if self.idempotency_table is None:
                Annotations.of(self).add_warning_v2(
                    "serverless-patterns:eventBusFanOut:bufferedWithoutIdempotency",
                    f"QueueWorker {spec.worker.node.path!r} has no idempotency option: "
                    "EventBridge and SQS deliver at least once, so its handler must be "
                    "idempotent itself (give the worker idempotency=IdempotencyOptions() and "
                    "use event_batch_handler, which is keyed by the event id).",
                )
        #: The alarms of this target: its dead-letter queue, then its failure queue.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(thresholds, alarm_action)

    def _function_side(self, function: lambda_.IFunction) -> Construct:
        # The function's stack is named by the rule's (the rule lists the function's ARN), so
        # what the function refers to (its on-failure queue, its table) must be in its stack.
        if in_same_stack(function, self):
            return self
        return Construct(Stack.of(function), f"EventTarget{Names.unique_id(self)}")

    def _add_failure_destination(self, function: lambda_.IFunction) -> sqs.Queue | None:
        if function.node.try_find_child("EventInvokeConfig") is not None:
            return None  # the function's own asynchronous invocation configuration stays
        queue = dead_letter_queue(
            self.function_side,
            "FailureQueue",
            fifo=False,
            dead_letter_of="the function's asynchronous invocations (on-failure destination)",
            encryption_key=self._encryption_key,
        )
        from aws_cdk import aws_lambda_destinations as destinations  # only for this target

        function.configure_async_invoke(on_failure=destinations.SqsDestination(queue))
        acknowledge_library_send_grant(function.role, queue)
        if function.role is None:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:eventBusFanOut:noRoleToGrant",
                "The imported function has no known role: grant it sqs:SendMessage on the "
                "failure queue, its on-failure destination.",
            )
        if isinstance(function, lambda_.Function):
            acknowledge_no_dlq(
                function,
                "EventBridge invokes the function asynchronously and EventBusFanOut gives those "
                "invocations an on-failure destination (an encrypted SQS queue), which replaces "
                "a function dead-letter queue and also records the error.",
            )
        return queue

    def _create_alarms(
        self, thresholds: EventBusFanOutAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        if thresholds.dead_letter_messages is None:
            return []
        queues: list[tuple[str, sqs.IQueue, str]] = [
            (
                "DeadLetterMessages",
                self.dead_letter_queue,
                "Events EventBridge could not deliver to this target wait in its dead-letter "
                "queue.",
            )
        ]
        if self.failure_queue is not None:
            queues.append(
                (
                    "FailureQueueMessages",
                    self.failure_queue,
                    "Events the target function failed on after Lambda's retries wait in its "
                    "failure queue.",
                )
            )
        wanted: list[AlarmSpec] = [
            (
                name,
                queue.metric_approximate_number_of_messages_visible(
                    period=thresholds.period, statistic="Maximum"
                ),
                thresholds.dead_letter_messages,
                description,
            )
            for name, queue, description in queues
        ]
        return threshold_alarms(self, wanted, action=action)


class FanOutRule(Construct):
    """Defines one rule of an ``EventBusFanOut``: the rule, its targets and its alarms.

    Created by ``EventBusFanOut.add_rule``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus: events.IEventBus,
        options: FanOutRuleOptions,
        thresholds: EventBusFanOutAlarms,
        alarm_action: cloudwatch.IAlarmAction | None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._event_bus = event_bus
        #: The EventBridge rule.
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=event_bus,
            event_pattern=options.pattern.to_event_pattern(),
            description=options.description,
        )
        targets_scope = Construct(self, "Targets")
        #: The targets, by name.
        self.targets: dict[str, FanOutTarget] = {
            name: FanOutTarget(
                targets_scope,
                name,
                rule=self.rule,
                spec=spec,
                thresholds=thresholds,
                alarm_action=alarm_action,
                encryption_key=encryption_key,
            )
            for name, spec in options.targets.items()
        }
        #: The rule's alarms (failed invocations, dead-letter delivery failures, throttled
        #: rules), then each target's.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(thresholds, alarm_action)
        for target in self.targets.values():
            self.alarms.extend(target.alarms)

    @property
    def rule_name(self) -> str:
        """The rule's name, as EventBridge metrics name it.

        ``Ref`` of an ``AWS::Events::Rule`` is ``<bus name>|<rule name>`` for a rule on a
        custom bus and the bare rule name on the default bus (CloudFormation, "AWS::Events::Rule",
        Return values; the page's text lags: aws-cloudformation/cloudformation-coverage-roadmap
        issue 1131). Neither name may contain ``|`` (the name patterns of PutRule and
        CreateEventBus, EventBridge API Reference), so the second ``|``-separated part of
        ``Ref|Ref`` is the rule name in both cases, whatever the bus is named.
        """
        ref = self.rule.rule_name
        return Fn.select(1, Fn.split("|", Fn.join("|", [ref, ref])))

    def metric(self, metric_name: str, *, period: Duration | None = None) -> cloudwatch.Metric:
        """An ``AWS/Events`` metric of this rule (sum per period; default 5 minutes).

        Dimensions ``EventBusName`` (the bus name) and ``RuleName`` (the bare rule name,
        ``rule_name``), as EventBridge publishes them for a rule on a custom bus, and
        ``RuleName`` alone on the default bus ("Monitoring Amazon EventBridge", EventBridge
        User Guide: "Metrics that specify only the RuleName dimension refer to the default
        event bus. Metrics that specify both the EventBusName and RuleName dimensions refer
        to a custom event bus.").
        """
        dimensions = {"RuleName": self.rule_name}
        bus_name = self._event_bus.event_bus_name
        if not (is_known(bus_name) and bus_name == _DEFAULT_BUS_NAME):
            dimensions["EventBusName"] = bus_name
        return cloudwatch.Metric(
            namespace=_EVENTS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic="Sum",
            period=period or _defaults.metric_period(),
        )

    def metric_failed_invocations(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Deliveries of this rule that failed for good (``FailedInvocations``)."""
        return self.metric("FailedInvocations", period=period)

    def metric_invocations_failed_to_be_sent_to_dlq(
        self, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """Failed deliveries that could not be dead-lettered either
        (``InvocationsFailedToBeSentToDlq``): those events are lost."""
        return self.metric("InvocationsFailedToBeSentToDlq", period=period)

    def metric_throttled_rules(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Invocations of this rule that were throttled (``ThrottledRules``)."""
        return self.metric("ThrottledRules", period=period)

    def _create_alarms(
        self, thresholds: EventBusFanOutAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        period = thresholds.period
        wanted: list[AlarmSpec] = [
            (
                "FailedInvocations",
                self.metric_failed_invocations(period=period),
                thresholds.failed_invocations,
                "The rule failed to deliver events to a target after its retries; they are in "
                "that target's dead-letter queue.",
            ),
            (
                "DeadLetterDeliveryFailures",
                self.metric_invocations_failed_to_be_sent_to_dlq(period=period),
                thresholds.dead_letter_delivery_failures,
                "Events the rule could not deliver could not be dead-lettered either (check "
                "the dead-letter queue's policy and key): they are lost.",
            ),
            (
                "ThrottledRules",
                self.metric_throttled_rules(period=period),
                thresholds.throttled_rules,
                "The rule's invocations were throttled by the account's EventBridge invocation "
                "quota; deliveries are delayed.",
            ),
        ]
        return threshold_alarms(self, wanted, action=action)


class EventBusFanOut(Construct):
    """Defines a custom event bus with an archive, and rules fanning out to targets that each
    have their own dead-letter queue and retry policy.

    By default it creates: an event bus encrypted with an AWS-owned key; an archive of every
    event on the bus, kept 30 days for replay; and, per rule, alarms on failed invocations,
    dead-letter delivery failures and throttling, plus one on each target's dead-letter queue.
    Each target gets a new encrypted, TLS-only dead-letter queue that only its rule may send
    to, and EventBridge's retry policy (24 hours, 185 attempts) written out. With
    ``producer_accounts``, a bus policy lets those accounts put events.

    Stacks compose: targets may be defined in other stacks than the rules (the rules' stack
    then depends on theirs, never the reverse; see ``QueueTarget`` for the policies), and
    ``EventBusFanOut(consumer_stack, ..., event_bus=platform.event_bus)`` adds rules to a bus
    that another stack owns, without a second archive.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus: events.IEventBus | None = None,
        event_bus_props: Mapping[str, Any] | None = None,
        encryption_key: kms.IKey | None = None,
        archive: bool | None = None,
        archive_retention: Duration | None = None,
        producer_accounts: Sequence[str] | None = None,
        rules: Mapping[str, FanOutRuleOptions] | None = None,
        alarms: EventBusFanOutAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param event_bus: an existing bus (the default bus, or one defined elsewhere, in any
            stack) to add the rules, the producer policy and, with ``archive=True``, an archive
            to. Default: - a new custom event bus.
        :param event_bus_props: ``aws_events.EventBus`` arguments for the new bus, for example
            ``event_bus_name`` or ``description`` (not ``kms_key``: use ``encryption_key``).
            Default: - a generated name.
        :param encryption_key: a customer-managed key encrypting the new bus, its archive, and
            the queues (targets' dead-letter queues, Lambda targets' failure queues) and
            idempotency tables the rules create; its policy is given statements letting
            EventBridge use it for this bus and this account's rules. Default: - an AWS-owned
            key for the bus, SQS-managed queues, ``aws/dynamodb`` tables.
        :param archive: archive the events on the bus so they can be replayed. Passing True
            with an existing bus adds an archive of it here. Default: - True for a new bus;
            False for an existing bus (``event_bus``), whose owner archives it, so rules
            added to another stack's bus do not create a second archive.
        :param archive_retention: how long the archive keeps events, in whole days, at least 1.
            Default: - 30 days.
        :param producer_accounts: 12-digit ids of other accounts allowed to put events on the
            bus (``events:PutEvents`` on this bus only). Default: - none; only principals of
            this account given ``grant_put_events``.
        :param rules: rules to add now, by id; the same as calling ``add_rule`` for each.
            Default: - none.
        :param alarms: alarm thresholds. Default: - ``EventBusFanOutAlarms()``.
        :param alarm_action: action for every alarm (ALARM and OK).
            Default: - alarms without actions.
        """
        super().__init__(scope, construct_id)
        reject_both(
            self,
            "event_bus",
            event_bus,
            event_bus_props=event_bus_props,
            encryption_key=encryption_key,
        )
        check_prop_keys(self.node.path, "event_bus_props", event_bus_props, events.EventBus)
        for key, instead in _PATTERN_BUS_KEYS.items():
            if key in (event_bus_props or {}):
                raise ValueError(
                    f"{self.node.path}: event_bus_props[{key!r}] is set by EventBusFanOut; "
                    f"use {instead} instead"
                )
        if archive is None:
            archive = event_bus is None
        if not archive and archive_retention is not None:
            raise ValueError(
                f"{self.node.path}: archive_retention applies only with archive=True (the "
                "default for a new bus only)"
            )
        retention = archive_retention or Duration.days(_defaults.ARCHIVE_RETENTION_DAYS)
        self._check_archive_retention(retention)
        accounts = self._checked_accounts(producer_accounts)
        rule_options = dict(rules or {})
        for rule_id, options in rule_options.items():
            self._check_rule(rule_id, options, event_bus)

        self._thresholds = alarms or EventBusFanOutAlarms()
        self._rules_scope: Construct | None = None
        self._alarm_action = alarm_action
        #: The event bus.
        self.event_bus: events.IEventBus = event_bus or events.EventBus(
            self,
            "Bus",
            **_defaults.merge_props({}, event_bus_props, {"kms_key": encryption_key}),
        )
        #: The customer-managed key of the bus and its archive; None for an AWS-owned key.
        self.encryption_key = encryption_key
        #: The archive of every event on the bus; None with ``archive=False``.
        self.archive: events.Archive | None = (
            self._create_archive(retention, encryption_key) if archive else None
        )
        #: The bus policy letting ``producer_accounts`` put events; None without them.
        self.producer_policy: events.CfnEventBusPolicy | None = (
            self._allow_producer_accounts(accounts) if accounts else None
        )
        #: The rules, by id.
        self.rules: dict[str, FanOutRule] = {}
        #: Every alarm: each rule's, then its targets', in the order the rules were added.
        self.alarms: list[cloudwatch.Alarm] = []
        for rule_id, options in rule_options.items():
            self._add_checked_rule(rule_id, options)

    def add_rule(
        self,
        rule_id: str,
        *,
        pattern: EventPatternSpec,
        targets: Mapping[str, TargetSpec],
        description: str | None = None,
    ) -> FanOutRule:
        """Adds a rule delivering the events that match ``pattern`` to each of ``targets``.

        Each target gets its own dead-letter queue and retry policy, and alarms; the rule gets
        alarms on failed invocations, dead-letter delivery failures and throttling.

        :param rule_id: the id of the rule's resources (public API: renaming replaces them).
        :param pattern: the events the rule matches.
        :param targets: 1-5 targets by name (``LambdaTarget``, ``QueueTarget``,
            ``BufferedTarget``, ``TopicTarget``, ``StateMachineTarget``, ``EventBusTarget``).
        :param description: the rule's description. Default: - none.
        """
        if rule_id in self.rules:
            raise ValueError(f"{self.node.path}: rule {rule_id!r} is already defined")
        options = FanOutRuleOptions(pattern=pattern, targets=targets, description=description)
        self._check_rule(rule_id, options, self.event_bus)
        return self._add_checked_rule(rule_id, options)

    def grant_put_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants ``events:PutEvents`` on this bus (and nothing else) to ``grantee``."""
        return self.event_bus.grant_put_events_to(grantee)

    def _add_checked_rule(self, rule_id: str, options: FanOutRuleOptions) -> FanOutRule:
        if self._rules_scope is None:
            self._rules_scope = Construct(self, "Rules")
        rule = FanOutRule(
            self._rules_scope,
            rule_id,
            event_bus=self.event_bus,
            options=options,
            thresholds=self._thresholds,
            alarm_action=self._alarm_action,
            encryption_key=self.encryption_key,
        )
        self.rules[rule_id] = rule
        self.alarms.extend(rule.alarms)
        return rule

    def _create_archive(self, retention: Duration, key: kms.IKey | None) -> events.Archive:
        source = self.event_bus
        cfn_bus = self.event_bus.node.default_child
        if key is not None and isinstance(cfn_bus, events.CfnEventBus):
            # Archive(kms_key=...) conditions the key's policy on the source bus's ARN; as a
            # GetAtt of the bus, which is encrypted with that key, it would make the key and
            # the bus depend on each other. Name the bus by the ARN built from its name, as
            # EventBus does for its own key statement, and depend on the bus explicitly.
            source = events.EventBus.from_event_bus_arn(
                self,
                "ArchiveSource",
                Stack.of(self).format_arn(
                    service="events", resource="event-bus", resource_name=cfn_bus.name
                ),
            )
        archive = events.Archive(
            self,
            "Archive",
            source_event_bus=source,
            # An empty prefix matches every source, so every event is archived, including
            # events from producer accounts (aws-cdk-lib's EventBus.archive example matches
            # this account's events only).
            event_pattern=events.EventPattern(source=events.Match.prefix("")),
            retention=retention,
            kms_key=key,
            description="Every event on the bus, for replay.",
        )
        if source is not self.event_bus:
            # The built ARN does not reference the bus; a GetAtt of it would already order them.
            archive.node.add_dependency(self.event_bus)
        return archive

    def _allow_producer_accounts(self, accounts: list[str]) -> events.CfnEventBusPolicy:
        statement = iam.PolicyStatement(
            principals=[iam.AccountPrincipal(account) for account in accounts],
            actions=["events:PutEvents"],
            resources=[self.event_bus.event_bus_arn],
        )
        return events.CfnEventBusPolicy(
            self,
            "ProducerAccountsPolicy",
            event_bus_name=self.event_bus.event_bus_name,
            statement_id="AllowProducerAccountsToPutEvents",
            statement=statement.to_statement_json(),
        )

    # --- validation -----------------------------------------------------------------------

    def _check_archive_retention(self, retention: Duration) -> None:
        days = retention.to_seconds(integral=False) / (24 * 3600)
        if is_known(retention.to_seconds(integral=False)) and (days != int(days) or days < 1):
            raise ValueError(
                f"{self.node.path}: archive_retention must be a whole number of days, at "
                f"least 1, got {retention.to_human_string()}"
            )

    def _checked_accounts(self, accounts: Sequence[str] | None) -> list[str]:
        if accounts is None:
            return []
        if isinstance(accounts, str):
            raise ValueError(
                f"{self.node.path}: producer_accounts must be a list of account ids, got the "
                f"string {accounts!r}"
            )
        for account in accounts:
            if not isinstance(account, str) or (
                not Token.is_unresolved(account) and not _ACCOUNT_ID.match(account)
            ):
                raise ValueError(
                    f"{self.node.path}: producer_accounts must hold 12-digit AWS account ids, "
                    f"got {account!r}"
                )
        own = Stack.of(self).account
        if is_known(own) and own in accounts:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:eventBusFanOut:ownAccountAsProducer",
                f"producer_accounts lists this stack's own account {own}; principals of this "
                "account need an IAM grant (grant_put_events), not the bus policy.",
            )
        return list(dict.fromkeys(accounts))

    def _check_rule(
        self, rule_id: str, options: FanOutRuleOptions, own_bus: events.IEventBus | None
    ) -> None:
        where = f"rule {rule_id!r}"
        if not rule_id or "/" in rule_id:
            raise ValueError(
                f"{self.node.path}: a rule id must be non-empty and contain no '/', got {rule_id!r}"
            )
        check_pattern(self, where, options.pattern)
        if not isinstance(options.targets, Mapping):
            raise ValueError(
                f"{self.node.path}: {where} targets must be a mapping of name to target, got "
                f"{type(options.targets).__name__}"
            )
        if not 1 <= len(options.targets) <= _defaults.MAX_TARGETS_PER_RULE:
            raise ValueError(
                f"{self.node.path}: {where} needs 1 to {_defaults.MAX_TARGETS_PER_RULE} "
                f"targets (the EventBridge limit per rule), got {len(options.targets)}"
            )
        for name, spec in options.targets.items():
            if not name or "/" in name:
                raise ValueError(
                    f"{self.node.path}: {where} target names must be non-empty and contain "
                    f"no '/', got {name!r}"
                )
            check_target(self, f"{where} target {name!r}", spec, own_bus)


def check_pattern(scope: IConstruct, where: str, pattern: object) -> None:
    """Raises ValueError, naming ``scope``'s path, ``where`` and the value, if ``pattern`` is not
    an ``EventPatternSpec`` with at least one field, or a field is malformed."""
    if not isinstance(pattern, EventPatternSpec):
        raise ValueError(
            f"{scope.node.path}: {where} pattern must be an EventPatternSpec, got "
            f"{type(pattern).__name__}"
        )
    if all(
        value is None
        for value in (pattern.source, pattern.detail_type, pattern.detail, pattern.account)
    ):
        raise ValueError(
            f"{scope.node.path}: {where} pattern is empty; give at least one of source, "
            "detail_type, detail or account"
        )
    for name in ("source", "detail_type", "account"):
        values = getattr(pattern, name)
        if values is None or Token.is_unresolved(values):
            continue
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise ValueError(
                f"{scope.node.path}: {where} pattern {name} must be a list of values, got "
                f"{values!r}"
            )
        if not values:
            raise ValueError(
                f"{scope.node.path}: {where} pattern {name} is an empty list, which matches "
                "no event; leave it out to match any"
            )
    if pattern.detail is not None:
        _check_detail(scope, where, "detail", pattern.detail)


def _check_detail(scope: IConstruct, where: str, path: str, value: object) -> None:
    if Token.is_unresolved(value):
        return
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(
                f"{scope.node.path}: {where} pattern {path} is an empty object; leave it out "
                "to match any"
            )
        for key, child in value.items():
            _check_detail(scope, where, f"{path}.{key}", child)
        return
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(
            f"{scope.node.path}: {where} pattern {path} must be a list of values or matchers "
            f"(or a nested object), got {value!r}"
        )
    if not value:
        raise ValueError(
            f"{scope.node.path}: {where} pattern {path} is an empty list, which matches no event"
        )
