"""EventBusFanOut across stacks: every target type x (rule's stack, another stack).

The usual split: a platform stack owns the bus and the rules, a consumer stack owns the targets.
The platform stack must name the consumer's targets (the rule lists their ARNs), so the
consumer stack must never name the platform stack, or CloudFormation sees a dependency cycle.
Every resource policy that lets EventBridge deliver keeps a condition: in the rule's stack the
rule's ARN, in another stack this account's rules of this Region ("Using resource-based
policies for Amazon EventBridge" and "Cross-service confused deputy prevention in Amazon
EventBridge", EventBridge User Guide), and a key names the account ("Amazon SQS key
management", SQS Developer Guide; "Amazon SNS security best practices", SNS Developer Guide).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from serverless_patterns.constructs import (
    BufferedTarget,
    EventBusFanOut,
    EventBusTarget,
    EventPatternSpec,
    FanOutRuleOptions,
    IdempotencyOptions,
    IdempotencyTable,
    LambdaTarget,
    QueueTarget,
    QueueWorker,
    StateMachineTarget,
    TargetSpec,
    TopicTarget,
)
from tests.conftest import new_app
from tests.lint.cfn_lint import cfn_lint

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
ORDERS = EventPatternSpec(source=["orders"], detail_type=["OrderPlaced"])
EVENTS = "events.amazonaws.com"
#: Condition keys that tie a grant to EventBridge to a rule or an account.
SCOPING_KEYS = ("aws:SourceArn", "aws:SourceAccount")


def function(stack: Stack) -> lambda_.Function:
    return lambda_.Function(
        stack, "Handler", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=CODE
    )


def queue(stack: Stack, construct_id: str = "Queue", **kwargs: Any) -> sqs.Queue:
    return sqs.Queue(stack, construct_id, enforce_ssl=True, **kwargs)


def encrypted_queue(stack: Stack) -> sqs.Queue:
    key = kms.Key(stack, "QueueKey", enable_key_rotation=True)
    return queue(stack, encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)


def encrypted_topic(stack: Stack) -> sns.Topic:
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    return sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)


def state_machine(stack: Stack) -> sfn.StateMachine:
    return sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Pass")),
    )


def worker(stack: Stack) -> QueueWorker:
    return QueueWorker(
        stack, "Worker", code=CODE, handler="index.handler", idempotency=IdempotencyOptions()
    )


#: Each target type, defined in the stack it is given.
TARGETS: dict[str, Callable[[Stack], TargetSpec]] = {
    "queue": lambda s: QueueTarget(queue(s)),
    "fifo-queue": lambda s: QueueTarget(queue(s, fifo=True), message_group_id="orders"),
    "kms-queue": lambda s: QueueTarget(encrypted_queue(s)),
    "buffered": lambda s: BufferedTarget(worker(s)),
    "lambda": lambda s: LambdaTarget(function(s)),
    "lambda-idempotent": lambda s: LambdaTarget(function(s), idempotency=IdempotencyOptions()),
    "lambda-no-failure-queue": lambda s: LambdaTarget(function(s), failure_queue=False),
    "kms-topic": lambda s: TopicTarget(encrypted_topic(s)),
    "state-machine": lambda s: StateMachineTarget(state_machine(s)),
    "event-bus": lambda s: EventBusTarget(events.EventBus(s, "Downstream")),
    "queue-with-own-dlq": lambda s: QueueTarget(queue(s), dead_letter_queue=queue(s, "OwnDlq")),
    "lambda-with-own-dlq": lambda s: LambdaTarget(
        function(s), dead_letter_queue=queue(s, "OwnDlq")
    ),
}


@dataclass
class Split:
    """A platform stack (bus and rules) and a consumer stack, synthesized."""

    app: App
    platform: Stack
    consumer: Stack
    fan_out: EventBusFanOut
    spec: TargetSpec

    def template(self, stack: Stack) -> dict[str, Any]:
        assembly = self.app.synth()
        template: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
        return template


def split(target: str, where: str) -> Split:
    """The app with the target in the rule's stack (``same``) or in the consumer's (``other``)."""
    app = new_app()
    platform = Stack(app, "Platform")
    consumer = Stack(app, "Consumer")
    queue(consumer, "Inbox")  # a stack may not be empty, even when it holds no target
    spec = TARGETS[target](platform if where == "same" else consumer)
    fan_out = EventBusFanOut(platform, "Orders")
    fan_out.add_rule("Placed", pattern=ORDERS, targets={"Target": spec})
    return Split(app, platform, consumer, fan_out, spec)


def events_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every policy statement allowing EventBridge anything."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        document = props.get("PolicyDocument") or props.get("KeyPolicy") or {}
        for statement in document.get("Statement", []):
            principal = statement.get("Principal", {})
            services = principal.get("Service", []) if isinstance(principal, dict) else []
            services = [services] if isinstance(services, str) else services
            if statement.get("Effect") == "Allow" and EVENTS in services:
                yield logical_id, statement


def condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for operator in statement.get("Condition", {}).values() for key in operator}


@pytest.mark.parametrize("where", ["same", "other"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_type_synthesizes_in_either_stack(target: str, where: str) -> None:
    built = split(target, where)
    built.app.synth()  # no DependencyCycle
    consumer = built.template(built.consumer)
    assert "Fn::ImportValue" not in json.dumps(consumer)
    assert built.platform not in built.consumer.dependencies
    rule = built.fan_out.rules["Placed"]
    [listed] = Template.from_stack(built.platform).find_resources("AWS::Events::Rule").values()
    assert len(listed["Properties"]["Targets"]) == 1
    assert rule.targets["Target"].spec is built.spec


@pytest.mark.parametrize("where", ["same", "other"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_grant_to_eventbridge_is_scoped(target: str, where: str) -> None:
    built = split(target, where)
    found = 0
    for stack in (built.platform, built.consumer):
        for logical_id, statement in events_statements(built.template(stack)):
            found += 1
            assert condition_keys(statement) & set(SCOPING_KEYS), (stack.stack_name, logical_id)
        for logical_id, permission in built.template(stack).get("Resources", {}).items():
            if permission["Type"] == "AWS::Lambda::Permission":
                props = permission["Properties"]
                assert props["Principal"] == EVENTS
                assert "SourceArn" in props, logical_id  # in the rule's stack: names the rule
                assert stack is built.platform
    assert found >= 1  # at least the dead-letter queue's statement


@pytest.mark.parametrize("target", ["queue", "fifo-queue", "kms-queue", "buffered", "kms-topic"])
def test_a_target_policy_in_another_stack_names_this_account_and_region_rules(
    target: str,
) -> None:
    built = split(target, "other")
    statements = [
        s
        for _, s in events_statements(built.template(built.consumer))
        if "kms:Decrypt" not in s["Action"]
    ]
    assert statements
    for statement in statements:
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {
                "aws:SourceArn": {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":events:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            ":rule/*",
                        ],
                    ]
                }
            },
        }


@pytest.mark.parametrize("target", ["queue", "fifo-queue", "kms-queue", "buffered", "kms-topic"])
def test_a_target_policy_in_the_rule_stack_names_the_rule(target: str) -> None:
    built = split(target, "same")
    rule_id = built.platform.get_logical_id(
        built.fan_out.rules["Placed"].rule.node.default_child  # type: ignore[arg-type]
    )
    resource_statements = [
        s
        for _, s in events_statements(built.template(built.platform))
        if "kms:Decrypt" not in s["Action"]
    ]
    assert len(resource_statements) == 2  # the target's and its dead-letter queue's
    for statement in resource_statements:
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}
        }


@pytest.mark.parametrize("target", ["kms-queue", "kms-topic"])
@pytest.mark.parametrize("where", ["same", "other"])
def test_a_target_key_lets_eventbridge_use_it_for_this_account_only(
    target: str, where: str
) -> None:
    built = split(target, where)
    stack = built.platform if where == "same" else built.consumer
    [key] = Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    grants = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": EVENTS}
    ]
    assert grants == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": EVENTS},
            "Resource": "*",
        }
    ]


@pytest.mark.parametrize("where", ["same", "other"])
@pytest.mark.parametrize("target", ["lambda", "lambda-idempotent"])
def test_failure_queue_and_idempotency_table_live_in_the_function_stack(
    target: str, where: str
) -> None:
    built = split(target, where)
    delivery = built.fan_out.rules["Placed"].targets["Target"]
    assert isinstance(built.spec, LambdaTarget)
    function_stack = Stack.of(built.spec.function)
    assert delivery.failure_queue is not None
    assert Stack.of(delivery.failure_queue) is function_stack
    assert Template.from_stack(function_stack).find_resources("AWS::Lambda::EventInvokeConfig")
    if target == "lambda-idempotent":
        assert delivery.idempotency_table is not None
        assert Stack.of(delivery.idempotency_table) is function_stack
    # In the rule's stack the construct ids stay those of a single-stack app.
    expected = delivery if where == "same" else delivery.function_side
    assert delivery.failure_queue.node.scope is expected


def test_the_function_side_keeps_the_single_stack_construct_paths() -> None:
    built = split("lambda-idempotent", "same")
    delivery = built.fan_out.rules["Placed"].targets["Target"]
    assert delivery.function_side is delivery
    assert delivery.failure_queue is not None
    assert (
        delivery.failure_queue.node.path
        == "Platform/Orders/Rules/Placed/Targets/Target/FailureQueue"
    )
    table = delivery.idempotency_table
    assert table is not None
    assert table.node.path.startswith(
        "Platform/Orders/Rules/Placed/Targets/Target/IdempotencyTable"
    )


def test_an_idempotency_table_of_the_rule_stack_for_a_function_elsewhere_is_an_error() -> None:
    app = new_app()
    platform = Stack(app, "Platform")
    consumer = Stack(app, "Consumer")
    table = IdempotencyTable(platform, "Table")
    fan_out = EventBusFanOut(platform, "Orders")
    with pytest.raises(
        ValueError,
        match=r"Platform/Orders: rule 'Placed' target 'Target' idempotency table 'Platform/Table'"
        r" is in the rule's stack 'Platform', but function 'Consumer/Handler' is in stack "
        r"'Consumer'.*define the table in 'Consumer'",
    ):
        fan_out.add_rule(
            "Placed",
            pattern=ORDERS,
            targets={
                "Target": LambdaTarget(
                    function(consumer), idempotency=IdempotencyOptions(table=table)
                )
            },
        )
    assert fan_out.rules == {}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_rules_in_a_consumer_stack_on_a_bus_the_platform_owns(target: str) -> None:
    app = new_app()
    platform = Stack(app, "Platform")
    consumer = Stack(app, "Consumer")
    bus = EventBusFanOut(platform, "Bus")
    rules = EventBusFanOut(
        consumer,
        "Rules",
        event_bus=bus.event_bus,
        rules={
            "Placed": FanOutRuleOptions(
                pattern=ORDERS, targets={"Target": TARGETS[target](consumer)}
            )
        },
    )
    assembly = app.synth()
    assert rules.archive is None
    archives = [
        name
        for stack in (platform, consumer)
        for name, resource in assembly.get_stack_by_name(stack.stack_name)
        .template.get("Resources", {})
        .items()
        if resource["Type"] == "AWS::Events::Archive"
    ]
    assert len(archives) == 1 and bus.archive is not None
    platform_template = assembly.get_stack_by_name("Platform").template
    assert "Fn::ImportValue" not in json.dumps(platform_template)
    assert consumer not in platform.dependencies
    assert platform in consumer.dependencies  # the rules name the platform's bus
    for stack in (platform, consumer):
        template = assembly.get_stack_by_name(stack.stack_name).template
        for logical_id, statement in events_statements(template):
            assert condition_keys(statement) & set(SCOPING_KEYS), logical_id


def test_split_templates_with_every_target_type_are_cfn_lint_clean() -> None:
    app = new_app()
    platform = Stack(app, "Platform")
    consumer = Stack(app, "Consumer")
    fan_out = EventBusFanOut(platform, "Orders")
    for index, name in enumerate(sorted(TARGETS)):
        # One consumer scope per target type, so their construct ids do not collide.
        scope = Stack(app, f"Consumer{index}") if index else consumer
        fan_out.add_rule(f"Rule{index}", pattern=ORDERS, targets={name: TARGETS[name](scope)})
    outdir = Path(app.synth().directory)
    templates = sorted(outdir.glob("*.template.json"))
    assert len(templates) == 1 + len(TARGETS)
    result = cfn_lint(templates)  # with .cfnlintrc.yaml, as `make synth`
    assert result.returncode == 0, result.stdout + result.stderr
