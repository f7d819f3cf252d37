"""Regulated workloads (issue 16): ``encryption_key`` on every construct that stores data or
logs, the key grants each service needs, ``web_acl_arn`` on the APIs, bounded consumers.

AWS pages relied on:
- "Encrypt log data in CloudWatch Logs using AWS Key Management Service" (CloudWatch Logs User
  Guide): the key policy allows ``logs.<region>.amazonaws.com`` with the encryption context
  ``kms:EncryptionContext:aws:logs:arn``.
- "Using dead-letter queues to process undelivered events" (EventBridge User Guide): a DLQ
  encrypted with a customer-managed key needs kms:Decrypt and kms:GenerateDataKey for
  events.amazonaws.com in the key policy.
- "AWS::WAFv2::WebACLAssociation" (CloudFormation reference): a REST API stage is named
  ``arn:<partition>:apigateway:<region>::/restapis/<api-id>/stages/<stage-name>``.
- "Configuring maximum concurrency for Amazon SQS event sources" (Lambda Developer Guide).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.constructs import (
    AlarmTopic,
    BaselineFunction,
    BufferedTarget,
    CanaryApi,
    EventBusFanOut,
    EventPatternSpec,
    IdempotencyOptions,
    QueueWorker,
    StreamConsumer,
    WebhookReceiver,
    WebhookSender,
)
from serverless_patterns.constructs._encryption import (
    ACCOUNT_STATEMENT_SID,
    allow_cloudwatch_logs,
)
from tests.conftest import new_app

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
WEB_ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/0123abcd"


def new_key(stack: Stack) -> kms.Key:
    return kms.Key(stack, "Key", enable_key_rotation=True)


def key_ref(stack: Stack, key: kms.Key) -> dict[str, Any]:
    return {"Fn::GetAtt": [stack.resolve(key.node.default_child.logical_id), "Arn"]}  # type: ignore[union-attr]


def key_statements(template: Template) -> list[dict[str, Any]]:
    [key] = template.find_resources("AWS::KMS::Key").values()
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    return statements


def logs_statements(template: Template) -> list[dict[str, Any]]:
    return [
        s
        for s in key_statements(template)
        if "logs" in json.dumps(s.get("Principal", {})) and "Service" in s["Principal"]
    ]


def assert_every_log_group_uses(stack: Stack, template: Template, key: kms.Key) -> None:
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert groups
    for name, group in groups.items():
        assert group["Properties"].get("KmsKeyId") == key_ref(stack, key), name
    [statement] = logs_statements(template)  # one statement however many groups
    assert statement["Principal"] == {
        "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    } or statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert "kms:GenerateDataKey*" in statement["Action"]
    assert "kms:Decrypt*" in statement["Action"]
    context = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert ":log-group:*" in json.dumps(context)


def assert_queues_use(stack: Stack, template: Template, key: kms.Key) -> None:
    queues = template.find_resources("AWS::SQS::Queue")
    assert queues
    for name, queue in queues.items():
        assert queue["Properties"].get("KmsMasterKeyId") == key_ref(stack, key), name


def assert_a_table_uses(stack: Stack, template: Template, key: kms.Key) -> None:
    """A DynamoDB table of the template is encrypted with ``key``."""
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"SSESpecification": {"KMSMasterKeyId": key_ref(stack, key), "SSEEnabled": True}},
    )


def role_kms_actions(template: Template) -> set[str]:
    actions: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            listed = statement["Action"]
            for action in [listed] if isinstance(listed, str) else listed:
                if action.startswith("kms:"):
                    actions.add(action)
    return actions


# --- the building blocks -------------------------------------------------------------------


def test_without_a_key_log_groups_and_queues_keep_their_defaults(stack: Stack) -> None:
    QueueWorker(stack, "Worker", code=CODE, handler="index.handler")
    template = Template.from_stack(stack)
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert "KmsKeyId" not in group["Properties"]
    for queue in template.find_resources("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    template.resource_count_is("AWS::KMS::Key", 0)


def test_the_logs_statement_is_added_once_per_key(stack: Stack) -> None:
    key = new_key(stack)
    BaselineFunction(stack, "One", code=CODE, handler="index.handler", encryption_key=key)
    BaselineFunction(stack, "Two", code=CODE, handler="index.handler", encryption_key=key)
    allow_cloudwatch_logs(key)
    template = Template.from_stack(stack)
    assert_every_log_group_uses(stack, template, key)


def test_an_imported_key_is_used_but_its_policy_is_left_alone(stack: Stack) -> None:
    arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key = kms.Key.from_key_arn(stack, "Imported", arn)
    BaselineFunction(stack, "Fn", code=CODE, handler="index.handler", encryption_key=key)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": arn})
    template.resource_count_is("AWS::KMS::Key", 0)


# --- the patterns ------------------------------------------------------------------------


def test_queue_worker_encrypts_queues_log_group_and_table_and_grants_the_key(
    stack: Stack,
) -> None:
    key = new_key(stack)
    QueueWorker(
        stack,
        "Worker",
        code=CODE,
        handler="index.handler",
        idempotency=IdempotencyOptions(),
        encryption_key=key,
    )
    template = Template.from_stack(stack)
    assert_queues_use(stack, template, key)
    assert_every_log_group_uses(stack, template, key)
    assert_a_table_uses(stack, template, key)
    # consuming needs kms:Decrypt; the idempotency records the table's KEY_ACTIONS
    assert role_kms_actions(template) == {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }


def test_webhook_receiver_encrypts_everything_it_stores_and_associates_the_web_acl(
    stack: Stack,
) -> None:
    key = new_key(stack)
    receiver = WebhookReceiver(
        stack, "Receiver", code=CODE, encryption_key=key, web_acl_arn=WEB_ACL
    )
    template = Template.from_stack(stack)
    assert_queues_use(stack, template, key)
    assert_every_log_group_uses(stack, template, key)
    template.has_resource_properties(
        "AWS::SecretsManager::Secret", {"KmsKeyId": key_ref(stack, key)}
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "KMSMasterKeyID": key_ref(stack, key),
                            "SSEAlgorithm": "aws:kms",
                        },
                    }
                ]
            }
        },
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table", {"SSESpecification": Match.object_like({"SSEEnabled": True})}
    )
    # the verifier reads the secret, sends to the queue, puts claim checks and writes
    # idempotency records
    assert role_kms_actions(template) == {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }
    assert_web_acl_on_stage(stack, template, receiver.api)


def assert_web_acl_on_stage(stack: Stack, template: Template, api: Any) -> None:
    [props] = [
        r["Properties"] for r in template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    ]
    assert props["WebACLArn"] == WEB_ACL
    stage = api.deployment_stage
    assert props["ResourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:aws:apigateway:eu-west-1::/restapis/",
                stack.resolve(api.rest_api_id),
                "/stages/",
                stack.resolve(stage.stage_name),
            ],
        ]
    }


def test_without_a_web_acl_no_association_is_made(stack: Stack) -> None:
    WebhookReceiver(stack, "Receiver", code=CODE)
    Template.from_stack(stack).resource_count_is("AWS::WAFv2::WebACLAssociation", 0)


def test_canary_api_encrypts_every_log_group_and_associates_the_web_acl(stack: Stack) -> None:
    key = new_key(stack)
    api = CanaryApi(
        stack,
        "Api",
        code=CODE,
        handler="index.handler",
        encryption_key=key,
        web_acl_arn=WEB_ACL,
        cloud_watch_role=False,
    )
    template = Template.from_stack(stack)
    # function, pre-traffic hook and access logs
    assert len(template.find_resources("AWS::Logs::LogGroup")) == 3
    assert_every_log_group_uses(stack, template, key)
    assert_web_acl_on_stage(stack, template, api.api)


def test_webhook_sender_encrypts_queues_and_subscribers_and_grants_the_key(
    stack: Stack,
) -> None:
    key = new_key(stack)
    WebhookSender(stack, "Sender", code=CODE, encryption_key=key)
    template = Template.from_stack(stack)
    assert_queues_use(stack, template, key)
    assert_every_log_group_uses(stack, template, key)
    assert_a_table_uses(stack, template, key)
    # consumes (Decrypt), re-sends and dead-letters ("Key management", SQS Developer Guide:
    # GenerateDataKey and Decrypt), reads and updates subscribers (the table's KEY_ACTIONS);
    # no wildcard action
    assert role_kms_actions(template) == {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }


def test_stream_consumer_encrypts_the_stream_and_failure_queue(stack: Stack) -> None:
    key = new_key(stack)
    StreamConsumer(stack, "Consumer", code=CODE, handler="index.handler", encryption_key=key)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": key_ref(stack, key)}},
    )
    assert_queues_use(stack, template, key)
    assert_every_log_group_uses(stack, template, key)
    assert "kms:Decrypt" in role_kms_actions(template)


def test_event_bus_fan_out_encrypts_target_queues_and_lets_eventbridge_use_the_key(
    stack: Stack,
) -> None:
    key = new_key(stack)
    worker = QueueWorker(stack, "Worker", code=CODE, handler="index.handler", encryption_key=key)
    fan_out = EventBusFanOut(stack, "Fan", encryption_key=key)
    fan_out.add_rule(
        "Placed",
        pattern=EventPatternSpec(source=["orders"]),
        targets={"Buffered": BufferedTarget(worker)},
    )
    template = Template.from_stack(stack)
    assert_queues_use(stack, template, key)
    events_statements = [
        s
        for s in key_statements(template)
        if s.get("Principal", {}).get("Service") == "events.amazonaws.com"
        and "kms:GenerateDataKey" in s["Action"]
        and "kms:Decrypt" in s["Action"]
    ]
    assert events_statements, key_statements(template)


# --- bounded consumers --------------------------------------------------------------------


def test_a_queue_worker_is_bounded_by_default(stack: Stack) -> None:
    QueueWorker(stack, "Worker", code=CODE, handler="index.handler")
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"ScalingConfig": {"MaximumConcurrency": 10}}
    )


def test_a_webhook_sender_is_bounded_by_default(stack: Stack) -> None:
    WebhookSender(stack, "Sender", code=CODE)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"ScalingConfig": {"MaximumConcurrency": 10}}
    )


@pytest.mark.parametrize("reserved", [2, 9])
def test_a_lower_reserved_concurrency_is_the_bound(stack: Stack, reserved: int) -> None:
    QueueWorker(
        stack,
        "Worker",
        code=CODE,
        handler="index.handler",
        function_props={"reserved_concurrent_executions": reserved},
    )
    mapping = only(Template.from_stack(stack), "AWS::Lambda::EventSourceMapping")
    assert "ScalingConfig" not in mapping["Properties"]


def only(template: Template, resource_type: str) -> dict[str, Any]:
    [resource] = template.find_resources(resource_type).values()
    return dict(resource)


# --- web_acl_arn validation ----------------------------------------------------------------

ACL_NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,128}", fullmatch=True)
ACL_IDS = st.uuids().map(str)


@settings(max_examples=25, deadline=None)
@given(name=ACL_NAMES, acl_id=ACL_IDS, region=st.sampled_from(["eu-west-1", "us-gov-west-1"]))
def test_any_regional_web_acl_arn_is_associated(name: str, acl_id: str, region: str) -> None:
    stack = Stack(new_app(), "Test")
    arn = f"arn:aws:wafv2:{region}:123456789012:regional/webacl/{name}/{acl_id}"
    WebhookReceiver(stack, "Receiver", code=CODE, web_acl_arn=arn)
    Template.from_stack(stack).has_resource_properties(
        "AWS::WAFv2::WebACLAssociation", {"WebACLArn": arn}
    )


@pytest.mark.parametrize(
    "arn",
    [
        # a CLOUDFRONT-scope web ACL cannot protect a regional API stage
        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0123abcd",
        "arn:aws:waf-regional:eu-west-1:123456789012:webacl/0123abcd",  # WAF Classic
        "edge",
        "",
    ],
)
def test_a_web_acl_arn_that_is_not_regional_wafv2_is_refused(stack: Stack, arn: str) -> None:
    with pytest.raises(ValueError, match=r"Test/Api/Api/DeploymentStage\.prod: web_acl_arn") as e:
        CanaryApi(
            stack,
            "Api",
            code=CODE,
            handler="index.handler",
            web_acl_arn=arn,
            cloud_watch_role=False,
        )
    assert repr(arn) in str(e.value)


# --- the keys the library writes ----------------------------------------------------------


def test_alarm_topic_uses_a_given_key_and_lets_cloudwatch_use_it(stack: Stack) -> None:
    key = new_key(stack)
    topic = AlarmTopic(stack, "Alarms", encryption_key=key)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": key_ref(stack, key)})
    assert topic.key is key
    assert any(
        s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
        for s in key_statements(template)
    )


def test_a_library_key_names_its_account_statement(stack: Stack) -> None:
    """ "Default key policy" (AWS KMS Developer Guide, "Allows access to the AWS account and
    enables IAM policies")."""
    AlarmTopic(stack, "Alarms")
    statements = key_statements(Template.from_stack(stack))
    [root] = [s for s in statements if s["Action"] == "kms:*"]
    assert root["Sid"] == ACCOUNT_STATEMENT_SID
    assert "root" in json.dumps(root["Principal"])
