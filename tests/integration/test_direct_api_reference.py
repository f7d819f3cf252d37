"""The reference stack's own DirectApi routes, replayed to moto as API Gateway would send them.

The request templates and integration URIs are read from the synthesized
``ServerlessPatterns-DirectApi`` template and resolved the way CloudFormation would for
resources of those names (``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Split``,
``Fn::Select``, CloudFormation User Guide "Intrinsic function reference"). The service and
the path or action come from the URI (``arn:aws:apigateway:<region>:<service>:path/<path>`` or
``...:action/<action>``, API Gateway's ``Integration.uri``), so the URI is tested too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template

from serverless_patterns.stacks.direct_api_stack import DirectApiStack
from tests.conftest import new_app
from tests.integration.direct_vtl import Input, ServiceCall, render, send_signed
from tests.moto_fixtures import AWS_REGION
from tests.unit.intrinsics import evaluate

ACCOUNT = "123456789012"
#: JSON protocol target prefixes (each service's API reference, "Making API requests").
TARGET_PREFIXES = {
    "events": ("AWSEvents", "application/x-amz-json-1.1"),
    "dynamodb": ("DynamoDB_20120810", "application/x-amz-json-1.0"),
    "states": ("AWSStepFunctions", "application/x-amz-json-1.0"),
}
#: A body with every character class a template must carry.
BODY: dict[str, Any] = {
    "orderId": f"o-{uuid.uuid4()}",
    "customer": 'Zoë "the \\ tester" O\'Brien\n</script>\u2028😀',
    "total": 12.5,
    "gift": True,
}


def resolve(value: Any, refs: Mapping[str, Any]) -> Any:
    """A template value evaluated by ``tests.unit.intrinsics.evaluate``, with each
    ``Fn::GetAtt`` read as a ``Ref`` of ``"Id.Attribute"``."""
    return evaluate(_get_att_as_ref(value), refs)


def _get_att_as_ref(value: Any) -> Any:
    if isinstance(value, list):
        return [_get_att_as_ref(item) for item in value]
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return {"Ref": ".".join(value["Fn::GetAtt"])}
        return {key: _get_att_as_ref(item) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def routes(aws_client: Any) -> dict[str, tuple[ServiceCall, str, str]]:
    """(how to send, request template, success response template) per HTTP method and path
    part, with every resource of the stack created in moto under the name it resolves to."""
    stack = DirectApiStack(new_app(), "ServerlessPatterns-DirectApi")
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    refs: dict[str, Any] = {"AWS::Partition": "aws", "AWS::Region": AWS_REGION}
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind == "AWS::SQS::Queue":
            url = aws_client("sqs").create_queue(QueueName=f"ref-{logical_id}")["QueueUrl"]
            refs[logical_id] = url
            refs[f"{logical_id}.QueueName"] = f"ref-{logical_id}"
            refs[f"{logical_id}.Arn"] = f"arn:aws:sqs:{AWS_REGION}:{ACCOUNT}:ref-{logical_id}"
        elif kind == "AWS::Events::EventBus":
            arn = aws_client("events").create_event_bus(Name=f"ref-{logical_id}")["EventBusArn"]
            refs[f"{logical_id}.Arn"] = arn
        elif kind == "AWS::DynamoDB::Table":
            aws_client("dynamodb").create_table(
                TableName=f"ref-{logical_id}",
                KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            refs[logical_id] = f"ref-{logical_id}"
        elif kind == "AWS::StepFunctions::StateMachine":
            refs[logical_id] = aws_client("stepfunctions").create_state_machine(
                name=f"ref-{logical_id}",
                type="EXPRESS",
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/machine",
                definition=json.dumps(
                    {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
                ),
            )["stateMachineArn"]
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        props = resource["Properties"]
        integration = props["Integration"]
        uri = resolve(integration["Uri"], refs)
        service, target = uri.split(":", 5)[4:]
        kind, rest = target.split("/", 1)
        headers = integration.get("RequestParameters", {})
        if kind == "path":
            content_type = headers["integration.request.header.Content-Type"].strip("'")
            call = ServiceCall(service, rest, content_type)
        else:
            prefix, content_type = TARGET_PREFIXES[service]
            call = ServiceCall(service, "", content_type, f"{prefix}.{rest}")
        request = resolve(integration["RequestTemplates"]["application/json"], refs)
        response = integration["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
        found[f"{props['HttpMethod']} {logical_id}"] = (call, request, response)
    return found


def route(routes: Mapping[str, Any], method: str, service: str, action: str = "") -> Any:
    [match] = [
        value
        for key, value in routes.items()
        if key.startswith(method)
        and value[0].signing_name == service
        and (value[0].target or "").endswith(action)
    ]
    return match


def test_every_reference_route_is_replayed(routes: Mapping[str, Any]) -> None:
    assert len(routes) == 5


def test_queued_order_arrives_as_sent(routes: Any, moto_endpoint: str, sqs: Any) -> None:
    call, request, _ = route(routes, "POST", "sqs")
    body = json.dumps(BODY, ensure_ascii=False)
    status, answer = send_signed(moto_endpoint, call, render(request, Input(body)).text, AWS_REGION)
    assert status == 200, answer
    queue_url = sqs.get_queue_url(QueueName=call.path.split("/")[1])["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == body


def test_order_event_is_accepted(routes: Any, moto_endpoint: str) -> None:
    call, request, response = route(routes, "POST", "events", "PutEvents")
    rendering = render(request, Input(json.dumps(BODY)))
    status, answer = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200, answer
    answered = render(response, Input(answer))
    assert answered.status is None
    assert json.loads(answered.text)["eventId"] == json.loads(answer)["Entries"][0]["EventId"]


def test_order_is_stored_then_read_back_then_refused_as_a_duplicate(
    routes: Any, moto_endpoint: str
) -> None:
    put_call, put_request, put_response = route(routes, "POST", "dynamodb", "PutItem")
    get_call, get_request, get_response = route(routes, "GET", "dynamodb", "GetItem")
    body = json.dumps(BODY)
    status, answer = send_signed(
        moto_endpoint, put_call, render(put_request, Input(body)).text, AWS_REGION
    )
    assert status == 200, answer
    assert json.loads(render(put_response, Input(answer)).text) == {"created": True}
    get = render(get_request, Input("", parameters={"orderId": BODY["orderId"]})).text
    status, answer = send_signed(moto_endpoint, get_call, get, AWS_REGION)
    assert status == 200, answer
    assert json.loads(render(get_response, Input(answer)).text) == BODY
    status, answer = send_signed(
        moto_endpoint, put_call, render(put_request, Input(body)).text, AWS_REGION
    )
    assert status == 400


def test_quote_input_arrives_as_sent(routes: Any, moto_endpoint: str, aws_client: Any) -> None:
    call, request, _ = route(routes, "POST", "states", "StartSyncExecution")
    # moto's server has no StartSyncExecution; StartExecution takes the same members.
    call = ServiceCall(call.signing_name, "", call.content_type, "AWSStepFunctions.StartExecution")
    rendering = render(request, Input(json.dumps(BODY)), str(uuid.uuid4()))
    status, answer = send_signed(moto_endpoint, call, rendering.text, AWS_REGION)
    assert status == 200, answer
    described = aws_client("stepfunctions").describe_execution(
        executionArn=json.loads(answer)["executionArn"]
    )
    assert json.loads(described["input"]) == BODY
