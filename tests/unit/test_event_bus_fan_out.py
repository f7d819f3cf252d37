"""EventBusFanOut: every default as an explicit template assertion, every validation error."""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from typing import Any, cast

import pytest
from aws_cdk import CfnParameter, CfnResource, Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.constructs import (
    BufferedTarget,
    EventBusFanOut,
    EventBusFanOutAlarms,
    EventBusTarget,
    EventPatternSpec,
    FanOutRuleOptions,
    IdempotencyOptions,
    LambdaTarget,
    QueueTarget,
    QueueWorker,
    StateMachineTarget,
    TopicTarget,
)
from serverless_patterns.runtime.events.publisher import EVENT_BUS_NAME_ENV
from serverless_patterns.runtime.idempotency import schema
from serverless_patterns.stacks import EventBusFanOutStack
from serverless_patterns.stacks.event_bus_fan_out_stack import (
    BUFFERED_CONSUMER_HANDLER,
    CONSUMER_HANDLER,
    PRODUCER_HANDLER,
)
from tests.conftest import TEST_ENV, new_app
from tests.unit.intrinsics import evaluate

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
ORDERS = EventPatternSpec(source=["orders"], detail_type=["OrderPlaced"])
DEFAULT_RETRY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
EVENTS = {"Service": "events.amazonaws.com"}


def function(stack: Stack, construct_id: str = "Handler") -> lambda_.Function:
    return lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=CODE,
    )


def queue(stack: Stack, construct_id: str = "Queue", **kwargs: Any) -> sqs.Queue:
    return sqs.Queue(stack, construct_id, enforce_ssl=True, **kwargs)


