"""Templates nobody here wrote: load them with CfnInclude and run the pack over them."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import cloudformation_include as cfn_inc

from constructs import IConstruct
from serverless_patterns.checks import ServerlessPatternsChecks
from tests.checks.views import both_views

#: How cdk-nag 3.0.2 reports a rule that raised (NagPack.applyRule catches the error and
#: NagPack.addViolation writes this description, lib/nag-pack.js).
THROWN = "Rule threw an error during validation"


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    description: str


def include(
    stack: Stack, template: Mapping[str, Any] | str, construct_id: str = "Template"
) -> cfn_inc.CfnInclude:
    """Loads a template (a dict, or YAML text with short-form intrinsics) with CfnInclude."""
    suffix = ".yaml" if isinstance(template, str) else ".json"
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as handle:
        handle.write(template if isinstance(template, str) else json.dumps(template))
    return cfn_inc.CfnInclude(stack, construct_id, template_file=handle.name)


def pack_findings(scope: IConstruct) -> list[Finding]:
    """Every violation of the pack over ``scope``, as cdk-nag reports it: the same at synth
    and from the construct tree (``tests.checks.views``)."""
    return [
        Finding(v.rule, v.path, v.description)
        for v in both_views(ServerlessPatternsChecks(), scope)
    ]


def thrown(findings: list[Finding]) -> list[Finding]:
    """The findings that report a rule that raised."""
    return [f for f in findings if f.description.startswith(THROWN)]


def rules_of(findings: list[Finding]) -> set[str]:
    """The rule ids (``ServerlessPatterns-X``, ``[part]`` kept) of the findings."""
    return {f.rule for f in findings}


def with_value(
    template: Mapping[str, Any], path: tuple[str | int, ...], value: Any
) -> dict[str, Any]:
    """A copy of ``template`` with the value at ``path`` (from ``Resources``) replaced."""
    result = copy.deepcopy(dict(template))
    node: Any = result["Resources"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def compliant_template() -> dict[str, Any]:
    """A template every rule of the pack reads and accepts: a queue consumed by a function,
    an EventBridge rule and an SNS topic invoking it asynchronously, a bucket notifying it, a
    log group named with Fn::Sub, parameters, a condition and a mapping to refer to."""
    return {
        "Parameters": {
            "Name": {"Type": "String", "Default": "prod"},
            "Count": {"Type": "Number", "Default": "5"},
            "Token": {"Type": "String", "NoEcho": True, "Default": "x"},
        },
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Name"}, "prod"]}},
        "Mappings": {"Settings": {"prod": {"Value": "1"}}},
        "Resources": {
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "VisibilityTimeout": 65,
                    "RedrivePolicy": {"deadLetterTargetArn": _arn("Dlq"), "maxReceiveCount": 5},
                },
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "Consume",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                                        "Resource": _arn("Queue"),
                                    }
                                ],
                            },
                        }
                    ],
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.14",
                    "Handler": "index.handler",
                    "Role": _arn("Role"),
                    "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
                    "Timeout": 10,
                    "ReservedConcurrentExecutions": 5,
                    "Environment": {
                        "Variables": {"TABLE_NAME": "orders", "API_TOKEN": {"Ref": "Token"}}
                    },
                },
            },
            "FunctionLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/aws/lambda/${Function}"},
                    "RetentionInDays": 30,
                },
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Function"},
                    "EventSourceArn": _arn("Queue"),
                    "BatchSize": 10,
                    "MaximumBatchingWindowInSeconds": 5,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
            "Stream": {
                "Type": "AWS::Kinesis::Stream",
                "Properties": {
                    "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                    "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
                },
            },
            "StreamMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Function"},
                    "EventSourceArn": _arn("Stream"),
                    "StartingPosition": "TRIM_HORIZON",
                    "BatchSize": 100,
                    "MaximumRetryAttempts": 5,
                    "MaximumRecordAgeInSeconds": 3600,
                    "BisectBatchOnFunctionError": True,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "DestinationConfig": {"OnFailure": {"Destination": _arn("Dlq")}},
                },
            },
            "Workflow": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": _arn("Role"),
                    "DefinitionString": json.dumps(
                        {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
                    ),
                    "LoggingConfiguration": {
                        "Level": "ALL",
                        "Destinations": [
                            {"CloudWatchLogsLogGroup": {"LogGroupArn": _arn("FunctionLogs")}}
                        ],
                    },
                    "TracingConfiguration": {"Enabled": True},
                },
            },
            "InvokeConfig": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "Function"},
                    "Qualifier": "$LATEST",
                    "DestinationConfig": {"OnFailure": {"Destination": _arn("Dlq")}},
                },
            },
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {"source": ["orders"]},
                    "Targets": [
                        {
                            "Id": "Function",
                            "Arn": _arn("Function"),
                            "DeadLetterConfig": {"Arn": _arn("Dlq")},
                        }
                    ],
                },
            },
            "RulePermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": _arn("Function"),
                    "Principal": "events.amazonaws.com",
                    "SourceArn": _arn("Rule"),
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "Protocol": "lambda",
                    "Endpoint": _arn("Function"),
                    "TopicArn": {"Ref": "Topic"},
                    "FilterPolicy": {"type": ["order"]},
                },
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "NotificationConfiguration": {
                        "LambdaConfigurations": [
                            {"Event": "s3:ObjectCreated:*", "Function": _arn("Function")}
                        ]
                    }
                },
            },
        },
    }


#: Every property a rule of the pack reads in ``compliant_template`` (path from Resources).
READ_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("Queue", "Properties", "VisibilityTimeout"),
    ("Queue", "Properties", "RedrivePolicy"),
    ("Queue", "Properties", "RedrivePolicy", "maxReceiveCount"),
    ("Function", "Properties", "Timeout"),
    ("Function", "Properties", "Runtime"),
    ("Function", "Properties", "Role"),
    ("Function", "Properties", "ReservedConcurrentExecutions"),
    ("Function", "Properties", "Environment"),
    ("Function", "Properties", "Environment", "Variables"),
    ("Function", "Properties", "Environment", "Variables", "API_TOKEN"),
    ("Function", "Properties", "FunctionName"),
    ("Function", "Properties", "LoggingConfig"),
    ("Function", "Properties", "DeadLetterConfig"),
    ("FunctionLogs", "Properties", "LogGroupName"),
    ("FunctionLogs", "Properties", "RetentionInDays"),
    ("Mapping", "Properties", "FunctionName"),
    ("Mapping", "Properties", "EventSourceArn"),
    ("Mapping", "Properties", "BatchSize"),
    ("Mapping", "Properties", "MaximumBatchingWindowInSeconds"),
    ("Mapping", "Properties", "FunctionResponseTypes"),
    ("Mapping", "Properties", "FilterCriteria"),
    ("StreamMapping", "Properties", "EventSourceArn"),
    ("StreamMapping", "Properties", "MaximumRetryAttempts"),
    ("StreamMapping", "Properties", "MaximumRecordAgeInSeconds"),
    # BisectBatchOnFunctionError is read too, but CfnInclude cannot load a boolean given as an
    # intrinsic ("Expected 'true' or 'false' for boolean value"), so it has no case here.
    ("StreamMapping", "Properties", "FunctionResponseTypes"),
    ("StreamMapping", "Properties", "DestinationConfig"),
    ("StreamMapping", "Properties", "DestinationConfig", "OnFailure", "Destination"),
    ("Workflow", "Properties", "LoggingConfiguration"),
    ("Workflow", "Properties", "LoggingConfiguration", "Level"),
    ("Workflow", "Properties", "LoggingConfiguration", "Destinations"),
    ("Workflow", "Properties", "TracingConfiguration"),
    # TracingConfiguration.Enabled is read too; CfnInclude cannot load a boolean given as an
    # intrinsic, so it has no case here.
    ("Role", "Properties", "Policies"),
    ("Role", "Properties", "Policies", 0, "PolicyDocument"),
    ("Role", "Properties", "Policies", 0, "PolicyDocument", "Statement"),
    ("Role", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0, "Action"),
    ("Role", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0, "Resource"),
    ("InvokeConfig", "Properties", "FunctionName"),
    ("InvokeConfig", "Properties", "DestinationConfig"),
    ("InvokeConfig", "Properties", "DestinationConfig", "OnFailure"),
    ("InvokeConfig", "Properties", "DestinationConfig", "OnFailure", "Destination"),
    ("Rule", "Properties", "EventPattern"),
    ("Rule", "Properties", "Targets"),
    ("Rule", "Properties", "Targets", 0, "DeadLetterConfig"),
    ("Rule", "Properties", "Targets", 0, "DeadLetterConfig", "Arn"),
    ("RulePermission", "Properties", "FunctionName"),
    ("RulePermission", "Properties", "Principal"),
    ("Subscription", "Properties", "Endpoint"),
    ("Subscription", "Properties", "TopicArn"),
    ("Subscription", "Properties", "FilterPolicy"),
    ("Bucket", "Properties", "NotificationConfiguration"),
    ("Bucket", "Properties", "NotificationConfiguration", "LambdaConfigurations", 0, "Function"),
)

#: Values CloudFormation accepts whose value is known only at deploy time: a parameter, a
#: condition, an import, a mapping, a computed string. None of them may make a finding.
UNKNOWN_FORMS: dict[str, Any] = {
    "Ref parameter": {"Ref": "Name"},
    "Fn::Sub parameter": {"Fn::Sub": "${Name}"},
    "Fn::Sub variable map": {"Fn::Sub": ["${V}", {"V": {"Ref": "Name"}}]},
    "Fn::Join parameter": {"Fn::Join": ["", [{"Ref": "Name"}, "-x"]]},
    "Fn::If": {"Fn::If": ["IsProd", {"Ref": "Name"}, {"Ref": "Count"}]},
    "Fn::ImportValue": {"Fn::ImportValue": "shared-value"},
    "Fn::FindInMap": {"Fn::FindInMap": ["Settings", {"Ref": "Name"}, "Value"]},
    "Fn::Select": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "Name"}]}]},
}
