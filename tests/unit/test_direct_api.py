"""DirectApi: one-action roles, IAM auth, validation; response templates on recorded answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from hypothesis import given
from hypothesis import strategies as st

from serverless_patterns.constructs import DirectApi, FieldType
from serverless_patterns.constructs import _direct_templates as templates
from tests.integration.direct_vtl import Input, render

FIELDS = {"id": FieldType.STRING, "total": FieldType.NUMBER}


def api_with_routes(stack: Stack) -> DirectApi:
    api = DirectApi(stack, "Api", cloud_watch_role=False)
    api.add_send_message("Send", path="queue", queue=sqs.Queue(stack, "Queue"))
    api.add_put_events(
        "Put", path="events", event_bus=events.EventBus(stack, "Bus"), source="s", detail_type="d"
    )
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    )
    api.add_put_item("Write", path="items", table=table, key="id", fields=FIELDS)
    api.add_get_item("Read", path="items", table=table, key="id", fields=FIELDS)
    return api


def test_each_route_role_may_call_exactly_one_action_on_one_resource(stack: Stack) -> None:
    api_with_routes(stack)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    actions = sorted(
        statement["Action"]
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    )
    assert actions == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "events:PutEvents",
        "sqs:SendMessage",
    ]
    for policy in policies.values():
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Resource"] != "*"


def test_every_method_uses_iam_auth_a_validator_and_refuses_non_json(stack: Stack) -> None:
    api_with_routes(stack)
    methods = Template.from_stack(stack).find_resources("AWS::ApiGateway::Method")
    assert len(methods) == 4
    for method in methods.values():
        props = method["Properties"]
        assert props["AuthorizationType"] == "AWS_IAM"
        assert "RequestValidatorId" in props
        assert props["Integration"]["PassthroughBehavior"] == "NEVER"


def test_put_item_model_requires_every_typed_field_and_no_other(stack: Stack) -> None:
    api_with_routes(stack)
    models = Template.from_stack(stack).find_resources("AWS::ApiGateway::Model")
    schemas = [m["Properties"]["Schema"] for m in models.values()]
    assert {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["id", "total"],
        "additionalProperties": False,
        "properties": {"id": {"type": "string", "minLength": 1}, "total": {"type": "number"}},
    } in schemas


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"id": FieldType.NUMBER}, "id"),
        ({"a": FieldType.STRING}, "id"),
        ({"a-b": FieldType.STRING}, "a-b"),
    ],
)
def test_bad_fields_raise_naming_the_route(stack: Stack, fields: Any, key: str) -> None:
    api = DirectApi(stack, "Api", cloud_watch_role=False)
    table = dynamodb.Table.from_table_name(stack, "T", "t")
    with pytest.raises(ValueError, match=r"Test/Api/Write: .*") as error:
        api.add_put_item("Write", path="items", table=table, key=key, fields=fields)
    assert repr(next(iter(fields))) in str(error.value) or repr(key) in str(error.value)


def test_out_of_range_integration_timeout_raises(stack: Stack) -> None:
    from aws_cdk import Duration

    with pytest.raises(ValueError, match=r"Test/Api: integration_timeout \(ms\) .* got 30000"):
        DirectApi(stack, "Api", integration_timeout=Duration.seconds(30))


# Response templates, rendered against answers recorded from the services' API references.


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        ({"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}, None, {"eventId": "e-1"}),
        (
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}],
            },
            502,
            {"message": templates.MESSAGES[502]},
        ),
        (
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "x"}],
            },
            429,
            {"message": templates.MESSAGES[429]},
        ),
    ],
)
def test_put_events_failed_entry_is_not_200(answer: Any, status: int | None, body: Any) -> None:
    rendered = render(templates.put_events_response(), Input(json.dumps(answer)))
    assert (rendered.status, json.loads(rendered.text)) == (status, body)


def test_get_item_without_item_is_404() -> None:
    rendered = render(templates.get_item_response(FIELDS), Input("{}"))
    assert (rendered.status, json.loads(rendered.text)) == (404, {"message": "Not found."})


@pytest.mark.parametrize(
    ("state", "status"), [("FAILED", 502), ("TIMED_OUT", 504), ("ABORTED", 502)]
)
def test_unsuccessful_sync_execution_is_not_200(state: str, status: int) -> None:
    answer = {"status": state, "error": "States.TaskFailed", "cause": "secret internals"}
    rendered = render(templates.start_sync_execution_response(), Input(json.dumps(answer)))
    assert rendered.status == status
    assert "secret" not in rendered.text


def test_succeeded_sync_execution_answers_the_output() -> None:
    answer = {"status": "SUCCEEDED", "output": json.dumps({"quote": {"n": 1}})}
    rendered = render(templates.start_sync_execution_response(), Input(json.dumps(answer)))
    assert (rendered.status, json.loads(rendered.text)) == (None, {"quote": {"n": 1}})


@pytest.mark.parametrize(
    ("error_type", "status"),
    [
        ("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", 409),
        ("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", 429),
        ("com.amazonaws.dynamodb.v20120810#ThrottlingException", 429),
        ("com.amazonaws.dynamodb.v20120810#ValidationException", None),
    ],
)
def test_service_errors_map_to_fixed_messages(error_type: str, status: int | None) -> None:
    answer = {"__type": error_type, "message": "internal detail arn:aws:dynamodb:table/x"}
    rendered = render(templates.service_error_response(500), Input(json.dumps(answer)))
    assert rendered.status == status
    assert "arn:" not in rendered.text
    assert json.loads(rendered.text)["message"] in templates.MESSAGES.values()


def test_send_message_answers_the_message_id() -> None:
    answer = {"SendMessageResponse": {"SendMessageResult": {"MessageId": "m-1"}}}
    rendered = render(templates.send_message_response(), Input(json.dumps(answer)))
    assert json.loads(rendered.text) == {"messageId": "m-1"}


def test_sqs_route_posts_a_form_asking_for_json(stack: Stack) -> None:
    api_with_routes(stack)
    methods = Template.from_stack(stack).find_resources("AWS::ApiGateway::Method")
    [params] = [
        m["Properties"]["Integration"]["RequestParameters"]
        for m in methods.values()
        if "Action=SendMessage" in str(m["Properties"]["Integration"]["RequestTemplates"])
    ]
    assert params == {
        "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        "integration.request.header.Accept": "'application/json'",
    }


def test_fifo_route_requires_the_group_field_and_sends_it() -> None:
    rendered = render(
        templates.send_message_request("customer"),
        Input(json.dumps({"customer": "a b&c=d", "x": 1})),
        request_id="req-9",
    )
    assert rendered.text == (
        "Action=SendMessage&MessageBody=%7B%22customer%22%3A+%22a+b%26c%3Dd%22%2C+%22x%22%3A+1%7D"
        "&MessageGroupId=a+b%26c%3Dd&MessageDeduplicationId=req-9"
    )


def test_get_item_route_is_get_on_the_key_parameter(stack: Stack) -> None:
    api_with_routes(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "{id}"})
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {"HttpMethod": "GET", "RequestParameters": {"method.request.path.id": True}},
    )


def test_a_route_id_is_used_once_and_paths_are_plain(stack: Stack) -> None:
    api = DirectApi(stack, "Api", cloud_watch_role=False)
    bus = events.EventBus(stack, "Bus")
    api.add_put_events("Put", path="events", event_bus=bus, source="s", detail_type="d")
    with pytest.raises(ValueError, match=r"Test/Api: route id 'Put' is already used"):
        api.add_put_events("Put", path="other", event_bus=bus, source="s", detail_type="d")
    with pytest.raises(ValueError, match=r"Test/Api/Bad: path .* got 'a b'"):
        api.add_put_events("Bad", path="a b", event_bus=bus, source="s", detail_type="d")


@given(text=st.text(alphabet=st.sampled_from(["'", '"', "\\", "\n", "x", "é"]), min_size=1))
def test_unescaped_detail_breaks_where_the_escaped_one_holds(text: str) -> None:
    """The property the replay tests rest on, and proof they can fail: the same template
    without escapeJavaScript gives a request that is not JSON, or not the body."""
    body = json.dumps({"text": text})
    escaped = templates.put_events_request("bus", "s", "d")
    naive = escaped.replace(templates.escaped("$input.json('$')"), "$input.json('$')")
    sent = json.loads(render(escaped, Input(body)).text)
    assert json.loads(sent["Entries"][0]["Detail"]) == {"text": text}
    try:
        naive_detail = json.loads(render(naive, Input(body)).text)["Entries"][0]["Detail"]
    except json.JSONDecodeError:
        return
    assert naive_detail != body


def test_fifo_model_requires_a_group_id_sqs_accepts(stack: Stack) -> None:
    api = DirectApi(stack, "Api", cloud_watch_role=False)
    queue = sqs.Queue(stack, "Queue", fifo=True)
    api.add_send_message("Send", path="queue", queue=queue, message_group_field="customer")
    [model] = Template.from_stack(stack).find_resources("AWS::ApiGateway::Model").values()
    [_, group] = model["Properties"]["Schema"]["allOf"]
    assert group == {
        "type": "object",
        "required": ["customer"],
        "properties": {"customer": {"type": "string", "pattern": "^[!-~]{1,128}$"}},
    }


@pytest.mark.parametrize(
    ("item", "answer"),
    [
        ({"id": {"S": 'a"b'}}, {"id": 'a"b'}),
        ({"total": {"N": "12.5"}}, {"total": 12.5}),
        (
            {"id": {"S": "x"}, "total": {"N": "-3"}, "other": {"S": "hidden"}},
            {"id": "x", "total": -3},
        ),
    ],
)
def test_get_item_answers_only_the_declared_fields_present(item: Any, answer: Any) -> None:
    rendered = render(templates.get_item_response(FIELDS), Input(json.dumps({"Item": item})))
    assert (rendered.status, json.loads(rendered.text)) == (None, answer)


def test_an_error_without_a_type_gets_the_routes_status_and_message() -> None:
    """An SQS query-protocol error (JSON, no ``__type``), or an empty body."""
    for answer in ('{"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}}', ""):
        rendered = render(templates.service_error_response(502), Input(answer))
        assert (rendered.status, json.loads(rendered.text)) == (
            None,
            {"message": templates.MESSAGES[502]},
        )


def test_keys_of_the_targets_are_granted_to_their_route_only(stack: Stack) -> None:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_stepfunctions as sfn

    api = DirectApi(stack, "Api", cloud_watch_role=False)
    queue_key, machine_key = kms.Key(stack, "QueueKey"), kms.Key(stack, "MachineKey")
    queue = sqs.Queue(stack, "Queue", encryption_master_key=queue_key)
    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "M", "arn:aws:states:eu-west-1:123456789012:stateMachine:m"
    )
    api.add_send_message("Send", path="queue", queue=queue)
    api.add_start_sync_execution(
        "Run", path="run", state_machine=machine, encryption_key=machine_key
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    grants: dict[str, list[Any]] = {}
    for policy in policies.values():
        [role] = policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            grants.setdefault(role["Ref"][:7], []).append(
                (
                    sorted(statement["Action"])
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]],
                    json.dumps(statement["Resource"]),
                )
            )
    assert sorted(grants) == ["ApiRunR", "ApiSend"]
    assert [a for a, _ in grants["ApiSend"]] == [
        ["sqs:SendMessage"],
        ["kms:Decrypt", "kms:GenerateDataKey"],
    ]
    assert "QueueKey" in grants["ApiSend"][1][1]
    assert [a for a, _ in grants["ApiRunR"]] == [
        ["states:StartSyncExecution"],
        ["kms:Decrypt", "kms:GenerateDataKey"],
    ]
    assert "MachineKey" in grants["ApiRunR"][1][1]


def test_alarms_watch_the_stages_error_rates_and_can_be_turned_off(stack: Stack) -> None:
    from serverless_patterns.constructs import DirectApiAlarms

    api = api_with_routes(stack)
    assert [a.node.id for a in api.alarms] == ["Api5xxRate", "Api4xxRate"]
    template = Template.from_stack(stack)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    metrics = sorted(
        (
            alarm["Properties"]["Threshold"],
            alarm["Properties"]["Metrics"][1]["MetricStat"]["Metric"]["MetricName"],
        )
        for alarm in alarms.values()
    )
    assert metrics == [(1, "5XXError"), (10, "4XXError")]
    quiet = DirectApi(
        Stack(), "Api", cloud_watch_role=False, alarms=DirectApiAlarms(api_4xx_rate_percent=None)
    )
    assert [a.node.id for a in quiet.alarms] == ["Api5xxRate"]
