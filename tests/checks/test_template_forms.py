"""The pack on templates nobody here wrote (CfnInclude): every form CloudFormation accepts.

Json properties (RedrivePolicy, EventPattern, PolicyDocument) may be objects or JSON strings
(AWS CloudFormation User Guide, AWS::SQS::Queue "RedrivePolicy", AWS::Events::Rule
"EventPattern": "Type: Json"); names may be built with Ref, Fn::Sub (with or without a
variable map) or Fn::Join ("Fn::Sub", "Fn::Join" intrinsic function reference). A rule never
throws on any of them, and a value known only at deploy time is never a finding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack

from tests.checks.templates import (
    READ_PATHS,
    UNKNOWN_FORMS,
    Finding,
    compliant_template,
    include,
    pack_findings,
    rules_of,
    thrown,
    with_value,
)
from tests.conftest import new_app

QUEUE = ("Queue", "Properties")
RULE = ("Rule", "Properties")
LOGS = ("FunctionLogs", "Properties")


def run(template: dict[str, Any]) -> list[Finding]:
    """The pack's findings over one stack holding ``template`` (a rule that threw fails)."""
    app = new_app()
    include(Stack(app, "Included"), template)
    findings = pack_findings(app)
    assert thrown(findings) == []
    return findings


def test_the_compliant_template_has_no_findings() -> None:
    assert run(compliant_template()) == []


@pytest.mark.parametrize("path", READ_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_a_value_known_only_at_deploy_time_is_never_a_finding_nor_a_crash(
    path: tuple[str | int, ...],
) -> None:
    """Each property a rule reads, given as a parameter, Fn::If, Fn::ImportValue, ... ."""
    app = new_app()
    forms = list(UNKNOWN_FORMS.items())
    for position, (_, value) in enumerate(forms):
        include(Stack(app, f"Form{position}"), with_value(compliant_template(), path, value))
    findings = pack_findings(app)
    by_form = {forms[int(f.path.split("/")[0].removeprefix("Form"))][0]: f for f in findings}
    assert by_form == {}


# --- Json properties given as JSON strings ------------------------------------------------


def redrive(max_receive_count: int) -> dict[str, Any]:
    return {
        "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
        "maxReceiveCount": max_receive_count,
    }


def test_redrive_policy_as_a_json_string_is_read_like_the_object() -> None:
    # a JSON string cannot hold a reference: the dead-letter queue is named by its ARN
    text = json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dlq", "maxReceiveCount": 2}
    )
    low = run(with_value(compliant_template(), (*QUEUE, "RedrivePolicy"), text))
    assert rules_of(low) == {"ServerlessPatterns-SQSDeadLetterQueue"}
    text = text.replace('"maxReceiveCount": 2', '"maxReceiveCount": "5"')
    assert run(with_value(compliant_template(), (*QUEUE, "RedrivePolicy"), text)) == []


def test_redrive_policy_as_a_json_string_still_gets_the_visibility_timeout_checked() -> None:
    template = with_value(compliant_template(), (*QUEUE, "RedrivePolicy"), json.dumps(redrive(5)))
    assert run(template) == []
    template = with_value(template, (*QUEUE, "VisibilityTimeout"), 64)  # < 6 x 10 + 5
    assert rules_of(run(template)) == {"ServerlessPatterns-SQSVisibilityTimeout"}


def test_event_pattern_as_a_json_string_still_gets_its_targets_checked() -> None:
    template = with_value(
        compliant_template(), (*RULE, "EventPattern"), json.dumps({"source": ["orders"]})
    )
    assert run(template) == []
    del template["Resources"]["Rule"]["Properties"]["Targets"][0]["DeadLetterConfig"]
    assert rules_of(run(template)) == {"ServerlessPatterns-EventsTargetDLQ[Function]"}


def test_policy_document_as_a_json_string_is_read_like_the_object() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": "*",
    }
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    path = ("Role", "Properties", "Policies", 0, "PolicyDocument")
    template = with_value(compliant_template(), path, document)
    assert rules_of(run(template)) == {"ServerlessPatterns-RecursiveTrigger"}


# --- LambdaLogRetention: the log group however its name is written --------------------------

DEFAULT_GROUP_NAMES = {
    "Fn::Sub": {"Fn::Sub": "/aws/lambda/${Function}"},
    "Fn::Sub variable map": {"Fn::Sub": ["/aws/lambda/${Name}", {"Name": {"Ref": "Function"}}]},
    "Fn::Join": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Function"}]]},
    "Fn::Join split": {"Fn::Join": ["/", ["", "aws", "lambda", {"Ref": "Function"}]]},
}