def ref(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def arn(stack: Stack, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [ref(stack, construct), "Arn"]}


def fan_out_with(stack: Stack, targets: dict[str, Any], **kwargs: Any) -> EventBusFanOut:
    fan_out = EventBusFanOut(stack, "FanOut", **kwargs)
    fan_out.add_rule("Orders", pattern=ORDERS, targets=targets)
    return fan_out


def the_rule(template: Template) -> dict[str, Any]:
    rules = template.find_resources("AWS::Events::Rule")
    assert len(rules) == 1
    props: dict[str, Any] = next(iter(rules.values()))["Properties"]
    return props


def only(template: Template, resource_type: str) -> dict[str, Any]:
    found = template.find_resources(resource_type)
    assert len(found) == 1, sorted(found)
    props: dict[str, Any] = next(iter(found.values()))["Properties"]
    return props


def policy_statements(template: Template, resource_type: str, resource_ref: Any) -> list[Any]:
    """Statements of the queue or topic policies attached to ``resource_ref``."""
    key = "Queues" if resource_type == "AWS::SQS::QueuePolicy" else "Topics"
    return [
        statement
        for policy in template.find_resources(resource_type).values()
        if resource_ref in policy["Properties"][key]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def role_statements(template: Template, role_ref: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_ref} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def rule_scoped_send(stack: Stack, fan_out: EventBusFanOut) -> dict[str, Any]:
    return {"ArnEquals": {"aws:SourceArn": arn(stack, fan_out.rules["Orders"].rule)}}


# --- bus, archive, producers -------------------------------------------------------------------


def test_bus_is_a_new_custom_bus_with_an_aws_owned_key(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    props = only(Template.from_stack(stack), "AWS::Events::EventBus")
    assert "KmsKeyIdentifier" not in props
    assert props["Name"].startswith("TestFanOutBus")  # generated
    assert isinstance(fan_out.event_bus, events.EventBus)
    assert fan_out.event_bus.node.path == "Test/FanOut/Bus"
    assert fan_out.encryption_key is None
    assert fan_out.producer_policy is None
    assert fan_out.rules == {} and fan_out.alarms == []


def test_archive_keeps_every_event_30_days(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    props = only(Template.from_stack(stack), "AWS::Events::Archive")
    assert props["RetentionDays"] == 30
    assert props["EventPattern"] == {"source": [{"prefix": ""}]}  # matches every event
    assert props["SourceArn"] == arn(stack, fan_out.event_bus)
    assert fan_out.archive is not None and fan_out.archive.node.path == "Test/FanOut/Archive"


def test_archive_has_no_redundant_depends_on_its_bus(stack: Stack) -> None:
    """Its SourceArn GetAtt already orders it after the bus (cfn-lint W3005 otherwise)."""
    EventBusFanOut(stack, "FanOut")
    [archive] = Template.from_stack(stack).find_resources("AWS::Events::Archive").values()
    assert "DependsOn" not in archive


def test_archive_retention_is_configurable(stack: Stack) -> None:
    EventBusFanOut(stack, "FanOut", archive_retention=Duration.days(7))
    assert only(Template.from_stack(stack), "AWS::Events::Archive")["RetentionDays"] == 7


def test_archive_can_be_left_out(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut", archive=False)
    Template.from_stack(stack).resource_count_is("AWS::Events::Archive", 0)
    assert fan_out.archive is None


def test_event_bus_props_reach_the_bus(stack: Stack) -> None:
    EventBusFanOut(
        stack, "FanOut", event_bus_props={"event_bus_name": "orders", "description": "Orders"}
    )
    props = only(Template.from_stack(stack), "AWS::Events::EventBus")
    assert (props["Name"], props["Description"]) == ("orders", "Orders")


def test_customer_managed_key_encrypts_bus_and_archive_for_this_bus_only(stack: Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    fan_out = EventBusFanOut(stack, "FanOut", encryption_key=key)
    template = Template.from_stack(stack)
    key_arn = arn(stack, key)
    assert only(template, "AWS::Events::EventBus")["KmsKeyIdentifier"] == key_arn
    assert only(template, "AWS::Events::Archive")["KmsKeyIdentifier"] == key_arn
    assert fan_out.encryption_key is key
    # The archive names the bus by an ARN built from its name (a GetAtt of the bus in the key
    # policy would make key and bus depend on each other) and waits for the bus.
    bus_name = only(template, "AWS::Events::EventBus")["Name"]
    archive = template.to_json()["Resources"][ref(stack, fan_out.archive)]
    assert archive["Properties"]["SourceArn"] == (
        f"arn:aws:events:eu-west-1:123456789012:event-bus/{bus_name}"
    )
    assert archive["DependsOn"] == [ref(stack, fan_out.event_bus)]
    statements = only(template, "AWS::KMS::Key")["KeyPolicy"]["Statement"]
    for_events = [s for s in statements if s["Principal"] == EVENTS]
    assert for_events, statements
    for statement in for_events:
        if statement["Action"] == "kms:DescribeKey":
            continue
        conditions = statement["Condition"]["StringEquals"]
        assert "kms:EncryptionContext:aws:events:event-bus:arn" in conditions
        assert not any(a == "kms:*" for a in as_list(statement["Action"]))


def test_producer_accounts_may_put_events_on_this_bus_only(stack: Stack) -> None:
    fan_out = EventBusFanOut(
        stack, "FanOut", producer_accounts=["111111111111", "222222222222", "111111111111"]
    )
    props = only(Template.from_stack(stack), "AWS::Events::EventBusPolicy")
    assert props["EventBusName"] == {"Ref": ref(stack, fan_out.event_bus)}
    assert props["StatementId"] == "AllowProducerAccountsToPutEvents"
    assert props["Statement"] == {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"]},
        "Resource": arn(stack, fan_out.event_bus),
    }
    assert fan_out.producer_policy is not None


def test_own_account_as_producer_is_a_warning(stack: Stack) -> None:
    EventBusFanOut(stack, "FanOut", producer_accounts=["123456789012"])
    Annotations.from_stack(stack).has_warning(
        "/Test/FanOut", Match.string_like_regexp("lists this stack's own account 123456789012")
    )


def test_grant_put_events_allows_exactly_put_events_on_the_bus(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    role = iam.Role(stack, "Producer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    fan_out.grant_put_events(role)
    statements = role_statements(Template.from_stack(stack), ref(stack, role))
    assert statements == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": arn(stack, fan_out.event_bus)}
    ]


def test_an_existing_bus_is_not_archived_again_by_default(stack: Stack) -> None:
    bus = events.EventBus(stack, "Shared")
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))}, event_bus=bus)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::Archive", 0)
    assert fan_out.archive is None
    assert the_rule(template)["EventBusName"] == {"Ref": ref(stack, bus)}


def test_an_existing_bus_gets_the_archive_policy_and_rules_when_asked(stack: Stack) -> None:
    bus = events.EventBus(stack, "Shared")
    fan_out = fan_out_with(
        stack,
        {"Queue": QueueTarget(queue(stack))},
        event_bus=bus,
        archive=True,
        producer_accounts=["111111111111"],
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::EventBus", 1)
    assert fan_out.event_bus is bus
    assert only(template, "AWS::Events::Archive")["SourceArn"] == arn(stack, bus)
    assert only(template, "AWS::Events::EventBusPolicy")["EventBusName"] == {"Ref": ref(stack, bus)}
    assert the_rule(template)["EventBusName"] == {"Ref": ref(stack, bus)}


# --- rules and targets -------------------------------------------------------------------------


def test_rule_matches_the_typed_pattern_on_the_bus(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    fan_out.add_rule(
        "Orders",
        pattern=EventPatternSpec(
            source=["orders"],
            detail_type=["OrderPlaced", "OrderUpdated"],
            detail={"status": ["paid"], "total": events.Match.greater_than(100)},
            account=["111111111111"],
        ),
        targets={"Queue": QueueTarget(queue(stack))},
        description="Paid orders",
    )
    props = the_rule(Template.from_stack(stack))
    assert props["EventBusName"] == {"Ref": ref(stack, fan_out.event_bus)}
    assert props["EventPattern"] == {
        "source": ["orders"],
        "detail-type": ["OrderPlaced", "OrderUpdated"],
        "detail": {"status": ["paid"], "total": [{"numeric": [">", 100]}]},
        "account": ["111111111111"],
    }
    assert props["Description"] == "Paid orders"
    assert props["State"] == "ENABLED"
    assert fan_out.rules["Orders"].rule.node.path == "Test/FanOut/Rules/Orders/Rule"


def test_rules_given_to_the_constructor_equal_add_rule(stack: Stack) -> None:
    fan_out = EventBusFanOut(
        stack,
        "FanOut",
        rules={
            "Orders": FanOutRuleOptions(
                pattern=ORDERS, targets={"Queue": QueueTarget(queue(stack))}
            )
        },
    )
    props = the_rule(Template.from_stack(stack))
    assert props["EventPattern"] == {"source": ["orders"], "detail-type": ["OrderPlaced"]}
    assert list(fan_out.rules) == ["Orders"]
    assert fan_out.alarms == fan_out.rules["Orders"].alarms


def test_every_target_type_has_its_own_dlq_and_the_default_retry_policy(stack: Stack) -> None:
    topic_key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    other_bus = events.EventBus.from_event_bus_arn(
        stack, "Other", "arn:aws:events:eu-west-1:210987654321:event-bus/other"
    )
    fan_out = fan_out_with(
        stack,
        {
            "Function": LambdaTarget(function(stack)),
            "Queue": QueueTarget(queue(stack)),
            "Topic": TopicTarget(sns.Topic(stack, "Topic", master_key=topic_key)),
            "Machine": StateMachineTarget(machine),
            "Bus": EventBusTarget(other_bus),
        },
    )
    template = Template.from_stack(stack)
    rule_targets = the_rule(template)["Targets"]
    delivery = fan_out.rules["Orders"].targets
    assert list(delivery) == ["Function", "Queue", "Topic", "Machine", "Bus"]
    assert len(rule_targets) == 5
    dlq_arns = [target["DeadLetterConfig"]["Arn"] for target in rule_targets]
    assert dlq_arns == [arn(stack, t.dead_letter_queue) for t in delivery.values()]
    assert len({str(a) for a in dlq_arns}) == 5  # one queue per target
    for target in rule_targets[:4]:
        assert target["RetryPolicy"] == DEFAULT_RETRY
    # aws-cdk-lib's EventBus target takes no retry policy: EventBridge's default applies.
    assert "RetryPolicy" not in rule_targets[4]
    assert rule_targets[4]["Arn"] == "arn:aws:events:eu-west-1:210987654321:event-bus/other"
    for name, target in delivery.items():
        assert (
            target.dead_letter_queue.node.path
            == f"Test/FanOut/Rules/Orders/Targets/{name}/DeadLetterQueue"
        )


def test_dead_letter_queues_are_encrypted_tls_only_standard_and_kept_14_days(stack: Stack) -> None:
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))})
    dlq = fan_out.rules["Orders"].targets["Queue"].dead_letter_queue
    template = Template.from_stack(stack)
    props = template.to_json()["Resources"][ref(stack, dlq)]["Properties"]
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "FifoQueue" not in props and "RedrivePolicy" not in props
    statements = policy_statements(template, "AWS::SQS::QueuePolicy", {"Ref": ref(stack, dlq)})
    assert {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": arn(stack, dlq),
    } in statements


@pytest.mark.parametrize("kind", ["lambda", "queue", "topic", "machine", "bus", "buffered"])
def test_only_the_rule_may_send_to_a_target_dlq(stack: Stack, kind: str) -> None:
    specs: dict[str, Callable[[], Any]] = {
        "lambda": lambda: LambdaTarget(function(stack)),
        "queue": lambda: QueueTarget(queue(stack)),
        "topic": lambda: TopicTarget(sns.Topic(stack, "Topic")),
        "machine": lambda: StateMachineTarget(
            sfn.StateMachine(
                stack, "M", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
            )
        ),
        "bus": lambda: EventBusTarget(events.EventBus(stack, "Other")),
        "buffered": lambda: BufferedTarget(
            QueueWorker(stack, "Worker", code=CODE, handler="index.handler")
        ),
    }
    fan_out = fan_out_with(stack, {"Target": specs[kind]()})
    dlq = fan_out.rules["Orders"].targets["Target"].dead_letter_queue
    statements = policy_statements(
        Template.from_stack(stack), "AWS::SQS::QueuePolicy", {"Ref": ref(stack, dlq)}
    )
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Principal"] == EVENTS
    assert allow["Resource"] == arn(stack, dlq)
    assert allow["Condition"] == rule_scoped_send(stack, fan_out)


def test_retry_policy_and_input_are_configurable(stack: Stack) -> None:
    fan_out_with(
        stack,
        {
            "Queue": QueueTarget(
                queue(stack),
                retry_attempts=0,
                max_event_age=Duration.minutes(1),
                input=events.RuleTargetInput.from_event_path("$.detail"),
            ),
            "Function": LambdaTarget(
                function(stack), retry_attempts=3, max_event_age=Duration.hours(2)
            ),
        },
    )
    queue_target, function_target = the_rule(Template.from_stack(stack))["Targets"]
    assert queue_target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 60,
        "MaximumRetryAttempts": 0,
    }
    assert queue_target["InputPath"] == "$.detail"
    assert function_target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 7200,
        "MaximumRetryAttempts": 3,
    }
    assert "InputPath" not in function_target and "Input" not in function_target


