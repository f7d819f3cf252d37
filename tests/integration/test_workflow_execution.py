"""The order-review workflow's synthesized definition, run on moto's Step Functions interpreter.

The definition is taken from the reference stack's template and its substitutions resolved to
the moto resources (table name, queue URL, partition). moto runs it when its config endpoint
enables ``stepfunctions.execute_state_machine``; its interpreter calls the service integrations
(DynamoDB putItem/updateItem, ``sqs:sendMessage.waitForTaskToken``, EventBridge putEvents)
through the moto server on ``MOTO_PORT``. Paths run: approve, deny, timeout, a failing task.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from serverless_patterns.runtime.workflows.approval import ApprovalDecider, Decision

ROLE_ARN = "arn:aws:iam::123456789012:role/workflow"
ACCOUNT = "123456789012"


def resolve(value: Any, refs: Mapping[str, str]) -> Any:
    """Resolves Fn::Join, Ref and Fn::GetAtt of ``value`` with ``refs`` (``Ref`` ids and
    ``Id.Attribute`` keys)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::Join":
            separator, parts = argument
            return str(separator).join(str(resolve(part, refs)) for part in parts)
        if key == "Ref":
            return refs[argument]
        if key == "Fn::GetAtt":
            return refs[".".join(argument)]
    return value


def state_machine_definitions(template: Mapping[str, Any]) -> dict[str, Any]:
    """Each state machine's ``DefinitionString`` (unresolved), by logical id."""
    return {
        logical_id: resource["Properties"]["DefinitionString"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    }


def logical_id(template: Mapping[str, Any], resource_type: str, prefix: str) -> str:
    (found,) = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
        and name.startswith(prefix)
        and not name.startswith(prefix + "Dlq")
    ]
    return str(found)


@pytest.fixture(scope="module")
def workflow_template() -> dict[str, Any]:
    from aws_cdk import Stack

    from serverless_patterns.stacks.workflow_stack import WorkflowStack
    from tests.conftest import new_app

    app = new_app()
    stack: Stack = WorkflowStack(app, "ServerlessPatterns-Workflow")
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