@pytest.mark.parametrize("name", DEFAULT_GROUP_NAMES.values(), ids=DEFAULT_GROUP_NAMES.keys())
def test_log_group_naming_the_function_by_sub_or_join_is_its_log_group(name: Any) -> None:
    template = with_value(compliant_template(), (*LOGS, "LogGroupName"), name)
    assert run(template) == []
    del template["Resources"]["FunctionLogs"]["Properties"]["RetentionInDays"]
    assert rules_of(run(template)) == {"ServerlessPatterns-LambdaLogRetention"}


def test_log_group_named_after_the_functions_declared_name_is_its_log_group() -> None:
    template = with_value(
        compliant_template(),
        ("Function", "Properties", "FunctionName"),
        {"Fn::Sub": "${AWS::StackName}-orders"},
    )
    name = {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "AWS::StackName"}, "-orders"]]}
    template = with_value(template, (*LOGS, "LogGroupName"), name)
    assert run(template) == []
    literal = with_value(compliant_template(), ("Function", "Properties", "FunctionName"), "fn")
    assert run(with_value(literal, (*LOGS, "LogGroupName"), "/aws/lambda/fn")) == []


@pytest.mark.parametrize(
    "name",
    [
        {"Fn::Sub": "/aws/lambda/${Other}"},  # another function's
        {"Fn::Sub": "/custom/${Function}"},  # not a Lambda log group
        "/aws/lambda/some-other-function",
        {"Fn::Sub": "${!Function}"},  # the text "${Function}"
    ],
    ids=["other function", "other prefix", "literal", "escaped"],
)
def test_a_log_group_not_named_after_the_function_is_not_its_log_group(name: Any) -> None:
    template = with_value(compliant_template(), (*LOGS, "LogGroupName"), name)
    other = dict(template["Resources"]["Function"])
    template["Resources"]["Other"] = other
    template["Resources"]["OtherLogs"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${Other}"}, "RetentionInDays": 7},
    }
    findings = run(template)
    assert [(f.rule, f.path) for f in findings] == [
        ("ServerlessPatterns-LambdaLogRetention", "Included/Template/Function")
    ]


def test_logging_config_naming_a_log_group_by_sub_finds_that_group() -> None:
    template = compliant_template()
    template["Resources"]["FunctionLogs"]["Properties"]["LogGroupName"] = {
        "Fn::Sub": "/orders/${AWS::StackName}"
    }
    template["Resources"]["Function"]["Properties"]["LoggingConfig"] = {
        "LogGroup": {"Fn::Join": ["", ["/orders/", {"Ref": "AWS::StackName"}]]}
    }
    assert run(template) == []
    del template["Resources"]["FunctionLogs"]["Properties"]["RetentionInDays"]
    assert rules_of(run(template)) == {"ServerlessPatterns-LambdaLogRetention"}


# --- references written as Fn::Sub ----------------------------------------------------------


def test_a_queue_named_by_fn_sub_is_followed_like_fn_get_att() -> None:
    template = with_value(
        compliant_template(),
        ("Mapping", "Properties", "EventSourceArn"),
        {"Fn::Sub": "${Queue.Arn}"},
    )
    assert run(template) == []
    template = with_value(template, (*QUEUE, "VisibilityTimeout"), 30)
    assert rules_of(run(template)) == {"ServerlessPatterns-SQSVisibilityTimeout"}


# --- YAML with short-form intrinsics ---------------------------------------------------------

YAML_TEMPLATE = """
Parameters:
  Stage:
    Type: String
    Default: prod
Resources:
  Dlq:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
      RedrivePolicy: !Sub '{"deadLetterTargetArn": "${Dlq.Arn}", "maxReceiveCount": 2}'
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.14
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context): pass"}
      Timeout: 10
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${Function}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Function
      EventSourceArn: !GetAtt Queue.Arn
      FunctionResponseTypes: [ReportBatchItemFailures]
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"source": ["orders"]}'
      Targets:
        - Id: Queue
          Arn: !GetAtt Queue.Arn
        - Id: Function
          Arn: !GetAtt Function.Arn
          DeadLetterConfig: {Arn: !GetAtt Dlq.Arn}
"""


def test_yaml_with_short_form_intrinsics_is_read() -> None:
    app = new_app()
    include(Stack(app, "Included"), YAML_TEMPLATE)
    findings = pack_findings(app)
    assert thrown(findings) == []
    assert sorted((f.rule, f.path.rsplit("/", 1)[-1]) for f in findings) == [
        # RedrivePolicy built with !Sub is known only at deploy time: not reported
        ("ServerlessPatterns-EventsTargetDLQ[Queue]", "Rule"),
        ("ServerlessPatterns-LambdaLogRetention", "Function"),  # !Sub names its group
        ("ServerlessPatterns-SQSVisibilityTimeout", "Queue"),
    ]