def test_an_existing_dead_letter_queue_is_used_and_given_the_rule_statement(stack: Stack) -> None:
    own_dlq = queue(stack, "OwnDlq")
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack), dead_letter_queue=own_dlq)})
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SQS::Queue", 2)
    assert the_rule(template)["Targets"][0]["DeadLetterConfig"] == {"Arn": arn(stack, own_dlq)}
    assert fan_out.rules["Orders"].targets["Queue"].dead_letter_queue is own_dlq
    statements = policy_statements(template, "AWS::SQS::QueuePolicy", {"Ref": ref(stack, own_dlq)})
    assert any(
        s["Effect"] == "Allow" and s["Condition"] == rule_scoped_send(stack, fan_out)
        for s in statements
    )


def test_an_imported_dead_letter_queue_gets_a_policy_warning(stack: Stack) -> None:
    imported = sqs.Queue.from_queue_arn(stack, "Imported", "arn:aws:sqs:eu-west-1:123456789012:dlq")
    fan_out_with(stack, {"Queue": QueueTarget(queue(stack), dead_letter_queue=imported)})
    Annotations.from_stack(stack).has_warning(
        "/Test/FanOut/Rules/Orders/Targets/Queue",
        Match.string_like_regexp("allow events.amazonaws.com to sqs:SendMessage"),
    )


def test_dead_letter_queue_props_override_the_defaults(stack: Stack) -> None:
    fan_out = fan_out_with(
        stack,
        {
            "Queue": QueueTarget(
                queue(stack), dead_letter_queue_props={"retention_period": Duration.days(4)}
            )
        },
    )
    dlq = fan_out.rules["Orders"].targets["Queue"].dead_letter_queue
    props = Template.from_stack(stack).to_json()["Resources"][ref(stack, dlq)]["Properties"]
    assert props["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert props["SqsManagedSseEnabled"] is True


def test_queue_target_policy_is_scoped_to_the_rule(stack: Stack) -> None:
    target_queue = queue(stack)
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(target_queue)})
    template = Template.from_stack(stack)
    statements = policy_statements(
        template, "AWS::SQS::QueuePolicy", {"Ref": ref(stack, target_queue)}
    )
    assert [s for s in statements if s["Effect"] == "Allow"] == [
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Condition": rule_scoped_send(stack, fan_out),
            "Effect": "Allow",
            "Principal": EVENTS,
            "Resource": arn(stack, target_queue),
        }
    ]
    assert the_rule(template)["Targets"][0]["Arn"] == arn(stack, target_queue)


def test_fifo_queue_target_takes_a_message_group(stack: Stack) -> None:
    fifo = queue(stack, "Fifo", fifo=True)
    fan_out_with(stack, {"Queue": QueueTarget(fifo, message_group_id="orders")})
    target = the_rule(Template.from_stack(stack))["Targets"][0]
    assert target["SqsParameters"] == {"MessageGroupId": "orders"}


def test_topic_target_publish_grant_is_scoped_to_the_rule_and_its_key_to_the_account(
    stack: Stack,
) -> None:
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    topic = sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    fan_out = fan_out_with(stack, {"Topic": TopicTarget(topic)})
    template = Template.from_stack(stack)
    statements = policy_statements(template, "AWS::SNS::TopicPolicy", {"Ref": ref(stack, topic)})
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Action"] == "sns:Publish"
    assert allows[0]["Principal"] == EVENTS
    assert allows[0]["Condition"] == rule_scoped_send(stack, fan_out)
    key_statements = only(template, "AWS::KMS::Key")["KeyPolicy"]["Statement"]
    assert {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        "Effect": "Allow",
        "Principal": EVENTS,
        "Resource": "*",
    } in key_statements
    assert not [s for s in key_statements if s.get("Principal") == EVENTS and "Condition" not in s]
    target = the_rule(template)["Targets"][0]
    assert target["Arn"] == {"Ref": ref(stack, topic)}
    assert target["RetryPolicy"] == DEFAULT_RETRY