@pytest.fixture(scope="module")
def executing_moto(moto_endpoint: str) -> Iterator[str]:
    """The moto server with state machine execution on, and MOTO_PORT pointing at it."""
    port = str(urlparse(moto_endpoint).port)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_PORT", port)
        response = requests.post(
            f"{moto_endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        )
        response.raise_for_status()
        yield moto_endpoint


class OrderReview:
    """The reference workflow created on moto, with its table and approval queue."""

    def __init__(self, template: Mapping[str, Any], aws_client: Callable[[str], Any]) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.dynamodb = aws_client("dynamodb")
        self.sqs = aws_client("sqs")
        self.sfn = aws_client("stepfunctions")
        self.table = f"orders-{suffix}"
        self.dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.queue_url = self.sqs.create_queue(QueueName=f"approvals-{suffix}")["QueueUrl"]
        refs = {
            "AWS::Partition": "aws",
            "AWS::Region": "us-east-1",
            "AWS::AccountId": ACCOUNT,
            logical_id(template, "AWS::DynamoDB::Table", "Orders"): self.table,
            logical_id(template, "AWS::SQS::Queue", "ApprovalRequests"): self.queue_url,
        }
        machine = logical_id(
            template, "AWS::StepFunctions::StateMachine", "OrderReviewStateMachine"
        )
        self.definition: dict[str, Any] = json.loads(
            resolve(state_machine_definitions(template)[machine], refs)
        )

    def create(self, definition: Mapping[str, Any] | None = None) -> str:
        return str(
            self.sfn.create_state_machine(
                name=f"order-review-{uuid.uuid4().hex[:8]}",
                definition=json.dumps(definition or self.definition),
                roleArn=ROLE_ARN,
            )["stateMachineArn"]
        )

    def start(self, machine: str, order_id: str) -> str:
        return str(
            self.sfn.start_execution(
                stateMachineArn=machine, input=json.dumps({"order_id": order_id, "total": 42})
            )["executionArn"]
        )

    def approval_request(self) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=1
            ).get("Messages", [])
            if messages:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"]
                )
                body: dict[str, Any] = json.loads(messages[0]["Body"])
                return body
        raise AssertionError("no approval request reached the queue")

    def finished(self, execution: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.2)
        raise AssertionError(f"{execution} still running")

    def status(self, order_id: str) -> str | None:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={"order_id": {"S": order_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["status"]["S"])

    def states_entered(self, execution: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in events
            if "stateEnteredEventDetails" in event
        ]


@pytest.fixture
def review(
    workflow_template: dict[str, Any], executing_moto: str, aws_client: Callable[[str], Any]
) -> OrderReview:
    return OrderReview(workflow_template, aws_client)


def _decide(review: OrderReview, token: str, decision: str) -> None:
    ApprovalDecider(review.sfn).decide(
        Decision(token=token, decision=decision, approver="arn:aws:iam::123456789012:user/ann")
    )


def test_approve_runs_put_item_wait_for_token_and_completes(review: OrderReview) -> None:
    machine = review.create()
    execution = review.start(machine, "o-approve")
    request = review.approval_request()
    assert request["request"] == {"order_id": "o-approve", "total": 42}
    assert request["executionId"] == execution
    assert review.status("o-approve") == "PENDING_REVIEW"  # the putItem task ran
    _decide(review, request["taskToken"], "approve")
    described = review.finished(execution)
    assert described["status"] == "SUCCEEDED"
    assert review.status("o-approve") == "APPROVED"
    entered = review.states_entered(execution)
    assert entered[-3:] == ["Decision", "MarkApproved", "AnnounceApproval"]
    assert json.loads(described["output"])["approval"]["decision"] == "approve"


def test_deny_routes_through_the_choice_to_rejected(review: OrderReview) -> None:
    machine = review.create()
    execution = review.start(machine, "o-deny")
    _decide(review, review.approval_request()["taskToken"], "deny")
    assert review.finished(execution)["status"] == "SUCCEEDED"
    assert review.status("o-deny") == "REJECTED"
    assert review.states_entered(execution)[-2:] == ["Decision", "MarkRejected"]


def test_unanswered_request_times_out_to_expired(review: OrderReview) -> None:
    # The synthesized definition with the approval's 24-hour TimeoutSeconds shortened to 1 s.
    definition = json.loads(json.dumps(review.definition))
    assert definition["States"]["RequestApproval"]["TimeoutSeconds"] == 24 * 3600
    definition["States"]["RequestApproval"]["TimeoutSeconds"] = 1
    execution = review.start(review.create(definition), "o-timeout")
    assert review.finished(execution)["status"] == "SUCCEEDED"
    assert review.status("o-timeout") == "EXPIRED"
    assert review.states_entered(execution)[-2:] == ["Decision", "MarkExpired"]


def test_a_failing_task_fails_the_execution_unhandled(review: OrderReview) -> None:
    # The table does not exist: putItem fails, and nothing catches it, so the execution fails
    # with the task's error (what makes it redrivable).
    review.dynamodb.delete_table(TableName=review.table)
    execution = review.start(review.create(), "o-fail")
    described = review.finished(execution)
    assert described["status"] == "FAILED"
    assert review.states_entered(execution) == ["RecordOrder"]
    assert described.get("error") != "States.Runtime"


def test_a_signed_link_through_the_callback_handler_approves_on_moto(
    review: OrderReview, aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole approval path: the token from the queue, a signed link, the callback router
    built from its environment (secret read from Secrets Manager), SendTaskSuccess on moto."""
    from urllib.parse import parse_qsl, urlsplit

    from serverless_patterns.runtime.workflows import callback
    from serverless_patterns.runtime.workflows.approval import approval_link
    from tests.runtime.api_events import proxy_event

    secret = "link-signing-secret"
    arn = aws_client("secretsmanager").create_secret(
        Name=f"approval-links-{uuid.uuid4().hex[:8]}", SecretString=secret
    )["ARN"]
    monkeypatch.setenv(callback.MODE_ENV, callback.LINK_MODE)
    monkeypatch.setenv(callback.SECRET_ARN_ENV, arn)
    monkeypatch.setenv(callback.MAX_LINK_LIFETIME_ENV, "3600")
    router = callback.router_from_environment()

    execution = review.start(review.create(), "o-link")
    token = review.approval_request()["taskToken"]

    def get(
        signed: str, *, key: str = secret, changes: dict[str, str] | None = None
    ) -> dict[str, Any]:
        url = approval_link(
            "https://example/prod/approvals/link",
            key,
            token,
            signed,
            expires=int(time.time()) + 600,
        )
        query = {**dict(parse_qsl(urlsplit(url).query)), **(changes or {})}
        return router.handler(
            proxy_event("GET", callback.LINK_PATH, query={k: [v] for k, v in query.items()})
        )

    assert get("deny", changes={"decision": "approve"})["statusCode"] == 403  # tampered
    assert get("approve", key="another-secret")["statusCode"] == 403
    assert review.sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    response = get("approve")
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"status": "approved"})
    assert review.finished(execution)["status"] == "SUCCEEDED"
    assert review.status("o-link") == "APPROVED"
