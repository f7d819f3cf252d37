"""ApprovalStep and ApprovalApi: the waitForTaskToken task, the Choice, and the two API modes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from serverless_patterns.constructs.workflow import Workflow
from serverless_patterns.constructs.workflow_approval import ApprovalApi, ApprovalStep
from serverless_patterns.runtime.workflows import callback


def _states(stack: Stack) -> dict[str, Any]:
    (machine,) = [
        resource["Properties"]
        for key, resource in Template.from_stack(stack)
        .find_resources("AWS::StepFunctions::StateMachine")
        .items()
        if "Redriver" not in key
    ]
    body = machine["DefinitionString"]
    if isinstance(body, dict):
        body = "".join(p if isinstance(p, str) else "X" for p in body["Fn::Join"][1])
    states: dict[str, Any] = json.loads(body)["States"]
    return states


def _flow(stack: Stack, **props: Any) -> Workflow:
    step = ApprovalStep(
        stack,
        "Review",
        on_approved=sfn.Pass(stack, "Approved"),
        on_rejected=sfn.Pass(stack, "Rejected"),
        **props,
    )
    return Workflow(stack, "Flow", definition=step, automatic_redrive=False)


def test_queue_request_waits_for_the_token_and_routes_through_a_choice(stack: Stack) -> None:
    _flow(stack, queue=sqs.Queue(stack, "Requests"))
    states = _states(stack)
    request = states["RequestApproval"]
    assert request["Resource"].endswith(":states:::sqs:sendMessage.waitForTaskToken")
    assert request["TimeoutSeconds"] == 24 * 3600
    assert request["Parameters"]["MessageBody"] == {
        "taskToken.$": "$$.Task.Token",
        "executionId.$": "$$.Execution.Id",
        "request.$": "$",
    }
    assert request["Catch"] == [
        {
            "ErrorEquals": ["ApprovalDenied", "States.Timeout"],
            "ResultPath": "$.approval",
            "Next": "Decision",
        }
    ]
    decision = states["Decision"]
    assert decision["Type"] == "Choice"
    assert [choice["Next"] for choice in decision["Choices"]] == ["Approved", "Rejected"]
    assert decision["Default"] == "Rejected"


def test_topic_request_and_timeout_branch(stack: Stack) -> None:
    ApprovalStep(
        stack,
        "Review",
        topic=sns.Topic(stack, "Requests"),
        on_approved=sfn.Pass(stack, "Approved"),
        on_rejected=sfn.Pass(stack, "Rejected"),
        on_timeout=sfn.Pass(stack, "Expired"),
        timeout=Duration.hours(2),
    )
    # the fragment's end states are every branch's end
    step = stack.node.find_child("Review")
    assert isinstance(step, ApprovalStep)
    assert sorted(state.state_id for state in step.end_states) == [  # type: ignore[attr-defined]
        "Approved",
        "Expired",
        "Rejected",
    ]
    Workflow(stack, "Flow", definition=step, automatic_redrive=False)
    states = _states(stack)
    assert states["RequestApproval"]["Resource"].endswith(":states:::sns:publish.waitForTaskToken")
    assert states["RequestApproval"]["TimeoutSeconds"] == 7200
    assert [c["Next"] for c in states["Decision"]["Choices"]] == ["Approved", "Expired"]


@pytest.mark.parametrize("both", [True, False])
def test_exactly_one_of_queue_or_topic(stack: Stack, both: bool) -> None:
    extra: dict[str, Any] = (
        {"queue": sqs.Queue(stack, "Q"), "topic": sns.Topic(stack, "T")} if both else {}
    )
    with pytest.raises(ValueError, match="Test/Review: pass exactly one of 'queue' or 'topic'"):
        ApprovalStep(
            stack,
            "Review",
            on_approved=sfn.Pass(stack, "A"),
            on_rejected=sfn.Pass(stack, "R"),
            **extra,
        )


def _api(stack: Stack, **props: Any) -> ApprovalApi:
    flow = _flow(stack, queue=sqs.Queue(stack, "Requests"))
    return ApprovalApi(stack, "Approvals", state_machines=[flow.state_machine], **props)


def _function_environment(stack: Stack) -> dict[str, Any]:
    for resource in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values():
        variables: dict[str, Any] = resource["Properties"]["Environment"]["Variables"]
        if callback.MODE_ENV in variables:
            return variables
    raise AssertionError("no callback function")


def test_iam_mode_by_default(stack: Stack) -> None:
    api = _api(stack)
    api.grant_invoke(iam.User(stack, "Approver"))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGateway::Method", {"HttpMethod": "POST", "AuthorizationType": "AWS_IAM"}
    )
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    assert _function_environment(stack) == {callback.MODE_ENV: callback.IAM_MODE}
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["states:SendTaskFailure", "states:SendTaskSuccess"],
                                "Resource": {"Ref": Match.string_like_regexp("FlowStateMachine")},
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {"Statement": [Match.object_like({"Action": "execute-api:Invoke"})]},
            "Users": [{"Ref": Match.string_like_regexp("Approver")}],
        },
    )


def test_signed_links_mode(stack: Stack) -> None:
    _api(stack, signed_links=True, max_link_lifetime=Duration.days(2))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "GET",
            "AuthorizationType": "NONE",
            "RequestParameters": {
                f"method.request.querystring.{name}": True
                for name in ("token", "decision", "expires", "signature")
            },
        },
    )
    template.resource_count_is("AWS::SecretsManager::Secret", 1)
    environment = _function_environment(stack)
    assert environment[callback.MODE_ENV] == callback.LINK_MODE
    assert environment[callback.MAX_LINK_LIFETIME_ENV] == str(2 * 24 * 3600)
    assert callback.SECRET_ARN_ENV in environment


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_link_lifetime": Duration.days(1)}, "max_link_lifetime applies to signed links"),
        ({"signed_links": True, "max_link_lifetime": Duration.seconds(10)}, "between 60"),
    ],
)
def test_bad_api_props_raise(stack: Stack, props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="Test/Approvals") as raised:
        _api(stack, **props)
    assert message in str(raised.value)


def test_no_state_machine_raises(stack: Stack) -> None:
    with pytest.raises(ValueError, match="Test/Approvals: pass at least one state machine"):
        ApprovalApi(stack, "Approvals", state_machines=[])


@pytest.mark.parametrize("signed_links", [False, True])
def test_both_modes_are_clean_under_every_pack_with_a_key(stack: Stack, signed_links: bool) -> None:
    from serverless_patterns.checks import ServerlessPatternsChecks
    from serverless_patterns.constructs._encryption import customer_managed_key
    from tests.conftest import nag_findings
    from tests.nag.test_nag import ALL_PACKS

    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "Machine", "arn:aws:states:eu-west-1:123456789012:stateMachine:Orders"
    )
    key = customer_managed_key(stack, "Key", description="test")
    ApprovalApi(
        stack,
        "Approvals",
        state_machines=[machine],
        signed_links=signed_links,
        encryption_key=key,
        web_acl_arn="arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/acl/1",
    )
    found = [
        finding
        for pack in ALL_PACKS
        for finding in nag_findings(
            ServerlessPatternsChecks() if pack is ServerlessPatternsChecks else pack(stack),
            stack,
        )
    ]
    assert found == []
