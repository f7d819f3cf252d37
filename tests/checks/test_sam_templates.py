"""The pack on SAM templates: transformed by aws-sam-translator, loaded with CfnInclude, and
checked at synth by a validation plugin, as ``add_checks`` runs it.

The SAM resources rest on the AWS SAM Developer Guide: AWS::Serverless::Function event
sources "SQS" and "EventBridgeRule" (with its DeadLetterConfig), and "EventInvokeConfig".
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Stack, Validations
from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from serverless_patterns.checks import ServerlessPatternsChecks
from tests.checks.templates import THROWN, include
from tests.conftest import new_app

FUNCTION = """
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.14
      Handler: index.handler
      InlineCode: "def handler(event, context): pass"
      Timeout: 10
"""

SQS_TRIGGERED = (
    """
Transform: AWS::Serverless-2016-10-31
Resources:
  Dlq:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: {visibility}
      RedrivePolicy: {{deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 5}}
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${{Function}}
      RetentionInDays: 14
"""
    + FUNCTION
    + """
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
"""
)

EVENT_BRIDGE = (
    """
Transform: AWS::Serverless-2016-10-31
Resources:
  Failures:
    Type: AWS::SQS::Queue
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub ["/aws/lambda/${Name}", {Name: !Ref Function}]
      RetentionInDays: 14
"""
    + FUNCTION
    + """
      Events:
        Orders:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [orders]}
            DeadLetterConfig: {Type: SQS}
            RetryPolicy: {MaximumRetryAttempts: 5}
"""
)

ASYNC_FAILURE_DESTINATION = """
      EventInvokeConfig:
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt Failures.Arn
"""

NO_LOG_GROUP = (
    """
Transform: AWS::Serverless-2016-10-31
Resources:
"""
    + FUNCTION
)


class _NoManagedPolicies:
    """The managed policy loader: the templates name no managed policy by name, so no IAM
    call is needed."""

    def load(self) -> dict[str, str]:
        return {}


def sam(yaml_text: str) -> dict[str, Any]:
    """A SAM template (YAML, short-form intrinsics) transformed to CloudFormation."""
    return dict(transform(yaml_parse(yaml_text), {}, _NoManagedPolicies()))


def synth_findings(template: dict[str, Any]) -> list[str]:
    """The pack's report at synth (``Validations.of(app).add_plugins``, as add_checks does):
    the rule ids it reports, [] when synth passes."""
    app = new_app()
    include(Stack(app, "Sam"), template)
    Validations.of(app).add_plugins(ServerlessPatternsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:
        report = str(error)
        assert THROWN not in report
        return sorted(set(re.findall(r"ServerlessPatterns-[A-Za-z]+(?:\[[^\]]*\])?", report)))
    return []


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    """aws-sam-translator builds ARNs for the Region of the session."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


def test_sqs_triggered_function_passes_and_its_visibility_timeout_is_checked() -> None:
    assert synth_findings(sam(SQS_TRIGGERED.format(visibility=60))) == []
    assert synth_findings(sam(SQS_TRIGGERED.format(visibility=59))) == [
        "ServerlessPatterns-SQSVisibilityTimeout"
    ]


def test_sqs_triggered_function_without_partial_batch_responses_is_reported() -> None:
    template = SQS_TRIGGERED.format(visibility=60).replace(
        "            FunctionResponseTypes: [ReportBatchItemFailures]\n", ""
    )
    assert synth_findings(sam(template)) == ["ServerlessPatterns-SQSPartialBatchResponse"]


def test_event_bridge_rule_with_a_dead_letter_queue_needs_only_a_failure_destination() -> None:
    # SAM gives the rule's target a DLQ; the function invoked asynchronously has none
    assert synth_findings(sam(EVENT_BRIDGE)) == ["ServerlessPatterns-LambdaAsyncFailureDestination"]
    assert synth_findings(sam(EVENT_BRIDGE + ASYNC_FAILURE_DESTINATION)) == []


def test_event_bridge_rule_target_without_a_dead_letter_queue_is_reported() -> None:
    template = (EVENT_BRIDGE + ASYNC_FAILURE_DESTINATION).replace(
        "            DeadLetterConfig: {Type: SQS}\n", ""
    )
    assert synth_findings(sam(template)) == [
        "ServerlessPatterns-EventsTargetDLQ[FunctionOrdersLambdaTarget]"
    ]


def test_sam_function_without_a_log_group_is_reported() -> None:
    assert synth_findings(sam(NO_LOG_GROUP)) == ["ServerlessPatterns-LambdaLogRetention"]


def test_transformed_template_with_a_json_string_redrive_policy_does_not_throw() -> None:
    """aws-cdk-lib 2.275 cannot synthesize this template (aws/aws-cdk#29642: a typed L1 wants
    an object for a Json property), so the pack is run directly, as cdk-nag would."""
    template = sam(SQS_TRIGGERED.format(visibility=60))
    template["Resources"]["Queue"]["Properties"]["RedrivePolicy"] = json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dlq", "maxReceiveCount": 1}
    )
    app = new_app()
    include(Stack(app, "Sam"), template)
    report = ServerlessPatternsChecks().validate_scope(app)
    assert [(v.rule_name, v.description.startswith(THROWN)) for v in report.violations] == [
        ("ServerlessPatterns-SQSDeadLetterQueue", False)
    ]
