"""AlarmTopic: CloudWatch alarms can really publish to it once deployed.

A topic policy replaces SNS's default policy, so a topic whose policy holds only the TLS deny
accepts no alarm notification. These tests pin what "Example cases for Amazon SNS access
control" (Allow any CloudWatch alarm to publish to a topic, SNS Developer Guide) and "Enable
compatibility between event sources from AWS services and encrypted topics" (SNS key
management) require.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from serverless_patterns.constructs import AlarmTopic
from tests.conftest import new_app
from tests.unit.templates import logical_id, only

CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    document = resource["Properties"].get("PolicyDocument") or resource["Properties"]["KeyPolicy"]
    return list(document["Statement"])


def _allowing(statements: list[dict[str, Any]], principal: dict[str, str]) -> list[dict[str, Any]]:
    return [s for s in statements if s["Effect"] == "Allow" and s.get("Principal") == principal]


def test_cloudwatch_may_publish_for_this_accounts_alarms_only(stack: Stack) -> None:
    topic = AlarmTopic(stack, "Alarms")
    template = Template.from_stack(stack)

    policy = only(template, "AWS::SNS::TopicPolicy")
    [statement] = _allowing(_statements(policy), CLOUDWATCH)
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == {"Ref": logical_id(stack, topic.topic)}
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }
    assert policy["Properties"]["Topics"] == [{"Ref": logical_id(stack, topic.topic)}]


def test_the_topic_still_refuses_requests_without_tls(stack: Stack) -> None:
    AlarmTopic(stack, "Alarms")
    statements = _statements(only(Template.from_stack(stack), "AWS::SNS::TopicPolicy"))
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cloudwatch_may_use_the_key_for_this_account_only(stack: Stack) -> None:
    topic = AlarmTopic(stack, "Alarms")
    template = Template.from_stack(stack)

    key = only(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    [statement] = _allowing(_statements(key), CLOUDWATCH)
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    encrypted = only(template, "AWS::SNS::Topic")["Properties"]["KmsMasterKeyId"]
    assert encrypted == {"Fn::GetAtt": [logical_id(stack, topic.key), "Arn"]}


def test_an_environment_agnostic_stack_scopes_to_the_deploying_account() -> None:
    stack = Stack(new_app(), "Agnostic")
    AlarmTopic(stack, "Alarms")
    policy = only(Template.from_stack(stack), "AWS::SNS::TopicPolicy")
    [statement] = _allowing(_statements(policy), CLOUDWATCH)
    source_arn = statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert source_arn == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudwatch:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":alarm:*",
            ],
        ]
    }
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }


def test_the_action_notifies_the_topic(stack: Stack) -> None:
    topic = AlarmTopic(stack, "Alarms")
    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        metric=cloudwatch.Metric(namespace="AWS/SQS", metric_name="NumberOfMessagesSent"),
        threshold=1,
        evaluation_periods=1,
    )
    alarm.add_alarm_action(topic.action)
    resource = only(Template.from_stack(stack), "AWS::CloudWatch::Alarm")
    assert resource["Properties"]["AlarmActions"] == [{"Ref": logical_id(stack, topic.topic)}]
