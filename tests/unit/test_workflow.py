"""Workflow and WorkflowRedrive: defaults, options, validation and the catch-all warning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from hypothesis import given
from hypothesis import strategies as st

from serverless_patterns.constructs._workflow_catches import blocking_catches
from serverless_patterns.constructs.workflow import (
    CATCH_ALL_TO_FAIL_WARNING,
    Workflow,
    WorkflowAlarms,
)
from serverless_patterns.constructs.workflow_redrive import RedriveOptions


def machines(template: Template) -> dict[str, dict[str, Any]]:
    """State machine properties by type: ``{"STANDARD": ..., "EXPRESS": ...}`` (a Standard
    redriver is listed under ``REDRIVER``)."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.find_resources("AWS::StepFunctions::StateMachine").items():
        key = "REDRIVER" if "Redriver" in logical_id else "WORKFLOW"
        found[key] = resource["Properties"]
    return found


def definition(props: dict[str, Any]) -> dict[str, Any]:
    """The definition, with every ``{"Ref": "AWS::Partition"}`` written as ``aws``."""
    body = props["DefinitionString"]
    if isinstance(body, dict):
        body = "".join(part if isinstance(part, str) else "aws" for part in body["Fn::Join"][1])
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def workflow(stack: Stack, **props: Any) -> Workflow:
    return Workflow(stack, "Orders", definition=sfn.Pass(stack, "Work"), **props)


def test_defaults(stack: Stack) -> None:
    workflow(stack)
    template = Template.from_stack(stack)
    props = machines(template)["WORKFLOW"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert definition(props)["TimeoutSeconds"] == 7 * 24 * 3600
    assert "EncryptionConfiguration" not in props
    template.resource_properties_count_is(
        "AWS::Logs::LogGroup", {"RetentionInDays": 30}, 2
    )  # the workflow's and the redriver's
    names = {
        alarm["Properties"]["MetricName"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert names == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionThrottled",
        "ApproximateNumberOfMessagesVisible",
    }


def test_the_role_has_only_log_delivery_and_tracing_for_a_pass_state(stack: Stack) -> None:
    Workflow(stack, "Orders", definition=sfn.Pass(stack, "Work"), automatic_redrive=False)
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    actions = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }
    assert {action.split(":")[0] for action in actions} == {"logs", "xray"}


def test_a_customer_managed_key_encrypts_state_and_logs(stack: Stack) -> None:
    key = kms.Key(stack, "Key")
    workflow(stack, encryption_key=key, automatic_redrive=False)
    template = Template.from_stack(stack)
    props = machines(template)["WORKFLOW"]
    assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "logs.eu-west-1.amazonaws.com"}})]
                )
            }
        },
    )


def test_the_redrive_rule_and_redriver(stack: Stack) -> None:
    flow = workflow(stack)
    template = Template.from_stack(stack)
    machine_id = stack.resolve(flow.state_machine.state_machine_arn)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "stateMachineArn": [machine_id],
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    "redriveStatus": ["REDRIVABLE"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": Match.any_value(),
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": 86400,
                            "MaximumRetryAttempts": 185,
                        },
                    }
                )
            ],
        },
    )
    redriver = machines(template)["REDRIVER"]
    assert redriver["StateMachineType"] == "EXPRESS"
    states = definition(redriver)["States"]
    assert states["Delay"]["Seconds"] == 60
    assert states["BelowCap"]["Choices"][0]["NumericLessThan"] == 3
    assert states["RedriveExecution"]["Resource"] == (
        "arn:aws:states:::aws-sdk:sfn:redriveExecution"
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": "states:RedriveExecution", "Resource": Match.any_value()}
                        )
                    ]
                )
            }
        },
    )


def test_a_long_delay_makes_a_standard_redriver_and_the_alert_topic_is_published(
    stack: Stack,
) -> None:
    topic = sns.Topic(stack, "Ops")
    workflow(
        stack,
        redrive=RedriveOptions(delay=Duration.minutes(5), max_redrives=1, alert_topic=topic),
    )
    redriver = machines(Template.from_stack(stack))["REDRIVER"]
    assert redriver["StateMachineType"] == "STANDARD"
    states = definition(redriver)["States"]
    assert states["Delay"]["Seconds"] == 300
    assert states["BelowCap"]["Default"] == "Alert"
    assert states["Alert"]["Next"] == "CapReached"