def test_a_topic_of_another_stack_is_scoped_to_the_rule_account_and_region(stack: Stack) -> None:
    topics = Stack(stack.node.scope, "Topics", env=TEST_ENV)  # type: ignore[arg-type]
    topic = sns.Topic(topics, "Topic", enforce_ssl=True)
    fan_out_with(stack, {"Topic": TopicTarget(topic)})
    template = Template.from_stack(topics)  # synthesizes: the stacks do not depend on each other
    statements = policy_statements(template, "AWS::SNS::TopicPolicy", {"Ref": ref(topics, topic)})
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/*"},
    }


def test_lambda_target_permission_is_scoped_to_the_rule(stack: Stack) -> None:
    fn = function(stack)
    fan_out = fan_out_with(stack, {"Function": LambdaTarget(fn)})
    props = only(Template.from_stack(stack), "AWS::Lambda::Permission")
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["Principal"] == "events.amazonaws.com"
    assert props["FunctionName"] == arn(stack, fn)
    assert props["SourceArn"] == arn(stack, fan_out.rules["Orders"].rule)


def test_lambda_target_gets_an_on_failure_destination_queue(stack: Stack) -> None:
    fn = function(stack)
    fan_out = fan_out_with(stack, {"Function": LambdaTarget(fn)})
    target = fan_out.rules["Orders"].targets["Function"]
    assert target.failure_queue is not None
    assert (
        target.failure_queue.node.path == "Test/FanOut/Rules/Orders/Targets/Function/FailureQueue"
    )
    template = Template.from_stack(stack)
    config = only(template, "AWS::Lambda::EventInvokeConfig")
    assert config["FunctionName"] == {"Ref": ref(stack, fn)}
    assert config["DestinationConfig"] == {
        "OnFailure": {"Destination": arn(stack, target.failure_queue)}
    }
    failure_props = template.to_json()["Resources"][ref(stack, target.failure_queue)]["Properties"]
    assert failure_props["SqsManagedSseEnabled"] is True
    sends = [
        s
        for s in role_statements(template, ref(stack, fn.role))
        if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert sends == [
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": arn(stack, target.failure_queue),
        }
    ]


def test_lambda_target_failure_queue_can_be_left_out(stack: Stack) -> None:
    fan_out = fan_out_with(stack, {"Function": LambdaTarget(function(stack), failure_queue=False)})
    Template.from_stack(stack).resource_count_is("AWS::Lambda::EventInvokeConfig", 0)
    assert fan_out.rules["Orders"].targets["Function"].failure_queue is None


def test_a_function_with_its_own_async_configuration_keeps_it(stack: Stack) -> None:
    own = queue(stack, "Own")
    fn = function(stack)
    fn.configure_async_invoke(on_failure=destinations.SqsDestination(own))
    fan_out = fan_out_with(stack, {"Function": LambdaTarget(fn)})
    template = Template.from_stack(stack)
    config = only(template, "AWS::Lambda::EventInvokeConfig")
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == arn(stack, own)
    assert fan_out.rules["Orders"].targets["Function"].failure_queue is None


def test_lambda_target_idempotency_gives_the_function_a_table(stack: Stack) -> None:
    fn = function(stack)
    fan_out = fan_out_with(
        stack,
        {
            "Function": LambdaTarget(
                fn, idempotency=IdempotencyOptions(expires_after=Duration.hours(2))
            )
        },
    )
    table = fan_out.rules["Orders"].targets["Function"].idempotency_table
    assert table is not None
    assert table.node.path == "Test/FanOut/Rules/Orders/Targets/Function/IdempotencyTable/Table"
    template = Template.from_stack(stack)
    variables = only(template, "AWS::Lambda::Function")["Environment"]["Variables"]
    assert variables == {
        schema.TABLE_NAME_ENV: {"Ref": ref(stack, table)},
        schema.EXPIRES_AFTER_ENV: "7200",
    }
    statements = role_statements(template, ref(stack, fn.role))
    assert {
        "Action": sorted(schema.ITEM_ACTIONS),
        "Effect": "Allow",
        "Resource": arn(stack, table),
    } in statements


def test_state_machine_target_role_may_only_start_that_machine(stack: Stack) -> None:
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    fan_out_with(stack, {"Machine": StateMachineTarget(machine)})
    template = Template.from_stack(stack)
    target = the_rule(template)["Targets"][0]
    assert target["Arn"] == {"Ref": ref(stack, machine)}
    role_ref = target["RoleArn"]["Fn::GetAtt"][0]
    assert role_statements(template, role_ref) == [
        {
            "Action": "states:StartExecution",
            "Effect": "Allow",
            "Resource": {"Ref": ref(stack, machine)},
        }
    ]


def test_event_bus_target_role_may_only_put_events_on_that_bus(stack: Stack) -> None:
    other = "arn:aws:events:eu-west-1:210987654321:event-bus/other"
    fan_out_with(
        stack, {"Bus": EventBusTarget(events.EventBus.from_event_bus_arn(stack, "Other", other))}
    )
    template = Template.from_stack(stack)
    target = the_rule(template)["Targets"][0]
    role_ref = target["RoleArn"]["Fn::GetAtt"][0]
    assert role_statements(template, role_ref) == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": other}
    ]


# --- the buffered target -----------------------------------------------------------------------


def test_buffered_target_delivers_to_the_worker_queue_scoped_to_the_rule(stack: Stack) -> None:
    worker = QueueWorker(
        stack, "Worker", code=CODE, handler="index.handler", idempotency=IdempotencyOptions()
    )
    fan_out = fan_out_with(stack, {"Fulfilment": BufferedTarget(worker)})
    template = Template.from_stack(stack)
    target = the_rule(template)["Targets"][0]
    assert target["Arn"] == arn(stack, worker.queue)
    assert target["RetryPolicy"] == DEFAULT_RETRY
    assert "InputPath" not in target and "InputTransformer" not in target  # the whole event
    statements = policy_statements(
        template, "AWS::SQS::QueuePolicy", {"Ref": ref(stack, worker.queue)}
    )
    assert [s for s in statements if s["Effect"] == "Allow"] == [
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Condition": rule_scoped_send(stack, fan_out),
            "Effect": "Allow",
            "Principal": EVENTS,
            "Resource": arn(stack, worker.queue),
        }
    ]


def test_buffered_target_uses_the_worker_idempotency_table(stack: Stack) -> None:
    worker = QueueWorker(
        stack, "Worker", code=CODE, handler="index.handler", idempotency=IdempotencyOptions()
    )
    fan_out = fan_out_with(stack, {"Fulfilment": BufferedTarget(worker)})
    target = fan_out.rules["Orders"].targets["Fulfilment"]
    assert worker.idempotency_table is not None
    assert target.idempotency_table is worker.idempotency_table
    variables = only(Template.from_stack(stack), "AWS::Lambda::Function")["Environment"][
        "Variables"
    ]
    assert variables[schema.TABLE_NAME_ENV] == {"Ref": ref(stack, worker.idempotency_table)}
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp("idempoten"))


def test_buffered_target_without_idempotency_is_a_warning(stack: Stack) -> None:
    worker = QueueWorker(stack, "Worker", code=CODE, handler="index.handler")
    fan_out = fan_out_with(stack, {"Fulfilment": BufferedTarget(worker)})
    assert fan_out.rules["Orders"].targets["Fulfilment"].idempotency_table is None
    Annotations.from_stack(stack).has_warning(
        "/Test/FanOut/Rules/Orders/Targets/Fulfilment",
        Match.string_like_regexp("QueueWorker 'Test/Worker' has no idempotency option"),
    )


def test_fifo_worker_takes_a_message_group(stack: Stack) -> None:
    worker = QueueWorker(stack, "Worker", code=CODE, handler="index.handler", fifo=True)
    fan_out_with(stack, {"Ledger": BufferedTarget(worker, message_group_id="ledger")})
    target = the_rule(Template.from_stack(stack))["Targets"][0]
    assert target["SqsParameters"] == {"MessageGroupId": "ledger"}


# --- alarms ------------------------------------------------------------------------------------


def rule_alarm(template: Template, metric_name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == metric_name
    ]
    assert len(found) == 1, metric_name
    return found[0]


def test_rule_alarms_watch_failed_invocations_dlq_delivery_and_throttling(stack: Stack) -> None:
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))})
    template = Template.from_stack(stack)
    refs = {
        ref(stack, fan_out.event_bus): "orders-bus",
        ref(stack, fan_out.rules["Orders"].rule): "orders-bus|Test-FanOutRule-ABC123",
    }
    dimensions = {"EventBusName": "orders-bus", "RuleName": "Test-FanOutRule-ABC123"}
    for metric_name in ("FailedInvocations", "InvocationsFailedToBeSentToDlq", "ThrottledRules"):
        alarm = rule_alarm(template, metric_name)
        assert alarm["Namespace"] == "AWS/Events"
        assert alarm_dimensions(alarm, refs) == dimensions
        assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 1)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in alarm


def test_each_target_dlq_and_failure_queue_has_an_alarm(stack: Stack) -> None:
    fan_out = fan_out_with(
        stack, {"Queue": QueueTarget(queue(stack)), "Function": LambdaTarget(function(stack))}
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 3 + 1 + 2)
    rule = fan_out.rules["Orders"]
    queues = [
        rule.targets["Queue"].dead_letter_queue,
        rule.targets["Function"].dead_letter_queue,
        rule.targets["Function"].failure_queue,
    ]
    for watched in queues:
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Namespace": "AWS/SQS",
                "Dimensions": [
                    {
                        "Name": "QueueName",
                        "Value": {"Fn::GetAtt": [ref(stack, watched), "QueueName"]},
                    }
                ],
                "Statistic": "Maximum",
                "Threshold": 1,
                "Period": 300,
            },
        )
    assert [a.node.path.removeprefix("Test/FanOut/Rules/Orders/") for a in fan_out.alarms] == [
        "Alarms/FailedInvocations",
        "Alarms/DeadLetterDeliveryFailures",
        "Alarms/ThrottledRules",
        "Targets/Queue/Alarms/DeadLetterMessages",
        "Targets/Function/Alarms/DeadLetterMessages",
        "Targets/Function/Alarms/FailureQueueMessages",
    ]


def test_alarm_action_runs_on_alarm_and_ok(stack: Stack) -> None:
    topic = sns.Topic(stack, "Ops")
    fan_out_with(
        stack, {"Queue": QueueTarget(queue(stack))}, alarm_action=cw_actions.SnsAction(topic)
    )
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 4
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": ref(stack, topic)}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": ref(stack, topic)}]


def test_alarm_thresholds_are_configurable_and_can_be_left_out(stack: Stack) -> None:
    fan_out_with(
        stack,
        {"Queue": QueueTarget(queue(stack))},
        alarms=EventBusFanOutAlarms(
            failed_invocations=5,
            throttled_rules=None,
            dead_letter_messages=None,
            period=Duration.minutes(1),
        ),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    failed = rule_alarm(template, "FailedInvocations")
    assert (failed["Threshold"], failed["Period"]) == (5, 60)
    assert rule_alarm(template, "InvocationsFailedToBeSentToDlq")["Threshold"] == 1


# The rule alarms must name the metrics EventBridge publishes ("Monitoring Amazon EventBridge",
# EventBridge User Guide: RuleName alone for a rule on the default bus, EventBusName and RuleName
# for a rule on a custom bus, each the bare name). Ref of an AWS::Events::Rule returns
# "<bus>|<rule>" on a custom bus and "<rule>" on the default bus (CloudFormation User Guide,
# "AWS::Events::Rule", Return values; aws-cloudformation/cloudformation-coverage-roadmap#1131).
RULE_ALARMS = ("FailedInvocations", "InvocationsFailedToBeSentToDlq", "ThrottledRules")


def alarm_dimensions(alarm: dict[str, Any], refs: dict[str, str]) -> dict[str, str]:
    """The alarm's dimensions as deployed, given what each Ref returns."""
    return {d["Name"]: evaluate(d["Value"], refs) for d in alarm["Dimensions"]}


def rule_alarm_dimensions(stack: Stack, fan_out: EventBusFanOut, rule_ref: str) -> list[Any]:
    template = Template.from_stack(stack)
    refs = {ref(stack, fan_out.rules["Orders"].rule): rule_ref}
    if isinstance(fan_out.event_bus, events.EventBus):
        refs[ref(stack, fan_out.event_bus)] = "orders-bus"
    return [alarm_dimensions(rule_alarm(template, name), refs) for name in RULE_ALARMS]


def test_rules_on_a_new_custom_bus_alarm_on_the_bus_and_bare_rule_name(stack: Stack) -> None:
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))})
    assert rule_alarm_dimensions(stack, fan_out, "orders-bus|Test-Rule-1") == 3 * [
        {"EventBusName": "orders-bus", "RuleName": "Test-Rule-1"}
    ]


def test_rules_on_an_imported_custom_bus_alarm_on_the_bus_and_bare_rule_name(
    stack: Stack,
) -> None:
    bus = events.EventBus.from_event_bus_arn(
        stack, "Imported", "arn:aws:events:eu-west-1:123456789012:event-bus/shared-bus"
    )
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))}, event_bus=bus)
    assert rule_alarm_dimensions(stack, fan_out, "shared-bus|Test-Rule-1") == 3 * [
        {"EventBusName": "shared-bus", "RuleName": "Test-Rule-1"}
    ]


def test_rules_on_a_bus_with_an_explicit_name_alarm_on_that_name(stack: Stack) -> None:
    fan_out = fan_out_with(
        stack,
        {"Queue": QueueTarget(queue(stack))},
        event_bus_props={"event_bus_name": "orders"},
    )
    template = Template.from_stack(stack)
    # Ref of the bus is its name; the template names it literally through the bus's Ref.
    refs = {
        ref(stack, fan_out.event_bus): "orders",
        ref(stack, fan_out.rules["Orders"].rule): "orders|Test-Rule-1",
    }
    for name in RULE_ALARMS:
        assert alarm_dimensions(rule_alarm(template, name), refs) == {
            "EventBusName": "orders",
            "RuleName": "Test-Rule-1",
        }


@pytest.mark.parametrize("rule_ref", ["Test-Rule-1", "default|Test-Rule-1"])
def test_rules_on_the_default_bus_alarm_on_the_bare_rule_name_alone(
    stack: Stack, rule_ref: str
) -> None:
    default_bus = events.EventBus.from_event_bus_name(stack, "Default", "default")
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))}, event_bus=default_bus)
    # The page documents the Ref without a bus; the rule names the bus "default" explicitly,
    # so the name is right whichever of the two forms CloudFormation returns.
    assert rule_alarm_dimensions(stack, fan_out, rule_ref) == 3 * [{"RuleName": "Test-Rule-1"}]


_RULE_NAMES = st.from_regex(r"[.\-_A-Za-z0-9]{1,64}", fullmatch=True)
_BUS_NAMES = st.from_regex(r"[/.\-_A-Za-z0-9]{1,256}", fullmatch=True)


@given(bus=_BUS_NAMES, rule=_RULE_NAMES, on_custom_bus=st.booleans())
@settings(max_examples=200, deadline=None)
def test_rule_name_expression_yields_the_bare_name_for_any_valid_names(
    bus: str, rule: str, on_custom_bus: bool
) -> None:
    # Names as the EventBridge API allows them (PutRule Name, EventBusName patterns): the
    # expression is evaluated, not synthesized again, for each example.
    expression = _rule_name_expression()
    rule_ref = f"{bus}|{rule}" if on_custom_bus else rule
    assert evaluate(expression, {"Rule": rule_ref}) == rule


@functools.cache
def _rule_name_expression() -> Any:
    """``FanOutRule.rule_name`` as synthesized, with the rule's logical id replaced by "Rule"."""
    app_stack = Stack(new_app(), "Names", env=TEST_ENV)
    fan_out = fan_out_with(app_stack, {"Queue": QueueTarget(queue(app_stack))})
    rule = fan_out.rules["Orders"]
    expression = app_stack.resolve(rule.rule_name)
    rule_id = ref(app_stack, rule.rule)
    return json.loads(json.dumps(expression).replace(f'"{rule_id}"', '"Rule"'))


def test_fan_out_resources_have_no_unacknowledged_nag_findings(stack: Stack) -> None:
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    worker = QueueWorker(
        stack, "Worker", code=CODE, handler="index.handler", idempotency=IdempotencyOptions()
    )
    fan_out_with(
        stack,
        {
            "Fulfilment": BufferedTarget(worker),
            "Queue": QueueTarget(queue(stack)),
            "Topic": TopicTarget(sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)),
            "Bus": EventBusTarget(events.EventBus(stack, "Other")),
        },
        producer_accounts=["111111111111"],
    )
    for pack_type in (AwsSolutionsChecks, ServerlessChecks):
        report = pack_type(stack).validate_scope(stack)
        found = [
            f"{v.rule_name} at {r.construct_path}"
            for v in report.violations
            for r in v.violating_resources
            if (r.construct_path or "").startswith(("Test/FanOut", "Test/Worker"))
        ]
        assert found == []


def test_lambda_target_function_needs_no_dlq_of_its_own(stack: Stack) -> None:
    fn = function(stack)
    fan_out_with(stack, {"Function": LambdaTarget(fn)})
    report = ServerlessChecks(stack).validate_scope(stack)
    on_function = [
        v.rule_name
        for v in report.violations
        for r in v.violating_resources
        if (r.construct_path or "").startswith("Test/Handler")
    ]
    assert "Serverless-LambdaDLQ" not in on_function
    assert "Serverless-LambdaAsyncFailureDestination" not in on_function


# --- validation ----------------------------------------------------------------------------------


def assert_nothing_created(stack: Stack) -> None:
    created = [
        c.cfn_resource_type
        for c in stack.node.find_all()
        if isinstance(c, CfnResource)
        and c.cfn_resource_type in ("AWS::Events::EventBus", "AWS::Events::Rule", "AWS::SQS::Queue")
        and c.node.path.startswith("Test/FanOut")
    ]
    assert created == []


@pytest.mark.parametrize("setting", ["event_bus_props", "encryption_key"])
def test_existing_bus_and_new_bus_settings_are_exclusive(stack: Stack, setting: str) -> None:
    value: dict[str, Any] = {
        "event_bus_props": {"event_bus_name": "x"},
        "encryption_key": kms.Key(stack, "K"),
    }
    bus = events.EventBus.from_event_bus_name(stack, "Shared", "shared")
    with pytest.raises(
        ValueError,
        match=rf"Test/FanOut: pass either 'event_bus' \(an existing resource\) or "
        rf"'{setting}' \(to configure a new one\), not both",
    ):
        EventBusFanOut(stack, "FanOut", event_bus=bus, **{setting: value[setting]})
    assert_nothing_created(stack)


def test_kms_key_in_event_bus_props_is_rejected(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"Test/FanOut: event_bus_props\['kms_key'\] is set by EventBusFanOut; "
        r"use encryption_key instead",
    ):
        EventBusFanOut(stack, "FanOut", event_bus_props={"kms_key": kms.Key(stack, "Key")})
    assert_nothing_created(stack)


def test_archive_retention_on_an_existing_bus_needs_archive_true(stack: Stack) -> None:
    bus = events.EventBus(stack, "Shared")
    with pytest.raises(ValueError, match=r"Test/FanOut: archive_retention applies only with"):
        EventBusFanOut(stack, "FanOut", event_bus=bus, archive_retention=Duration.days(3))
    fan_out = EventBusFanOut(
        stack, "Archived", event_bus=bus, archive=True, archive_retention=Duration.days(3)
    )
    assert fan_out.archive is not None
    assert only(Template.from_stack(stack), "AWS::Events::Archive")["RetentionDays"] == 3


def test_archive_retention_without_archive_is_an_error(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"Test/FanOut: archive_retention applies only with"):
        EventBusFanOut(stack, "FanOut", archive=False, archive_retention=Duration.days(3))
    assert_nothing_created(stack)


@pytest.mark.parametrize(
    ("retention", "shown"),
    [
        (Duration.hours(36), "1 day 12 hours"),
        (Duration.hours(12), "12 hours"),
        (Duration.days(0), "0 days"),
    ],
)
def test_archive_retention_must_be_whole_days(
    stack: Stack, retention: Duration, shown: str
) -> None:
    with pytest.raises(
        ValueError,
        match=rf"Test/FanOut: archive_retention must be a whole number of days, at least 1, "
        rf"got {shown}",
    ):
        EventBusFanOut(stack, "FanOut", archive_retention=retention)
    assert_nothing_created(stack)


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        (["1234"], r"12-digit AWS account ids, got '1234'"),
        (["12345678901a"], r"12-digit AWS account ids, got '12345678901a'"),
        (["111111111111", " 222222222222"], r"got ' 222222222222'"),
        ([111111111111], r"got 111111111111"),
        ("111111111111", r"must be a list of account ids, got the string '111111111111'"),
    ],
)
def test_producer_accounts_must_be_account_ids(stack: Stack, accounts: Any, message: str) -> None:
    with pytest.raises(ValueError, match=rf"Test/FanOut: producer_accounts .*{message}"):
        EventBusFanOut(stack, "FanOut", producer_accounts=accounts)
    assert_nothing_created(stack)


def test_producer_accounts_may_be_tokens(stack: Stack) -> None:
    account = CfnParameter(stack, "Producer", type="String").value_as_string
    EventBusFanOut(stack, "FanOut", producer_accounts=[account])
    statement = only(Template.from_stack(stack), "AWS::Events::EventBusPolicy")["Statement"]
    assert statement["Action"] == "events:PutEvents"


def invalid_rule(stack: Stack, **kwargs: Any) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    kwargs.setdefault("pattern", ORDERS)
    if "targets" not in kwargs:
        kwargs["targets"] = {"Queue": QueueTarget(queue(stack))}
    try:
        fan_out.add_rule("Orders", **kwargs)
    finally:
        assert fan_out.rules == {}
        assert fan_out.node.try_find_child("Rules") is None
        assert_nothing_created_but_the_bus(stack)


def assert_nothing_created_but_the_bus(stack: Stack) -> None:
    created = [
        c.node.path
        for c in stack.node.find_all()
        if isinstance(c, CfnResource) and c.node.path.startswith("Test/FanOut/Rules")
    ]
    assert created == []


@pytest.mark.parametrize("count", [0, 6])
def test_a_rule_needs_one_to_five_targets(stack: Stack, count: int) -> None:
    targets = {f"T{i}": QueueTarget(queue(stack, f"Q{i}")) for i in range(count)}
    with pytest.raises(
        ValueError,
        match=rf"Test/FanOut: rule 'Orders' needs 1 to 5 targets \(the EventBridge limit per "
        rf"rule\), got {count}",
    ):
        invalid_rule(stack, targets=targets)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (EventPatternSpec(), r"pattern is empty; give at least one of source"),
        (
            EventPatternSpec(source="orders"),
            r"pattern source must be a list of values, got 'orders'",
        ),
        (EventPatternSpec(detail_type=[]), r"pattern detail_type is an empty list"),
        (
            EventPatternSpec(source=["orders"], detail={"status": "paid"}),
            r"pattern detail.status must be a list of values or matchers .*got 'paid'",
        ),
        (
            EventPatternSpec(source=["orders"], detail={"customer": {"tier": 3}}),
            r"pattern detail.customer.tier must be a list .*got 3",
        ),
        (EventPatternSpec(detail={}), r"pattern detail is an empty object"),
        (EventPatternSpec(detail={"status": []}), r"pattern detail.status is an empty list"),
        ({"source": ["orders"]}, r"pattern must be an EventPatternSpec, got dict"),
    ],
)
def test_malformed_patterns_are_rejected(stack: Stack, pattern: Any, message: str) -> None:
    with pytest.raises(ValueError, match=rf"Test/FanOut: rule 'Orders' {message}"):
        invalid_rule(stack, pattern=pattern)


def test_a_target_must_be_a_target_spec(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"Test/FanOut: rule 'Orders' target 'Queue' must be one of LambdaTarget, "
        r"QueueTarget, BufferedTarget, TopicTarget, StateMachineTarget, EventBusTarget, "
        r"got SqsQueue",
    ):
        invalid_rule(stack, targets={"Queue": events_targets.SqsQueue(queue(stack))})


@pytest.mark.parametrize("name", ["", "a/b"])
def test_target_names_are_construct_ids(stack: Stack, name: str) -> None:
    with pytest.raises(ValueError, match=r"target names must be non-empty and contain no '/'"):
        invalid_rule(stack, targets={name: QueueTarget(queue(stack))})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retry_attempts": 186}, r"retry_attempts must be between 0 and 185, got 186"),
        ({"retry_attempts": -1}, r"retry_attempts must be between 0 and 185, got -1"),
        ({"retry_attempts": 2.5}, r"retry_attempts must be a whole number, got 2.5"),
        (
            {"max_event_age": Duration.seconds(59)},
            r"max_event_age \(seconds\) must be between 60 and 86400, got 59",
        ),
        (
            {"max_event_age": Duration.hours(25)},
            r"max_event_age \(seconds\) must be between 60 and 86400, got 90000",
        ),
        (
            {"max_event_age": Duration.millis(90_500)},
            r"max_event_age must be a whole number of seconds, got 90.5 s",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["queue", "lambda", "buffered"])
def test_retry_policy_must_be_in_eventbridge_ranges(
    stack: Stack, options: dict[str, Any], message: str, kind: str
) -> None:
    if kind == "queue":
        spec: Any = QueueTarget(queue(stack), **options)
    elif kind == "lambda":
        spec = LambdaTarget(function(stack), **options)
    else:
        spec = BufferedTarget(QueueWorker(stack, "W", code=CODE, handler="i.h"), **options)
    with pytest.raises(ValueError, match=rf"Test/FanOut: rule 'Orders' target 'T' {message}"):
        invalid_rule(stack, targets={"T": spec})


def test_retry_policy_may_be_a_token(stack: Stack) -> None:
    attempts = cast(int, CfnParameter(stack, "Attempts", type="Number").value_as_number)
    fan_out_with(stack, {"Queue": QueueTarget(queue(stack), retry_attempts=attempts)})
    retry = the_rule(Template.from_stack(stack))["Targets"][0]["RetryPolicy"]
    assert retry["MaximumRetryAttempts"] == {"Ref": "Attempts"}


def test_existing_dead_letter_queue_and_its_props_are_exclusive(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"Test/FanOut: pass either 'rule 'Orders' target 'Queue' dead_letter_queue' "
        r"\(an existing resource\) or 'rule 'Orders' target 'Queue' dead_letter_queue_props'",
    ):
        invalid_rule(
            stack,
            targets={
                "Queue": QueueTarget(
                    queue(stack),
                    dead_letter_queue=queue(stack, "Dlq"),
                    dead_letter_queue_props={"retention_period": Duration.days(1)},
                )
            },
        )


def test_fifo_dead_letter_queue_is_rejected(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"target 'Queue' dead_letter_queue 'Test/Dlq' is a FIFO queue; EventBridge "
        r"dead-letter queues must be standard queues",
    ):
        invalid_rule(
            stack,
            targets={
                "Queue": QueueTarget(queue(stack), dead_letter_queue=queue(stack, "Dlq", fifo=True))
            },
        )


def test_fifo_in_dead_letter_queue_props_is_rejected(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"dead_letter_queue_props\['fifo'\] is not allowed"):
        invalid_rule(
            stack,
            targets={"Queue": QueueTarget(queue(stack), dead_letter_queue_props={"fifo": True})},
        )


def test_unencrypted_dead_letter_queue_is_rejected(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    with pytest.raises(
        ValueError,
        match=r"Test/FanOut/Rules/Orders/Targets/Queue/DeadLetterQueue: queues are encrypted "
        r"at rest; encryption=QueueEncryption.UNENCRYPTED is not allowed",
    ):
        fan_out.add_rule(
            "Orders",
            pattern=ORDERS,
            targets={
                "Queue": QueueTarget(
                    queue(stack),
                    dead_letter_queue_props={"encryption": sqs.QueueEncryption.UNENCRYPTED},
                )
            },
        )


def test_fifo_queue_target_needs_a_message_group(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"target 'Queue' delivers to FIFO queue 'Test/Fifo'; pass message_group_id",
    ):
        invalid_rule(stack, targets={"Queue": QueueTarget(queue(stack, "Fifo", fifo=True))})


def test_message_group_on_a_standard_queue_is_rejected(stack: Stack) -> None:
    worker = QueueWorker(stack, "Worker", code=CODE, handler="index.handler")
    with pytest.raises(
        ValueError,
        match=r"target 'Buffered' message_group_id 'g' applies only to FIFO queues; "
        r"'Test/Worker/Queue' is a standard queue",
    ):
        invalid_rule(stack, targets={"Buffered": BufferedTarget(worker, message_group_id="g")})


def test_forwarding_to_the_rule_own_bus_is_rejected(stack: Stack) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    with pytest.raises(ValueError, match=r"target 'Loop' forwards to the rule's own event bus"):
        fan_out.add_rule(
            "Orders", pattern=ORDERS, targets={"Loop": EventBusTarget(fan_out.event_bus)}
        )


def test_invalid_idempotency_on_a_lambda_target_is_rejected(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"Test/FanOut: idempotency expires_after \(seconds\) must be between 1 and "
        r"2592000, got 0",
    ):
        invalid_rule(
            stack,
            targets={
                "Function": LambdaTarget(
                    function(stack),
                    idempotency=IdempotencyOptions(expires_after=Duration.seconds(0)),
                )
            },
        )


def test_a_rule_id_is_used_once(stack: Stack) -> None:
    fan_out = fan_out_with(stack, {"Queue": QueueTarget(queue(stack))})
    with pytest.raises(ValueError, match=r"Test/FanOut: rule 'Orders' is already defined"):
        fan_out.add_rule("Orders", pattern=ORDERS, targets={"Q": QueueTarget(queue(stack, "Q2"))})


@pytest.mark.parametrize("rule_id", ["", "a/b"])
def test_rule_ids_are_construct_ids(stack: Stack, rule_id: str) -> None:
    fan_out = EventBusFanOut(stack, "FanOut")
    with pytest.raises(ValueError, match=r"a rule id must be non-empty and contain no '/'"):
        fan_out.add_rule(rule_id, pattern=ORDERS, targets={"Q": QueueTarget(queue(stack))})


def test_invalid_constructor_rules_raise_before_any_resource(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"rule 'Second' needs 1 to 5 targets"):
        EventBusFanOut(
            stack,
            "FanOut",
            rules={
                "First": FanOutRuleOptions(
                    pattern=ORDERS, targets={"Q": QueueTarget(queue(stack))}
                ),
                "Second": FanOutRuleOptions(pattern=ORDERS, targets={}),
            },
        )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::EventBus", 0)
    template.resource_count_is("AWS::Events::Rule", 0)


# --- reference stack ---------------------------------------------------------------------------


def test_reference_stack_handlers_exist_in_the_runtime() -> None:
    for path in (PRODUCER_HANDLER, CONSUMER_HANDLER, BUFFERED_CONSUMER_HANDLER):
        module_name, _, attribute = path.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), path


def test_reference_stack_wires_producer_and_idempotent_consumers() -> None:
    reference = EventBusFanOutStack(new_app(), "Reference", env=TEST_ENV)
    template = Template.from_stack(reference)
    functions = template.find_resources("AWS::Lambda::Function")

    def variables(function: lambda_.IFunction) -> dict[str, Any]:
        props = functions[ref(reference, function)]["Properties"]
        assert isinstance(props["Handler"], str)
        found: dict[str, Any] = props["Environment"]["Variables"]
        return found

    bus = {"Ref": ref(reference, reference.fan_out.event_bus)}
    assert variables(reference.producer) == {EVENT_BUS_NAME_ENV: bus}
    table = {"Ref": ref(reference, reference.idempotency_table.table)}
    assert variables(reference.fulfilment.function)[schema.TABLE_NAME_ENV] == table
    assert variables(reference.notifier)[schema.TABLE_NAME_ENV] == table
    rule = reference.fan_out.rules["OrderPlaced"]
    assert list(rule.targets) == ["Fulfilment", "Notifier", "Subscribers"]
    assert the_rule(template)["EventPattern"] == {
        "source": ["orders"],
        "detail-type": ["OrderPlaced"],
    }
    assert (
        role_statements(template, ref(reference, reference.producer.role)).count(
            {
                "Action": "events:PutEvents",
                "Effect": "Allow",
                "Resource": arn(reference, reference.fan_out.event_bus),
            }
        )
        == 1
    )
