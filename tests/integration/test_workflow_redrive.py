"""Automatic redrive: the rule's pattern and the redriver's synthesized definition, on moto.

moto does not implement RedriveExecution (it answers 500), so the redriver's
``aws-sdk:sfn:redriveExecution`` call is stubbed at the botocore level: the moto interpreter runs
in this process (``ThreadedMotoServer``) and calls the integration through a boto3 client, whose
``RedriveExecution`` call is recorded and answered here. The events are "Step Functions
Execution Status Change" events shaped as in "Automating Step Functions event delivery with
EventBridge" (detail fields ``executionArn``, ``stateMachineArn``, ``status``,
``redriveCount``, ``redriveStatus``).
"""

from __future__ import annotations

import copy
import datetime
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from botocore.client import BaseClient
from moto.events.models import EventPattern

from tests.integration.test_workflow_execution import (
    ROLE_ARN,
    executing_moto,  # noqa: F401  (fixture)
    resolve,
    state_machine_definitions,
)

WORKFLOW_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderReview"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:OrderReview:e-1"
CAP = 2
DELAY_SECONDS = 2


def status_change(
    status: str = "FAILED", redrive_count: int = 0, redrive_status: str = "REDRIVABLE"
) -> dict[str, Any]:
    """A recorded "Step Functions Execution Status Change" event."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [EXECUTION_ARN],
        "detail": {
            "executionArn": EXECUTION_ARN,
            "stateMachineArn": WORKFLOW_ARN,
            "name": "e-1",
            "status": status,
            "startDate": 1767225600000,
            "stopDate": 1767225660000,
            "input": "{}",
            "output": None,
            "redriveCount": redrive_count,
            "redriveDate": None,
            "redriveStatus": redrive_status,
            "redriveStatusReason": None,
        },
    }


@pytest.fixture(scope="module")
def redrive_template() -> dict[str, Any]:
    from aws_cdk import Duration, Stack
    from aws_cdk import aws_stepfunctions as sfn

    from serverless_patterns.constructs.workflow import Workflow
    from serverless_patterns.constructs.workflow_redrive import RedriveOptions
    from tests.conftest import new_app

    app = new_app()
    stack = Stack(app, "Redrive")
    Workflow(
        stack,
        "OrderReview",
        definition=sfn.Pass(stack, "Work"),
        redrive=RedriveOptions(delay=Duration.seconds(DELAY_SECONDS), max_redrives=CAP),
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("Redrive").template
    return template


@pytest.fixture
def redrive_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """RedriveExecution calls made by any botocore client, answered as AWS does."""
    calls: list[dict[str, Any]] = []
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "RedriveExecution":
            calls.append({"at": time.monotonic(), **api_params})
            return {"redriveDate": datetime.datetime.now(datetime.UTC)}
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


@pytest.fixture
def redriver(
    redrive_template: dict[str, Any],
    executing_moto: str,  # noqa: F811
    aws_client: Callable[[str], Any],
) -> Iterator[Callable[[Mapping[str, Any]], dict[str, Any]]]:
    """Runs the synthesized redriver on one event; returns the finished execution."""
    client = aws_client("stepfunctions")
    (definition,) = [
        value
        for key, value in state_machine_definitions(redrive_template).items()
        if "Redriver" in key
    ]
    machine = client.create_state_machine(
        name=f"redriver-{uuid.uuid4().hex[:8]}",
        definition=resolve(definition, {"AWS::Partition": "aws"}),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]

    def run(event: Mapping[str, Any]) -> dict[str, Any]:
        execution = client.start_execution(stateMachineArn=machine, input=json.dumps(event))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described: dict[str, Any] = client.describe_execution(
                executionArn=execution["executionArn"]
            )
            if described["status"] != "RUNNING":
                described["started"] = execution["startDate"]
                return described
            time.sleep(0.2)
        raise AssertionError("the redriver is still running")

    yield run


@pytest.mark.parametrize("redrive_count", [0, CAP - 1])
def test_below_the_cap_it_waits_then_redrives(
    redriver: Callable[[Mapping[str, Any]], dict[str, Any]],
    redrive_calls: list[dict[str, Any]],
    redrive_count: int,
) -> None:
    started = time.monotonic()
    described = redriver(status_change(redrive_count=redrive_count))
    assert described["status"] == "SUCCEEDED"
    # The interpreter passes the ASL parameter names (PascalCase, as the aws-sdk integrations take).
    assert [call["ExecutionArn"] for call in redrive_calls] == [EXECUTION_ARN]
    assert redrive_calls[0]["at"] - started >= DELAY_SECONDS - 0.5


@pytest.mark.parametrize("redrive_count", [CAP, CAP + 5])
def test_at_the_cap_it_alerts_instead(
    redriver: Callable[[Mapping[str, Any]], dict[str, Any]],
    redrive_calls: list[dict[str, Any]],
    redrive_count: int,
) -> None:
    described = redriver(status_change(redrive_count=redrive_count))
    # Failing is the alert: the RedriveFailed alarm watches the redriver's ExecutionsFailed.
    assert described["status"] == "FAILED"
    assert described.get("error") == "RedriveCapReached"
    assert redrive_calls == []


def test_the_rule_matches_redrivable_failures_of_its_workflow_only(
    redrive_template: dict[str, Any],
) -> None:
    (rule,) = [
        resource["Properties"]
        for resource in redrive_template["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule"
    ]
    (workflow_id,) = [
        key
        for key, resource in redrive_template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and "Redriver" not in key
    ]
    pattern = copy.deepcopy(rule["EventPattern"])
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": workflow_id}]
    pattern["detail"]["stateMachineArn"] = [WORKFLOW_ARN]

    def matches(event: Mapping[str, Any]) -> bool:
        # moto's EventBridge pattern matcher (its TestEventPattern answer has no Result).
        return bool(EventPattern.load(json.dumps(pattern)).matches_event(dict(event)))  # type: ignore[arg-type]

    for status in ("FAILED", "TIMED_OUT", "ABORTED"):
        assert matches(status_change(status))
    assert not matches(status_change("SUCCEEDED"))
    assert not matches(status_change("RUNNING"))
    assert not matches(status_change(redrive_status="NOT_REDRIVABLE"))
    other = status_change()
    other["detail"]["stateMachineArn"] = WORKFLOW_ARN.replace("OrderReview", "Other")
    assert not matches(other)
    # The cap is the redriver's decision, not the rule's: a capped failure still reaches it.
    assert matches(status_change(redrive_count=CAP + 1))