def test_without_redrive_no_rule(stack: Stack) -> None:
    flow = workflow(stack, automatic_redrive=False)
    assert flow.redrive is None
    Template.from_stack(stack).resource_count_is("AWS::Events::Rule", 0)


def test_alarms_can_be_turned_off(stack: Stack) -> None:
    flow = workflow(
        stack,
        automatic_redrive=False,
        alarms=WorkflowAlarms(failed=1, timed_out=None, aborted=None, throttled=None),
    )
    assert len(flow.alarms) == 1


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"automatic_redrive": False, "redrive": RedriveOptions()}, "automatic_redrive=False"),
        ({"timeout": Duration.millis(1500)}, "timeout must be a whole number of seconds"),
        ({"timeout": Duration.days(366)}, "timeout (seconds) must be between"),
        ({"redrive": RedriveOptions(delay=Duration.days(2))}, "delay (seconds) must be between"),
        ({"redrive": RedriveOptions(max_redrives=1001)}, "max_redrives must be between"),
        ({"redrive": RedriveOptions(max_redrives=-1)}, "got -1"),
    ],
)
def test_bad_props_raise_naming_the_path(stack: Stack, props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"Test/Orders") as raised:
        workflow(stack, **props)
    assert message in str(raised.value)


def _warnings(stack: Stack) -> list[Any]:
    return Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp(CATCH_ALL_TO_FAIL_WARNING)
    )


def test_catch_all_to_fail_warns(stack: Stack) -> None:
    task = sfn.Pass(stack, "Work")
    parallel = sfn.Parallel(stack, "Steps").branch(task)
    parallel.add_catch(sfn.Fail(stack, "Failed"))
    Workflow(stack, "Orders", definition=parallel, automatic_redrive=False)
    assert len(_warnings(stack)) == 1


def test_specific_catch_or_catch_all_to_recovery_does_not_warn(stack: Stack) -> None:
    parallel = sfn.Parallel(stack, "Steps").branch(sfn.Pass(stack, "Work"))
    parallel.add_catch(sfn.Fail(stack, "Failed"), errors=["Orders.Invalid"])
    parallel.add_catch(sfn.Pass(stack, "Compensate"))
    Workflow(stack, "Orders", definition=parallel, automatic_redrive=False)
    assert _warnings(stack) == []


def test_nested_catch_all_to_fail_through_a_pass_is_found() -> None:
    states = {
        "Outer": {
            "Type": "Parallel",
            "Branches": [
                {
                    "States": {
                        "Task": {
                            "Type": "Task",
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Note"}],
                        },
                        "Note": {"Type": "Pass", "Next": "Stop"},
                        "Stop": {"Type": "Fail"},
                    }
                }
            ],
        }
    }
    assert blocking_catches(states) == ["Task -> Stop"]


@given(
    passes=st.integers(min_value=0, max_value=5),
    end=st.sampled_from(["Fail", "Succeed", "Task"]),
    errors=st.sampled_from([["States.ALL"], ["States.Timeout"], ["A", "States.ALL"]]),
    loop=st.booleans(),
)
def test_blocking_catches_follows_pass_chains(
    passes: int, end: str, errors: list[str], loop: bool
) -> None:
    states: dict[str, Any] = {
        "Start": {"Type": "Task", "Catch": [{"ErrorEquals": errors, "Next": "P0"}]}
    }
    for index in range(passes):
        states[f"P{index}"] = {"Type": "Pass", "Next": f"P{index + 1}"}
    last = f"P{passes}"
    states[last] = {"Type": end}
    if loop and passes:
        states[f"P{passes - 1}"]["Next"] = "P0"  # a Pass cycle never reaches the end
    expected = (
        [f"Start -> {last}"]
        if end == "Fail" and "States.ALL" in errors and not (loop and passes)
        else []
    )
    assert blocking_catches(states) == expected


def test_with_a_key_the_rule_role_may_start_the_encrypted_redriver(stack: Stack) -> None:
    key = kms.Key(stack, "Key")
    flow = workflow(stack, encryption_key=key)
    assert flow.redrive is not None
    role_id = stack.resolve(flow.redrive.rule_role.role_name)["Ref"]
    policies = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    actions = sorted(
        str(statement["Action"]) for statements in policies for statement in statements
    )
    assert actions == sorted(["states:StartExecution", str(["kms:Decrypt", "kms:GenerateDataKey"])])
